"""scikit-learn's estimator checks for every sknnedu estimator, in one place.

1. ``ESTIMATORS``: every configuration given to ``parametrize_with_checks``, grouped by
   module. None has an expected failure (no ``expected_failed_checks``), so one list
   serves; a configuration that needs some would go in a list of its own, with the reason
   for each check. The networks are small and few epochs, so that the checks take
   seconds; at their defaults they pass too, in far longer.
2. TextSequencer: scikit-learn runs its checks on numbers, so on a text transformer it
   runs only ``check_estimator_cloneable``; the second section runs the others on texts.
"""

import copy
import functools
import pickle

import numpy as np
import pytest
from sklearn import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from sknnedu import (
    CNNClassifier,
    CNNRegressor,
    NNClassifier,
    NNRegressor,
    RNNClassifier,
    RNNRegressor,
    SequenceCNNClassifier,
    SequenceCNNRegressor,
    TextSequencer,
    TransformerClassifier,
    TransformerRegressor,
)

# ---------------------------------------------------------------------------------------
# 1. parametrize_with_checks: every configuration, none with an expected failure
# ---------------------------------------------------------------------------------------

# sequence models: two convolutions of 8 filters, one encoder layer of width 8, at a
# learning rate of 0.01, so that the checks that need a fit to learn (a 2-D table read as
# univariate series: check_classifiers_train, check_regressors_train) pass with a margin
# in 20 to 40 epochs
CONV = dict(conv_layers=((8, 3), (8, 3)), learning_rate_init=0.01, max_iter=20)
# no dropout: check_sample_weight_equivalence compares a fit with integer weights to one
# with the rows repeated, and dropout draws another mask for each copy of a row
# (MLPClassifier has no dropout). Batch norm passes it: its statistics weigh each sample
# by its weight (sknnedu.nn.normalization.BatchNorm)
ATTENTION = dict(model_dim=8, n_heads=2, n_layers=1, feedforward_dim=16, dropout=0.0,
                 learning_rate_init=0.01, max_iter=20)

# the adapted checks of section 2 run on these too
TEXT_SEQUENCERS = [TextSequencer(), TextSequencer(analyzer="word", min_count=2, max_tokens=5)]

ESTIMATORS = [
    # --- neural_network: NNClassifier, NNRegressor
    NNClassifier(max_iter=100),
    NNClassifier(solver="sgd", max_iter=100),
    NNClassifier(solver="rmsprop", max_iter=100),
    NNClassifier([(16, "leakyrelu"), (8, "sigmoid")], learning_rate_init=0.01, max_iter=100),
    # lbfgs at its defaults (200 iterations): multilabel probabilities stay inside (0, 1)
    NNClassifier(solver="lbfgs"),
    NNRegressor(),
    NNRegressor(solver="lbfgs"),
    # unscaled y: a smaller step; He initialisation (the default, Glorot, is MLPRegressor's
    # and learns too slowly at this step for check_regressors_train's R^2 > 0.5)
    NNRegressor(solver="sgd", learning_rate_init=1e-4, init="he"),
    NNRegressor(loss="huber"),
    NNRegressor(hidden_layer_sizes=[(16, "leakyrelu"), (8, "tanh")]),
    # --- cnn: the conv body with each target. CNNRegressor: small networks and 50 epochs
    # (at its defaults it passes too, in about 20 s)
    CNNClassifier(),
    CNNClassifier(pooling="avg", solver="sgd"),
    CNNClassifier([(3, 3, "tanh"), (4, (2, 2), "leakyrelu")], [(5, "sigmoid")],
                  learning_rate_init=0.01),  # a narrow sigmoid layer learns slowly
    CNNRegressor(((4, 3),), (16,), max_iter=50),
    CNNRegressor([(3, 3, "tanh"), (4, (2, 2), "leakyrelu")], [(8, "tanh")], loss="huber",
                 pooling="avg", learning_rate_init=0.01, max_iter=50),
    CNNRegressor(((4, 3),), (16,), solver="lbfgs", max_iter=50),
    # --- rnn: 40 epochs; at the full defaults (up to 500 epochs on every one of the
    # checks' small fits) the same checks pass but take some 25 minutes on two cores.
    # The default cell is a bidirectional GRU; the LSTM one way covers the other cell
    # and the one-direction path
    RNNClassifier(max_iter=40),
    RNNClassifier(cell="lstm", bidirectional=False, max_iter=40),
    RNNClassifier(cell="rnn", readout="mean", max_iter=40),
    RNNRegressor(max_iter=40),
    # --- sequence_cnn: the regressor's convolutions are 5 wide: check_regressors_train's
    # target is one column (step 4 of 10) of the table, and a network that pools over time
    # tells step 4 from step 5 only by the padding at the ends, which two 3-wide layers do
    # not reach from there
    SequenceCNNClassifier(**CONV),
    SequenceCNNClassifier(**CONV, residual=2, readout="max"),
    SequenceCNNRegressor(**{**CONV, "conv_layers": ((8, 5), (8, 5)), "max_iter": 40}),
    # --- transformer
    TransformerClassifier(**ATTENTION),
    TransformerClassifier(**ATTENTION, readout="cls", positional="learned", norm_first=False),
    TransformerRegressor(**{**ATTENTION, "max_iter": 30}),
    # --- text: of these checks scikit-learn runs only check_estimator_cloneable on a
    # text transformer (input tag string, no two_d_array); section 2 runs the rest
    *TEXT_SEQUENCERS,
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------
# 2. TextSequencer: scikit-learn's checks for a transformer, on texts
# ---------------------------------------------------------------------------------------
# Each check scikit-learn would run on a 2-D numeric transformer is in one of three groups:
#
# - AS_IS: the check needs no data; it runs here as scikit-learn wrote it;
# - ON_TEXT: what the check asserts applies to texts, but its data are numbers: the same
#   assertion is made here on texts (one test each, registered with @on_text(check_name));
# - NOT_APPLICABLE: what the check asserts has no meaning for texts, with the reason.
#
# test_every_check_is_accounted_for fails when a scikit-learn release adds a check, until
# it is placed in one of the groups.

TEXTS = ["The cat sat on the mat.", "A dog! A cat?", "the the the", "",
         "dogs and cats", "Ümlaut wörds, too", "cat"]

AS_IS = [
    "check_do_not_raise_errors_in_init_or_set_params", "check_estimator_cloneable",
    "check_estimator_repr", "check_estimator_tags_renamed", "check_get_params_invariance",
    "check_mixin_order", "check_no_attributes_set_in_init",
    "check_parameters_default_constructible", "check_set_params", "check_valid_tag_types",
]

NOT_APPLICABLE = {
    "check_array_api_input": "array-API namespaces hold numbers; the input is text",
    "check_complex_data": "complex numbers are not text (any non-str is refused: "
                          "test_text.py::test_what_is_not_text_is_refused_clearly)",
    "check_estimators_dtypes": "float32/int64 inputs are numbers; the only input is str",
    "check_estimators_nan_inf": "NaN/inf are numbers; a missing text (None, NaN) is refused "
                                "with its own message (test_text.py)",
    "check_estimator_sparse_array": "sparse input is numeric",
    "check_estimator_sparse_matrix": "sparse input is numeric",
    "check_estimator_sparse_tag": "sparse input is numeric (the tag is False)",
    "check_f_contiguous_array_estimator": "memory layout of a 2-D numeric array",
    "check_fit1d": "asserts that 1-D input is refused, but a 1-D array of texts is the input",
    "check_fit2d_1feature": "a 2-D table has features; a text has none",
    "check_fit2d_predict1d": "asserts that predict refuses 1-D input; 1-D is the input",
    "check_n_features_in": "texts have no feature count (as CountVectorizer, no "
                           "n_features_in_)",
    "check_n_features_in_after_fitting": "texts have no feature count to compare",
    "check_positive_only_tag_during_fit": "the tag is about numbers",
    "check_transformer_n_iter": "fitting is one pass of counting, no iterations",
}


ON_TEXT = {}


def on_text(check_name):
    """Register a test as the text version of the scikit-learn check ``check_name``."""
    def register(test):
        ON_TEXT[check_name] = test.__name__
        return pytest.mark.parametrize("estimator", TEXT_SEQUENCERS, ids=repr)(test)
    return register


@pytest.mark.parametrize("check_name", AS_IS)
@pytest.mark.parametrize("estimator", TEXT_SEQUENCERS, ids=repr)
def test_data_free_checks(estimator, check_name):
    getattr(estimator_checks, check_name)(type(estimator).__name__, clone(estimator))


def _ids(out):
    return [x.tolist() for x in out]


@on_text("check_estimators_fit_returns_self")
def test_fit_returns_self(estimator):
    assert estimator.fit(TEXTS) is estimator


@on_text("check_fit_score_takes_y")
def test_fit_takes_and_ignores_y(estimator):
    a = clone(estimator).fit(TEXTS, np.arange(len(TEXTS)))
    assert a.vocabulary_ == clone(estimator).fit(TEXTS).vocabulary_


@on_text("check_estimators_unfitted")
def test_unfitted_raises_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        clone(estimator).transform(TEXTS)


@on_text("check_transformers_unfitted")
def test_unfitted_inverse_transform_raises_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        clone(estimator).inverse_transform([[2]])


@on_text("check_fit_check_is_fitted")
def test_check_is_fitted(estimator):
    from sklearn.utils.validation import check_is_fitted
    est = clone(estimator)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    check_is_fitted(est.fit(TEXTS))


@on_text("check_dict_unchanged")
def test_transform_changes_nothing(estimator):
    est = clone(estimator).fit(TEXTS)
    before = copy.deepcopy(est.__dict__)
    est.transform(TEXTS)
    est.inverse_transform(est.transform(TEXTS))
    assert est.__dict__ == before


@on_text("check_dont_overwrite_parameters")
def test_fit_adds_only_trailing_underscore_attributes(estimator):
    est = clone(estimator)
    before = set(vars(est))
    added = set(vars(est.fit(TEXTS))) - before
    assert added and all(a.endswith("_") and not a.startswith("_") for a in added), added


@on_text("check_estimators_overwrite_params")
def test_fit_leaves_the_parameters_alone(estimator):
    est = clone(estimator)
    params = copy.deepcopy(est.get_params())
    est.fit(TEXTS)
    assert est.get_params() == params


@on_text("check_estimators_pickle")
def test_pickle(estimator):
    est = clone(estimator).fit(TEXTS)
    back = pickle.loads(pickle.dumps(est))
    assert _ids(back.transform(TEXTS)) == _ids(est.transform(TEXTS))


@on_text("check_fit_idempotent")
def test_fit_is_idempotent(estimator):
    est = clone(estimator).fit(TEXTS)
    first = _ids(est.transform(TEXTS))
    est.fit(["bird bird, fish fish"]).fit(TEXTS)
    assert _ids(est.transform(TEXTS)) == first


@on_text("check_methods_sample_order_invariance")
def test_order_of_texts_changes_nothing(estimator):
    perm = np.random.RandomState(0).permutation(len(TEXTS))
    a = clone(estimator).fit(TEXTS)
    b = clone(estimator).fit([TEXTS[i] for i in perm])  # ties are alphabetical
    assert a.vocabulary_ == b.vocabulary_
    assert _ids(a.transform([TEXTS[i] for i in perm])) == [_ids(a.transform(TEXTS))[i]
                                                           for i in perm]


@on_text("check_methods_subset_invariance")
def test_each_text_is_transformed_alone(estimator):
    est = clone(estimator).fit(TEXTS)
    assert _ids(est.transform(TEXTS)) == [_ids(est.transform([t]))[0] for t in TEXTS]


@on_text("check_estimators_empty_data_messages")
def test_no_texts_is_a_clear_error(estimator):
    with pytest.raises(ValueError, match="0 texts"):
        clone(estimator).fit([])


@on_text("check_fit2d_1sample")
def test_one_text_is_enough(estimator):
    assert clone(estimator).fit(["cat cat dog"]).vocabulary_


@on_text("check_transformer_general")
def test_fit_transform_is_fit_then_transform(estimator):
    a = clone(estimator).fit_transform(TEXTS)
    assert _ids(a) == _ids(clone(estimator).fit(TEXTS).transform(TEXTS))


@on_text("check_pipeline_consistency")
def test_in_a_pipeline_as_alone(estimator):
    pipe = make_pipeline(clone(estimator)).fit(TEXTS)
    assert _ids(pipe.transform(TEXTS)) == _ids(clone(estimator).fit_transform(TEXTS))


@on_text("check_dtype_object")
def test_object_and_str_arrays(estimator):
    a = clone(estimator).fit(np.array(TEXTS, dtype=object))
    assert a.vocabulary_ == clone(estimator).fit(np.array(TEXTS)).vocabulary_


@on_text("check_transformer_data_not_an_array")
def test_lists_tuples_and_series(estimator):
    import pandas as pd
    ref = _ids(clone(estimator).fit_transform(TEXTS))
    for X in (tuple(TEXTS), pd.Series(TEXTS)):
        assert _ids(clone(estimator).fit_transform(X)) == ref


@on_text("check_readonly_memmap_input")
def test_read_only_input(estimator):
    X = np.array(TEXTS)
    X.setflags(write=False)
    assert _ids(clone(estimator).fit_transform(X)) == _ids(clone(estimator).fit_transform(TEXTS))


def _name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


class _TabularProbe(TextSequencer):
    """TextSequencer tagged as a 2-D numeric transformer, only to list the checks that
    scikit-learn would run on one (never fitted)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array, tags.input_tags.string = True, False
        return tags


def test_every_check_is_accounted_for():
    yielded = {_name(c) for _, c in estimator_checks_generator(_TabularProbe(), legacy=True)}
    groups = [set(AS_IS), set(ON_TEXT), set(NOT_APPLICABLE)]
    placed = set.union(*groups)
    assert len(placed) == sum(map(len, groups)), "a check is in two groups"
    missing = sorted(yielded - placed)
    assert not missing, f"place each in AS_IS, ON_TEXT or NOT_APPLICABLE: {missing}"
    # and what scikit-learn itself runs on a text transformer (test_sklearn_compatible's
    # TextSequencer cases) is data-free, so in AS_IS
    ran = {_name(c) for _, c in estimator_checks_generator(TextSequencer(), legacy=True)}
    assert ran <= set(AS_IS)
