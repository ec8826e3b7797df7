"""scikit-learn's estimator checks for the convolutional and attention sequence estimators,
with no expected failures.

Small networks (two convolutions of 8 filters; one encoder layer of width 8) at a
learning rate of 0.01, so that the checks that need a fit to learn (a 2-D table read
as univariate series: ``check_classifiers_train``, ``check_regressors_train``) pass with
a margin in 20 to 40 epochs, and the file runs in well under a minute on one core.

- The regressor's convolutions are 5 wide: ``check_regressors_train``'s target is one
  column (step 4 of 10) of the table, and a network that pools over time tells step 4
  from step 5 only by the padding at the ends, which two 3-wide layers do not reach
  from there.
- The Transformers run without dropout: ``check_sample_weight_equivalence`` compares a
  fit with integer weights to one with the rows repeated, and dropout draws another mask
  for each copy of a row (MLPClassifier has no dropout). Batch norm passes it because
  its statistics weigh each sample by its weight
  (:class:`~sknnedu.nn.normalization.BatchNorm`).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnedu import (
    SequenceCNNClassifier,
    SequenceCNNRegressor,
    TransformerClassifier,
    TransformerRegressor,
)

CONV = dict(conv_layers=((8, 3), (8, 3)), learning_rate_init=0.01, max_iter=20)
ATTENTION = dict(model_dim=8, n_heads=2, n_layers=1, feedforward_dim=16, dropout=0.0,
                 learning_rate_init=0.01, max_iter=20)


@parametrize_with_checks([
    SequenceCNNClassifier(**CONV),
    SequenceCNNClassifier(**CONV, residual=2, readout="max"),
    SequenceCNNRegressor(**{**CONV, "conv_layers": ((8, 5), (8, 5)), "max_iter": 40}),
    TransformerClassifier(**ATTENTION),
    TransformerClassifier(**ATTENTION, readout="cls", positional="learned", norm_first=False),
    TransformerRegressor(**{**ATTENTION, "max_iter": 30}),
])
def test_sklearn_compatible_sequence_models(estimator, check):
    check(estimator)
