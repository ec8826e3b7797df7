"""scikit-learn's estimator checks for CNNClassifier, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnedu import CNNClassifier

ESTIMATORS = [
    CNNClassifier(),
    CNNClassifier(pooling="avg", solver="sgd"),
    CNNClassifier([(3, 3, "tanh"), (4, (2, 2), "leakyrelu")], [(5, "sigmoid")],
                  learning_rate_init=0.01),  # a narrow sigmoid layer learns slowly
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
