"""Training state across calls (issue 11, items 5-9): class weights, switching early
stopping between warm starts, partial_fit with partial class weights, failed fits that
leave the estimator as it was, and early stopping that needs a validation set.

Every test of an item failed on the code before the training engine (commit 8dc8fab,
checked by running this file there) and passes now; where the code path is the engine's,
NNClassifier and NNRegressor are both checked. Two guards (good class weights accepted,
a refused call changes nothing) passed there too. Two tests are for bugs found while
writing this file (partial_fit after an early-stopping or lbfgs fit; the validation
accuracy of a binary target); they failed on commit 437d036.
"""

import copy
import warnings

import numpy as np
import pytest
from quiet_fits import quiet
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_is_fitted

from sknnedu import NNClassifier, NNRegressor

X_ALL, Y_ALL = load_digits(return_X_y=True)
X_ALL = X_ALL / 16
X, Y = X_ALL[:500], Y_ALL[:500]
TARGETS = {NNClassifier: Y, NNRegressor: Y / 9.0}  # the regressor learns the digit value
ESTIMATORS = [NNClassifier, NNRegressor]


def assert_same_state(a, b, path="vars"):
    """Deep equality of two estimator states: dicts, lists, arrays (dtype too), NaN == NaN."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same_state(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same_state(u, v, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


# ------------------------------------------- 5. class_weight values checked like sample_weight


@pytest.mark.parametrize("class_weight", [{0: -1.0, 1: 3.0}, {0: np.nan}, {0: np.inf},
                                          {1: 2.0, 0: -np.inf}, {0: "heavy"}])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_class_weight_values_are_refused(class_weight, method):
    est = NNClassifier(hidden_layer_sizes=(10,), max_iter=3, class_weight=class_weight,
                       random_state=0)
    kwargs = {"classes": np.arange(10)} if method == "partial_fit" else {}
    with pytest.raises(ValueError, match="class_weight must map classes to finite weights"):
        getattr(est, method)(X, Y, **kwargs)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("class_weight, sample_weight", [({0: 1e308}, None),
                                                          ({0: 1e300}, 1e10)])
def test_class_weights_whose_sum_overflows_are_refused(class_weight, sample_weight):
    # each weight is finite, their sum is not: said as such, not as a diverging run
    est = NNClassifier(hidden_layer_sizes=(10,), max_iter=3, class_weight=class_weight)
    sw = None if sample_weight is None else np.full(len(Y), sample_weight)
    with pytest.raises(ValueError, match="times class_weight sum to inf; rescale"):
        est.fit(X, Y, sample_weight=sw)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_good_class_weight_values_are_accepted():
    # zero is allowed (as a zero sample_weight), and numpy scalars are numbers
    est = NNClassifier(hidden_layer_sizes=(10,), max_iter=3, random_state=0,
                       class_weight={0: 0.0, 1: np.float32(2.0), 2: 3})
    quiet(est, "fit", X, Y)


# ----------------------------------------- 6. early_stopping switched between warm starts


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_switching_early_stopping_on_between_warm_starts(Est):
    y = TARGETS[Est]
    est = quiet(Est(hidden_layer_sizes=(16,), solver="adam", learning_rate_init=0.01, max_iter=15,
                    random_state=0), "fit", X, y)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    first_curve = list(est.loss_curve_)

    est.set_params(warm_start=True, early_stopping=True, n_iter_no_change=3, max_iter=30)
    quiet(est, "fit", X, y)
    assert isinstance(est.validation_scores_, list)
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_ >= 4
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None
    # it continued from the fitted weights: the curve grew, it did not restart
    assert est.loss_curve_[:15] == first_curve
    assert len(est.loss_curve_) == 15 + est.n_iter_
    assert est.loss_curve_[15] < first_curve[0]


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_switching_early_stopping_off_between_warm_starts(Est):
    y = TARGETS[Est]
    est = quiet(Est(hidden_layer_sizes=(16,), solver="adam", learning_rate_init=0.01, max_iter=15,
                    early_stopping=True, n_iter_no_change=50, random_state=0), "fit", X, y)
    assert len(est.validation_scores_) == 15
    n_before = len(est.loss_curve_)

    est.set_params(warm_start=True, early_stopping=False)
    quiet(est, "fit", X, y)
    assert est.validation_scores_ is None and est.validation_loss_curve_ is None
    assert est.best_validation_score_ is None
    assert est.best_loss_ == min(est.loss_curve_)
    assert len(est.loss_curve_) == n_before + est.n_iter_

    # and on again: a fresh list for this fit's epochs
    est.set_params(early_stopping=True, max_iter=5)
    quiet(est, "fit", X, y)
    assert len(est.validation_scores_) == 5


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("first", [dict(early_stopping=True), dict(solver="lbfgs")])
def test_partial_fit_after_a_fit_without_a_training_loss_record(Est, first):
    # early stopping and lbfgs keep no best training loss (best_loss_ is None), which
    # partial_fit's no-improvement count needs (MLPClassifier fails here with a TypeError)
    y = TARGETS[Est]
    est = quiet(Est(hidden_layer_sizes=(16,), max_iter=10, random_state=0, **first), "fit", X, y)
    assert est.best_loss_ is None
    est.set_params(early_stopping=False, solver="adam")
    n_before = len(est.loss_curve_)
    for _ in range(3):
        est.partial_fit(X, y, **({"classes": np.arange(10)} if Est is NNClassifier else {}))
    assert len(est.loss_curve_) == n_before + 3
    assert est.validation_scores_ is None
    assert est.best_loss_ == min(est.loss_curve_)


# ------------------------------------------------- 7. partial_fit with a partial class_weight


def test_partial_fit_with_a_partial_class_weight_dict():
    no_zeros = Y != 0
    est = NNClassifier(hidden_layer_sizes=(16,), class_weight={0: 5.0}, random_state=0)
    est.partial_fit(X[no_zeros], Y[no_zeros], classes=np.arange(10))  # no class 0 here
    est.partial_fit(X, Y)  # class 0 here
    assert est.t_ == no_zeros.sum() + len(Y)


def test_partial_class_weight_is_applied_as_sample_weight():
    # class 0 weighs 5, every other class 1 (the classes missing from the dict)
    chunks = [np.flatnonzero(Y != 0), np.arange(len(Y))]
    weighted = NNClassifier(hidden_layer_sizes=(16,), solver="sgd", class_weight={0: 5.0},
                            random_state=0)
    explicit = NNClassifier(hidden_layer_sizes=(16,), solver="sgd", random_state=0)
    plain = NNClassifier(hidden_layer_sizes=(16,), solver="sgd", random_state=0)
    for rows in chunks:
        weighted.partial_fit(X[rows], Y[rows], classes=np.arange(10))
        explicit.partial_fit(X[rows], Y[rows], classes=np.arange(10),
                             sample_weight=np.where(Y[rows] == 0, 5.0, 1.0))
        plain.partial_fit(X[rows], Y[rows], classes=np.arange(10))
    for a, b in zip(weighted.coefs_, explicit.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # ... and it made a difference: the weight was not silently dropped
    assert max(np.abs(a - c).max() for a, c in zip(weighted.coefs_, plain.coefs_)) > 1e-3


def test_class_weight_for_an_unknown_class_is_refused():
    est = NNClassifier(hidden_layer_sizes=(16,), class_weight={10: 5.0}, random_state=0)
    with pytest.raises(ValueError, match=r"class_weight has classes \[10\].*classes_"):
        est.partial_fit(X, Y, classes=np.arange(10))
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


# ------------------------------------------------- 8. a failed fit leaves the estimator as it was

DIVERGING = dict(solver="sgd", learning_rate_init=1e6)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_diverged_fit_leaves_an_unfitted_estimator(Est):
    est = Est(hidden_layer_sizes=(16,), random_state=0, **DIVERGING)
    params = copy.deepcopy(est.get_params())
    with pytest.raises(ValueError, match="Training diverged"):
        est.fit(X, TARGETS[Est])
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert_same_state(vars(est), params)  # nothing but the parameters
    with pytest.raises(NotFittedError):
        est.predict(X)


def _fitted(Est, **params):
    return quiet(Est(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, max_iter=5,
                     random_state=0, **params), "fit", X, TARGETS[Est])


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_diverged_warm_start_leaves_the_fitted_model(Est, early_stopping):
    est = _fitted(Est, early_stopping=early_stopping)
    before = copy.deepcopy(vars(est))
    est.set_params(warm_start=True, early_stopping=False, **DIVERGING)
    with pytest.raises(ValueError, match="Training diverged"):
        est.fit(X, TARGETS[Est])
    after = {k: v for k, v in vars(est).items() if k not in est.get_params()}
    assert_same_state(after, {k: v for k, v in before.items() if k not in est.get_params()})
    est.set_params(**{k: before[k] for k in est.get_params()})
    assert_same_state(vars(est), before)
    np.testing.assert_array_equal(est.predict(X), _fitted(Est, early_stopping=early_stopping)
                                  .predict(X))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_diverged_refit_leaves_the_previous_model(Est):
    est = _fitted(Est)
    before = copy.deepcopy(vars(est))
    est.set_params(**DIVERGING)  # a fresh fit (no warm start) that fails
    with pytest.raises(ValueError, match="Training diverged"):
        est.fit(X, TARGETS[Est])
    est.set_params(learning_rate_init=before["learning_rate_init"])
    assert_same_state(vars(est), before)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_diverged_partial_fit_leaves_the_fitted_model(Est):
    kw = {"classes": np.arange(10)} if Est is NNClassifier else {}
    est = Est(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, random_state=0)
    for _ in range(3):
        est.partial_fit(X, TARGETS[Est], **kw)
    before = copy.deepcopy(vars(est))
    # (partial_fit keeps the optimiser's learning rate, as MLPClassifier: an unscaled
    # chunk is what makes it diverge)
    with pytest.raises(ValueError, match="Training diverged"):
        est.partial_fit(X * 1e6, TARGETS[Est])
    assert_same_state(vars(est), before)
    # and training goes on from there exactly as if the failed call had not happened
    # (the optimiser's momentum included)
    twin = Est(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, random_state=0)
    for _ in range(4):
        twin.partial_fit(X, TARGETS[Est], **kw)
    est.partial_fit(X, TARGETS[Est])
    for a, b in zip(est.coefs_, twin.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("scale", [1e6, 1e200])  # a weight runs away; the loss overflows
def test_a_diverged_call_names_the_epoch_of_loss_curve(Est, scale):
    # epochs count as loss_curve_ does, across calls, whichever sign of divergence it is
    kw = {"classes": np.arange(10)} if Est is NNClassifier else {}
    est = Est(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05, random_state=0)
    for _ in range(3):
        est.partial_fit(X, TARGETS[Est], **kw)
    with pytest.raises(ValueError, match="Training diverged: .* at epoch 4 "):
        est.partial_fit(X * scale, TARGETS[Est])
    est = _fitted(Est)  # 5 epochs
    est.set_params(warm_start=True)
    with pytest.raises(ValueError, match="Training diverged: .* at epoch 6 "):
        quiet(est, "fit", X * scale, TARGETS[Est])


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_a_refused_call_changes_nothing(Est):
    # errors other than divergence (here: the wrong number of features) roll back too
    est = _fitted(Est)
    before = copy.deepcopy(vars(est))
    with pytest.raises(ValueError, match="features"):
        est.set_params(warm_start=True).fit(X[:, :10], TARGETS[Est])
    est.set_params(warm_start=False)
    assert_same_state(vars(est), before)


# -------------------------------------- 9. early stopping needs a validation set, said up front


@pytest.mark.parametrize("Est", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_early_stopping_without_validation_data_is_refused(Est, solver):
    est = Est(hidden_layer_sizes=(16,), solver=solver, early_stopping=True, validation_fraction=0.0)
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 1\) with "
                                         r"early_stopping=True.*got 0\.0"):
        est.fit(X, TARGETS[Est])
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    # without early stopping, a validation_fraction of 0 is fine
    quiet(est.set_params(early_stopping=False, max_iter=2), "fit", X, TARGETS[Est])


# ----------------------------------------- early stopping on a binary target (found here)


def test_binary_early_stopping_scores_the_held_out_accuracy():
    # a binary network has one output column; its validation accuracy once decoded it
    # with argmax, which always chose classes_[0]: every score was the share of class 0
    y = (Y_ALL % 2).astype(int)
    params = dict(hidden_layer_sizes=(10,), solver="sgd", learning_rate_init=0.01,
                  early_stopping=True, n_iter_no_change=3, max_iter=60, random_state=0)
    ours = quiet(NNClassifier(init="glorot", **params), "fit", X_ALL, y)
    ref = quiet(MLPClassifier(**params), "fit", X_ALL, y)
    assert len(set(ours.validation_scores_)) > 3
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    # the split rebuilt by hand: initial weights first, then a split stratified on y
    rng = np.random.RandomState(0)
    for fan_in, fan_out in [(64, 10), (10, 1)]:
        rng.uniform(size=(fan_in, fan_out)), rng.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X_ALL, y, test_size=0.1, random_state=rng,
                                          stratify=y[:, None])
    assert ours.best_validation_score_ == accuracy_score(y_val, ours.predict(X_val))


def test_early_stopping_divergence_keeps_the_curves_in_step():
    # a run that diverges mid-epoch keeps its best epoch; every curve has one entry an epoch
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    reg = NNRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd",
                      learning_rate_init=1, max_iter=20, early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, y)
    assert len(reg.loss_curve_) == len(reg.validation_scores_) == len(reg.validation_loss_curve_)
    assert np.isnan(reg.validation_scores_[-1])
    assert np.isfinite(reg.predict(X)).all()
