"""scikit-learn's estimator checks for the recurrent estimators, with no expected failures.

The four configurations of the recurrent-networks issue, with ``max_iter=40`` so that the
suite stays within its time: at the full defaults (up to 500 epochs on every one of the
checks' small fits) the same checks pass but take some 25 minutes on two cores.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnedu import RNNClassifier, RNNRegressor


@parametrize_with_checks([
    RNNClassifier(max_iter=40),
    RNNClassifier(cell="gru", bidirectional=True, max_iter=40),
    RNNClassifier(cell="rnn", readout="mean", max_iter=40),
    RNNRegressor(max_iter=40),
])
def test_sklearn_compatible_rnn(estimator, check):
    check(estimator)
