"""NNRegressor: step for step with MLPRegressor, robust losses, gradients, errors.

The independent references are scikit-learn's MLPRegressor (same seed, ``init='glorot'``:
the same computation), ``sklearn.metrics.r2_score``, centred finite differences, and
closed-form optima of the losses on data with outliers.
"""

import inspect
import warnings

import numpy as np
import pytest
from quiet_fits import quiet
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.utils.validation import check_is_fitted

from sknnedu import NNRegressor, gradient_check
from sknnedu.nn.losses import OUTPUT_LOSSES, OutputLoss, huber

RNG = np.random.RandomState(0)
X = RNG.uniform(-1, 1, (150, 5))
Y_SQ = np.sin(X @ RNG.randn(5)) + 0.1 * RNG.randn(150)
Y_POISSON = RNG.poisson(np.exp(0.5 * X[:, 0] + 0.3 * X[:, 1])).astype(float)
Y_MULTI = np.c_[np.sin(X @ RNG.randn(5)), X[:, 0] * X[:, 1], X[:, 2]]
SW = RNG.uniform(0.2, 2, 150)
TARGET = {"squared_error": Y_SQ, "poisson": Y_POISSON}


def glorot_start(units, seed, factor=6.0):
    """MLPRegressor's initial weights, drawn here by hand: W[l], b[l] ~ U(-r, r) in turn."""
    rng = np.random.RandomState(seed)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        r = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-r, r, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-r, r, fan_out))
    return coefs + intercepts


def assert_same_weights(ours, ref, dtype, atol=None):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-10)
    tol["atol"] = atol or tol["atol"]
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, **tol)


# ------------------------------------------------------ step for step with MLPRegressor

SOLVERS = {
    "lbfgs": dict(solver="lbfgs", max_iter=20),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, learning_rate_init=0.05, max_iter=5),
    "sgd-momentum-invscaling": dict(solver="sgd", momentum=0.5, nesterovs_momentum=False,
                                    learning_rate="invscaling", learning_rate_init=0.5,
                                    max_iter=5),
    # tol=0.5 makes every epoch "no improvement", so the rate is divided by 5 again and
    # again until it falls below 1e-6 and training stops: the whole schedule is compared
    "sgd-adaptive": dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.05,
                         tol=0.5, n_iter_no_change=2, max_iter=40),
    "adam": dict(solver="adam", learning_rate_init=0.01, max_iter=5),
}


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha, weighted", [(1e-4, False), (0.3, True)])
def test_same_steps_as_mlpregressor(loss, solver, shuffle, dtype, alpha, weighted):
    params = dict(SOLVERS[solver], loss=loss, shuffle=shuffle, alpha=alpha, batch_size=40,
                  activation="tanh", hidden_layer_sizes=(7,), random_state=0)
    if solver == "lbfgs" and dtype == np.float32:
        # MLPRegressor's L-BFGS writes scipy's float64 vector back into coefs_, so after
        # the first evaluation it computes in float64; ours stays in float32 (as the
        # stochastic solvers): the same path, apart by float32 round-off (measured up to
        # 1.3e-6 in the weights after 5 iterations), for a few steps
        params["max_iter"] = 5
        atol = 1e-5
    else:
        atol = None
    Xd, yd = X.astype(dtype), TARGET[loss].astype(dtype)
    sw = SW if weighted else None
    ours = quiet(NNRegressor(init="glorot", **params), "fit", Xd, yd, sample_weight=sw)
    ref = quiet(MLPRegressor(**params), "fit", Xd, yd, sample_weight=sw)

    assert ours.n_iter_ == ref.n_iter_
    assert_same_weights(ours, ref, dtype, atol)
    # the test could fail: training moved the weights far beyond the tolerance
    moved = max(np.abs(w - w0).max() for w, w0 in
                zip(ours.coefs_ + ours.intercepts_, glorot_start([5, 7, 1], 0)))
    assert moved > 1e-2
    rtol = 1e-5 if dtype == np.float32 else 1e-9
    assert ours.loss_ == pytest.approx(ref.loss_, rel=rtol)
    if hasattr(ref, "loss_curve_"):  # MLPRegressor keeps no curve for lbfgs
        np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=rtol)
    np.testing.assert_allclose(ours.predict(Xd), ref.predict(Xd), rtol=rtol, atol=1e-6)
    assert ours.coefs_[0].dtype == dtype and ours.predict(Xd).dtype == dtype


def test_glorot_start_is_mlpregressors_start():
    # the hand-drawn start used above is right: one sgd step of size ~0 leaves it
    est = NNRegressor(hidden_layer_sizes=(7,), activation="tanh", init="glorot",
                      solver="sgd", max_iter=1, learning_rate_init=1e-12, random_state=0)
    ours = quiet(est, "fit", X, Y_SQ)
    for a, b in zip(ours.coefs_ + ours.intercepts_, glorot_start([5, 7, 1], 0)):
        np.testing.assert_allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_multi_output_same_steps_as_mlpregressor(loss, solver):
    # MLPRegressor reports the squared error averaged over the outputs but steps with the
    # gradient of their sum; ours reports the sum. So the weights agree step for step,
    # and with alpha=0 our squared-error loss is n_outputs times theirs (Poisson: both sum)
    Y = Y_MULTI if loss == "squared_error" else np.exp(Y_MULTI)
    params = dict(loss=loss, solver=solver, hidden_layer_sizes=(7,), activation="tanh",
                  alpha=0.0, learning_rate_init=0.01, max_iter=8, random_state=0)
    ours = quiet(NNRegressor(init="glorot", **params), "fit", X, Y)
    ref = quiet(MLPRegressor(**params), "fit", X, Y)
    assert_same_weights(ours, ref, np.float64)
    factor = Y.shape[1] if loss == "squared_error" else 1
    np.testing.assert_allclose(ours.loss_curve_, factor * np.array(ref.loss_curve_),
                               rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-9)


def test_multi_output_lbfgs():
    # L-BFGS sees the loss and its gradient together. For Poisson both are sums over the
    # outputs in MLPRegressor too, and the runs agree. For the squared error MLPRegressor
    # hands L-BFGS the *mean* over outputs with the gradient of the *sum*, which do not
    # belong together, so its line search takes other steps and the runs drift apart
    # (about 0.02 in the weights after 20 iterations here): ours is only checked to be
    # a consistent, decreasing optimisation of its own loss.
    params = dict(solver="lbfgs", hidden_layer_sizes=(7,), activation="tanh", max_iter=30,
                  random_state=0)
    ours = quiet(NNRegressor(init="glorot", loss="poisson", **params), "fit", X,
                 np.exp(Y_MULTI))
    ref = quiet(MLPRegressor(loss="poisson", **params), "fit", X, np.exp(Y_MULTI))
    assert_same_weights(ours, ref, np.float64)

    sq = quiet(NNRegressor(init="glorot", **params), "fit", X, Y_MULTI)
    assert np.all(np.diff(sq.loss_curve_) <= 1e-12)
    assert gradient_check(sq, X, Y_MULTI) < 1e-6
    ref = quiet(MLPRegressor(**params), "fit", X, Y_MULTI)
    assert sq.score(X, Y_MULTI) == pytest.approx(ref.score(X, Y_MULTI), abs=0.05)


def test_partial_fit_same_steps_as_mlpregressor():
    params = dict(hidden_layer_sizes=(7,), activation="tanh", solver="sgd",
                  learning_rate_init=0.05, random_state=0)
    ours, ref = NNRegressor(init="glorot", **params), MLPRegressor(**params)
    for chunk in np.array_split(np.arange(150), 3):
        ours.partial_fit(X[chunk], Y_SQ[chunk])
        ref.partial_fit(X[chunk], Y_SQ[chunk])
        assert_same_weights(ours, ref, np.float64)
    assert ours.loss_curve_ == pytest.approx(ref.loss_curve_, rel=1e-9)
    assert ours.t_ == ref.t_ == 150
    assert not hasattr(NNRegressor(solver="lbfgs"), "partial_fit")


def test_early_stopping_same_as_mlpregressor_and_scores_are_r2():
    params = dict(hidden_layer_sizes=(10,), activation="tanh", solver="sgd",
                  learning_rate_init=0.05, early_stopping=True, n_iter_no_change=3,
                  max_iter=100, random_state=0)
    ours = quiet(NNRegressor(init="glorot", **params), "fit", X, Y_SQ)
    ref = quiet(MLPRegressor(**params), "fit", X, Y_SQ)
    assert ours.n_iter_ == ref.n_iter_ < 100
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, rtol=1e-9)
    assert_same_weights(ours, ref, np.float64)

    # the split, rebuilt by hand: the same random stream draws the initial weights
    # (two uniforms per layer) and then the held-out 10% (train_test_split)
    rng = np.random.RandomState(0)
    for fan_in, fan_out in [(5, 10), (10, 1)]:
        rng.uniform(size=(fan_in, fan_out)), rng.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, Y_SQ, test_size=0.1, random_state=rng)
    assert len(y_val) == 15
    # the best epoch's weights are kept, so its score is the R^2 of the final model
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    assert ours.best_validation_score_ == pytest.approx(
        r2_score(y_val, ours.predict(X_val)), rel=1e-12)
    assert all(s <= 1 for s in ours.validation_scores_)
    assert ours.validation_scores_[-1] < ours.best_validation_score_
    assert len(ours.validation_loss_curve_) == len(ours.validation_scores_)


# --------------------------------------------------------------- the same public surface


def test_every_mlpregressor_parameter_with_its_default():
    ours, ref = NNRegressor().get_params(), MLPRegressor().get_params()
    assert set(ref) <= set(ours)
    assert {k: ours[k] for k in ref} == ref
    assert set(ours) - set(ref) == {"batch_norm", "dropout", "huber_delta", "init",
                                    "negative_slope", "rho"}
    # positional parameters in the same order, the rest keyword-only as there
    sig_ours = list(inspect.signature(NNRegressor).parameters.values())
    sig_ref = list(inspect.signature(MLPRegressor).parameters.values())
    for a, b in zip(sig_ours, sig_ref):
        assert (a.name, a.kind) == (b.name, b.kind)


def test_every_mlpregressor_method():
    public = {m for m in dir(MLPRegressor()) if not m.startswith("_")}
    assert public <= set(dir(NNRegressor()))
    for name in public - {"partial_fit"}:
        assert hasattr(NNRegressor(solver="lbfgs"), name), name
    # partial_fit exists only for the stochastic solvers, as for MLPClassifier. (In
    # scikit-learn 1.9 MLPRegressor shows it for lbfgs too: its availability test is
    # ``est._check_solver``, a method that is never called, so always true.)
    assert not hasattr(NNRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(NNRegressor(solver="lbfgs").set_params(solver="sgd"), "partial_fit")


@pytest.mark.parametrize("params", [dict(solver="adam"), dict(solver="lbfgs"),
                                    dict(solver="sgd", early_stopping=True)])
def test_every_mlpregressor_fitted_attribute(params):
    params = dict(params, hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    ours = quiet(NNRegressor(**params), "fit", X, Y_SQ)
    ref = quiet(MLPRegressor(**params), "fit", X, Y_SQ)

    def fitted(est):
        return {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}

    assert fitted(ref) <= fitted(ours)
    for name in fitted(ref):
        a, b = getattr(ours, name), getattr(ref, name)
        assert type(a) is type(b) or np.isscalar(a) == np.isscalar(b), name
    assert ours.out_activation_ == ref.out_activation_ == "identity"
    assert ours.n_layers_ == ref.n_layers_ and ours.n_outputs_ == ref.n_outputs_
    poisson = NNRegressor(loss="poisson", max_iter=2, hidden_layer_sizes=(3,))
    assert quiet(poisson, "fit", X, Y_POISSON).out_activation_ == "exp"


# ------------------------------------------------------------- robust losses and outliers

X_SIN = np.linspace(-3, 3, 300)[:, None]
CLEAN = np.sin(X_SIN[:, 0])
Y_OUTLIERS = CLEAN.copy()
Y_OUTLIERS[::10] += 50.0  # one target in ten shifted up by 50
INLIERS = np.ones(300, bool)
INLIERS[::10] = False


@pytest.fixture(scope="module")
def outlier_fits():
    fits = {}
    for loss in ["squared_error", "absolute_error", "huber"]:
        est = NNRegressor(loss=loss, hidden_layer_sizes=(32,), activation="tanh",
                          solver="lbfgs", max_iter=300, random_state=0)
        fits[loss] = quiet(est, "fit", X_SIN, Y_OUTLIERS).predict(X_SIN)
    return fits


def test_squared_error_is_dragged_by_outliers(outlier_fits):
    # its optimum is the conditional mean: the clean curve plus 50 / 10 = 5
    # (measured: RMSE to sin(x) 5.09, mean shift on the inliers 4.95)
    p = outlier_fits["squared_error"]
    assert np.sqrt(np.mean((p - CLEAN) ** 2)) > 2
    assert np.mean(p[INLIERS] - CLEAN[INLIERS]) == pytest.approx(5.0, abs=0.5)


def test_absolute_error_ignores_outliers(outlier_fits):
    # the median of 9 clean targets and 1 outlier is the clean one (measured RMSE 0.0012)
    p = outlier_fits["absolute_error"]
    assert np.sqrt(np.mean((p - CLEAN) ** 2)) < 0.05


def test_huber_pulls_outliers_with_a_bounded_force(outlier_fits):
    # at the optimum the 270 inliers (residual r < delta, gradient r) balance the 30
    # outliers (gradient clipped to delta = 1): 270 r = 30, r = 1/9 (measured 0.1111,
    # RMSE 0.112); squared error would be pulled by 49 each, to 5
    p = outlier_fits["huber"]
    assert np.sqrt(np.mean((p - CLEAN) ** 2)) < 0.3
    assert np.mean(p[INLIERS] - CLEAN[INLIERS]) == pytest.approx(1 / 9, abs=0.01)


def test_huber_delta_sets_the_pull():
    # with delta = 0.5 the balance is 270 r = 30 * 0.5: r = 1/18
    est = NNRegressor(loss="huber", huber_delta=0.5, hidden_layer_sizes=(32,),
                      activation="tanh", solver="lbfgs", max_iter=300, random_state=0)
    p = quiet(est, "fit", X_SIN, Y_OUTLIERS).predict(X_SIN)
    assert np.mean(p[INLIERS] - CLEAN[INLIERS]) == pytest.approx(1 / 18, abs=0.01)


# --------------------------------------------------------------------- gradient checking

GC_X = RNG.randn(30, 4)
# targets 1 to 3 away from 0 with either sign: a fresh network predicts near 0, so the
# residuals stay away from |r| = 0 (absolute error's kink) and lie on both sides of
# huber_delta = 2
GC_Y = RNG.uniform(1, 3, (30, 2)) * RNG.choice([-1, 1], (30, 2))
GC_Y_POISSON = np.abs(GC_Y) * (RNG.rand(30, 2) > 0.2)  # zeros included
GC_SW = RNG.uniform(0, 2, 30)


def start_prediction(est, y):
    """The network's output at the weights gradient_check uses (an unfitted model's start)."""
    probe = quiet(est.__class__(**dict(est.get_params(), solver="sgd", max_iter=1,
                                       learning_rate_init=1e-300)), "fit", GC_X, y)
    return probe.predict(GC_X)


@pytest.mark.parametrize("loss", ["squared_error", "poisson", "absolute_error", "huber"])
@pytest.mark.parametrize("act", ["relu", "leakyrelu", "tanh", "logistic", "sigmoid",
                                 "identity"])
@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("alpha, weighted", [(0.0, False), (0.5, True)])
def test_backprop_matches_finite_differences(loss, act, multi, alpha, weighted):
    y = GC_Y_POISSON if loss == "poisson" else GC_Y
    y = y if multi else y[:, 0]
    # Glorot init: non-zero biases keep ReLU pre-activations off their kink at 0
    est = NNRegressor(loss=loss, hidden_layer_sizes=[(5, act), (3, act)], alpha=alpha,
                      init="glorot", huber_delta=2.0, random_state=0)
    if loss in ("absolute_error", "huber"):
        r = np.abs(start_prediction(est, y) - y)
        assert r.min() > 1e-3
        if loss == "huber":
            assert (r < 2).sum() >= 5 and (r > 2).sum() >= 5
    err = gradient_check(est, GC_X, y, sample_weight=GC_SW if weighted else None)
    assert err < 1e-5


def test_gradient_check_of_a_fitted_float32_regressor():
    est = NNRegressor(hidden_layer_sizes=(6,), activation="tanh", loss="huber", max_iter=20,
                      random_state=0)
    quiet(est, "fit", GC_X.astype(np.float32), GC_Y.astype(np.float32))
    assert gradient_check(est, GC_X, GC_Y) < 1e-5
    assert est.coefs_[0].dtype == np.float32  # checked on a float64 copy


def test_gradient_check_catches_a_wrong_regression_gradient(monkeypatch):
    # Huber without its clip is the squared error's gradient: the check must notice
    est = NNRegressor(loss="huber", hidden_layer_sizes=(5,), activation="tanh",
                      init="glorot", huber_delta=0.5, random_state=0)
    assert gradient_check(est, GC_X, GC_Y) < 1e-5

    def unclipped_gradient(Y, P, out, delta=1.0):  # the squared error's
        return np.subtract(P, Y, out=out)

    unclipped = OutputLoss("identity", huber, unclipped_gradient)
    monkeypatch.setitem(OUTPUT_LOSSES, "huber", unclipped)
    assert gradient_check(est, GC_X, GC_Y) > 1e-2


# -------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop", "lbfgs"])
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_float32_stays_float32(solver, loss):
    est = NNRegressor(hidden_layer_sizes=(8,), loss=loss, solver=solver, max_iter=5,
                      random_state=0)
    quiet(est, "fit", X.astype(np.float32), Y_SQ.astype(np.float32))
    assert all(a.dtype == np.float32 for a in est.coefs_ + est.intercepts_)
    assert est.predict(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("solver", ["sgd", "adam", "rmsprop"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson", "absolute_error", "huber"])
def test_divergence_is_a_clear_error(solver, loss):
    y = Y_POISSON if loss == "poisson" else Y_SQ
    est = NNRegressor(hidden_layer_sizes=(10,), loss=loss, solver=solver,
                      learning_rate_init=1e6, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # overflow is reported, not warned
        with pytest.raises(ValueError, match="Lower learning_rate_init"):
            est.fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(est)


def test_poisson_refuses_negative_targets():
    y = Y_POISSON.copy()
    y[3] = -1.0
    # (MLPRegressor accepts them and reports a NaN loss)
    with pytest.raises(ValueError, match="y are negative.*Poisson"):
        NNRegressor(loss="poisson", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="y are negative.*Poisson"):
        NNRegressor(loss="poisson", solver="sgd").partial_fit(X, y)
    quiet(NNRegressor(loss="poisson", max_iter=2), "fit", X, np.zeros(150))  # 0 is allowed


@pytest.mark.parametrize("loss", ["foo", "log_loss", "binary_log_loss", None, "Huber"])
def test_unknown_loss_is_refused(loss):
    with pytest.raises(ValueError, match="loss must be one of.*squared_error.*huber"):
        NNRegressor(loss=loss).fit(X, Y_SQ)


@pytest.mark.parametrize("delta", [0, 0.0, -1.0, np.nan, np.inf, True, "1"])
def test_bad_huber_delta_is_refused(delta):
    with pytest.raises(ValueError, match="huber_delta must be a float > 0"):
        NNRegressor(loss="huber", huber_delta=delta).fit(X, Y_SQ)


@pytest.mark.parametrize("shape", [(150,), (150, 1), (150, 3)])
def test_output_shapes_as_mlpregressor(shape):
    y = Y_MULTI[:, : (shape[1] if len(shape) == 2 else 1)].reshape(shape)
    ours = quiet(NNRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0), "fit", X, y)
    ref = quiet(MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0), "fit", X, y)
    assert ours.predict(X).shape == ref.predict(X).shape
    assert ours.n_outputs_ == ref.n_outputs_
    with pytest.raises(ValueError, match="output"):  # warm start keeps the outputs
        ours.set_params(warm_start=True).fit(X, np.c_[Y_MULTI, Y_MULTI])


def test_multi_output_learns_each_output():
    est = NNRegressor(hidden_layer_sizes=(32,), activation="tanh", solver="lbfgs",
                      max_iter=100, random_state=0)
    quiet(est, "fit", X, Y_MULTI)
    P = est.predict(X)
    assert P.shape == (150, 3)
    r2 = r2_score(Y_MULTI, P, multioutput="raw_values")
    assert (r2 > 0.98).all()  # measured: 0.995 to 0.9998


def test_partial_fit_continues_and_checks_outputs():
    est = NNRegressor(hidden_layer_sizes=(8,), solver="adam", learning_rate_init=0.01,
                      random_state=0)
    losses = []
    for _ in range(30):
        est.partial_fit(X, Y_SQ)
        losses.append(est.loss_)
    assert est.n_iter_ == 1 and est.t_ == 30 * 150
    assert losses[-1] < 0.5 * losses[0]
    assert est.loss_curve_ == losses
    with pytest.raises(ValueError, match="output"):
        est.partial_fit(X, Y_MULTI)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("multi", [False, True])
def test_score_is_r2(weighted, multi):
    y = Y_MULTI if multi else Y_SQ
    sw = SW if weighted else None
    est = NNRegressor(hidden_layer_sizes=(8,), activation="tanh", max_iter=30, random_state=0)
    quiet(est, "fit", X, y)
    score = est.score(X, y, sample_weight=sw)
    assert score == pytest.approx(r2_score(y, est.predict(X), sample_weight=sw), rel=1e-12)
    assert score < 1


def test_sample_weight_is_repetition():
    # an integer weight is that many copies of the sample (full-batch lbfgs: exact)
    w = np.arange(150) % 3  # zeros included
    rep = np.repeat(np.arange(150), w)
    params = dict(hidden_layer_sizes=(6,), activation="tanh", solver="lbfgs", max_iter=30,
                  random_state=0, alpha=1e-3)
    weighted = quiet(NNRegressor(**params), "fit", X, Y_SQ, sample_weight=w)
    repeated = quiet(NNRegressor(**params), "fit", X[rep], Y_SQ[rep])
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_warm_start_refuses_a_change_of_output():
    # squared error's identity output cannot continue as poisson's exp output
    X = np.random.RandomState(0).rand(40, 3)
    y = X.sum(axis=1)
    reg = NNRegressor(hidden_layer_sizes=(4,), warm_start=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(X, y)
    reg.set_params(loss="poisson")
    with pytest.raises(ValueError, match="architecture"):
        reg.fit(X, y)
