"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnedu import CNNRegressor, NNClassifier, NNRegressor

ESTIMATORS = [
    NNClassifier(max_iter=100),
    NNClassifier(solver="sgd", max_iter=100),
    NNClassifier(solver="rmsprop", max_iter=100),
    NNClassifier(solver="lbfgs", max_iter=100),
    NNClassifier([(16, "leakyrelu"), (8, "sigmoid")], learning_rate_init=0.01, max_iter=100),
    NNClassifier(solver="lbfgs"),  # at its defaults: multilabel probabilities inside (0, 1)
    NNRegressor(),
    NNRegressor(solver="lbfgs"),
    # unscaled y: a smaller step; He initialisation (the default, Glorot, is MLPRegressor's
    # and learns too slowly at this step for check_regressors_train's R^2 > 0.5)
    NNRegressor(solver="sgd", learning_rate_init=1e-4, init="he"),
    NNRegressor(loss="huber"),
    NNRegressor(hidden_layer_sizes=[(16, "leakyrelu"), (8, "tanh")]),
    # the conv body with the regressor target (CNNClassifier's are in test_common_cnn.py);
    # small networks and 50 epochs, so that the checks take seconds (at its defaults
    # CNNRegressor passes them too, in about 20 s)
    CNNRegressor(((4, 3),), (16,), max_iter=50),
    CNNRegressor([(3, 3, "tanh"), (4, (2, 2), "leakyrelu")], [(8, "tanh")], loss="huber",
                 pooling="avg", learning_rate_init=0.01, max_iter=50),
    CNNRegressor(((4, 3),), (16,), solver="lbfgs", max_iter=50),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
