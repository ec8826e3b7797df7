"""CNNRegressor: the conv body with the regressor target (sknnedu/cnn.py, sknnedu/_conv_body.py).

Its scikit-learn checks are in tests/test_common.py; CNNClassifier's numbers are pinned by
tests/test_conv_snapshot.py and tests/test_snapshots.py.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, CNNRegressor, gradient_check
from sknnedu.persistence import load_model, save_model

X_ALL, _ = load_digits(return_X_y=True)
X_ALL = X_ALL / 16
_INK = X_ALL.sum(axis=1)
#: each image's total ink, standardised: a simple image-regression target, linear in X
INK = (_INK - _INK.mean()) / _INK.std()
#: the ink of the top and of the bottom half, standardised: two outputs
HALVES = np.column_stack([X_ALL[:, :32].sum(axis=1), X_ALL[:, 32:].sum(axis=1)])
HALVES = (HALVES - HALVES.mean(axis=0)) / HALVES.std(axis=0)


def small(**kw) -> CNNRegressor:
    params = dict(conv_layers=((4, 3),), hidden_layer_sizes=(16,), pooling="avg",
                  learning_rate_init=0.01, max_iter=60, random_state=0)
    return CNNRegressor(**{**params, **kw})


def linear(**kw) -> CNNRegressor:
    """A CNN whose output is linear in X: identity conv, average pooling, no hidden layer."""
    return small(**{"conv_layers": ((4, 3, "identity"),), "hidden_layer_sizes": (),
                    "max_iter": 40, **kw})


def quiet_fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "batch_size=64 is larger")  # small data
        return est.fit(X, y, **kw)


def r2(y, p) -> np.ndarray:
    """R^2 of each output (the columns of y and p), from its definition."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    return 1 - ((y - p) ** 2).sum(axis=0) / ((y - y.mean(axis=0)) ** 2).sum(axis=0)


# ------------------------------------------------------------------------------------------
# it is a regressor that learns
# ------------------------------------------------------------------------------------------
def test_a_linear_cnn_fits_a_linear_target_of_unseen_images():
    # ink is a linear function of the pixels, which this network can represent exactly
    reg = quiet_fit(linear(), X_ALL[:300], INK[:300])
    assert reg.score(X_ALL[300:500], INK[300:500]) > 0.97


def test_learns_the_ink_of_unseen_digits_through_relu_layers():
    reg = quiet_fit(small(), X_ALL[:300], INK[:300])
    assert reg.loss_curve_[-1] < 0.2 * reg.loss_curve_[0]
    score = reg.score(X_ALL[300:500], INK[300:500])
    assert score > 0.8
    # score is R^2 of the predictions, computed here independently
    assert score == pytest.approx(r2(INK[300:500], reg.predict(X_ALL[300:500])))


def test_is_a_regressor_made_of_the_conv_body_and_the_regressor_target():
    reg = CNNRegressor()
    assert is_regressor(reg)
    tags = reg.__sklearn_tags__()
    assert tags.target_tags.multi_output and not tags.input_tags.sparse
    # the body's parameters and the target's, with the image defaults
    params = reg.get_params()
    assert params["loss"] == "squared_error" and params["huber_delta"] == 1.0
    assert params["conv_layers"] == ((32, 3), (32, 3)) and params["batch_size"] == 64
    assert "class_weight" not in params
    shared = set(CNNClassifier().get_params()) - {"class_weight"}
    assert shared <= set(params)


def test_one_output_predicts_1d_and_several_outputs_2d():
    reg = quiet_fit(linear(max_iter=2), X_ALL[:100], INK[:100])
    assert reg.predict(X_ALL[:5]).shape == (5,) and reg.n_outputs_ == 1
    multi = quiet_fit(linear(), X_ALL[:300], HALVES[:300])
    assert multi.n_outputs_ == 2 and multi.coefs_[-1].shape == (4 * 4 * 4, 2)
    P = multi.predict(X_ALL[300:500])
    assert P.shape == (200, 2)
    assert (r2(HALVES[300:500], P) > 0.95).all()  # each output is learned, not their sum


def test_float32_stays_float32():
    X32, y32 = X_ALL[:200].astype(np.float32), INK[:200].astype(np.float32)
    reg = quiet_fit(small(max_iter=3), X32, y32)
    for name in ("conv_kernels_", "conv_intercepts_", "coefs_", "intercepts_"):
        assert all(a.dtype == np.float32 for a in getattr(reg, name)), name
    assert reg.input_scale_.dtype == np.float32
    assert reg.predict(X32[:7]).dtype == np.float32
    assert quiet_fit(small(max_iter=3), X_ALL[:200], INK[:200]).predict(
        X_ALL[:7]).dtype == np.float64


def test_images_in_any_layout_give_the_same_model():
    rows = quiet_fit(small(max_iter=3), X_ALL[:100], INK[:100])
    images = quiet_fit(small(max_iter=3), X_ALL[:100].reshape(-1, 8, 8), INK[:100])
    np.testing.assert_array_equal(rows.predict(X_ALL[:9]),
                                  images.predict(X_ALL[:9].reshape(-1, 8, 8, 1)))


# ------------------------------------------------------------------------------------------
# the regressor's losses reach the network
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["squared_error", "huber", "poisson", "absolute_error"])
def test_each_loss_trains(loss):
    y = np.exp(INK / 2) if loss == "poisson" else INK  # poisson: y >= 0, log y linear
    reg = quiet_fit(linear(loss=loss), X_ALL[:300], y[:300])
    assert reg.out_activation_ == ("exp" if loss == "poisson" else "identity")
    assert reg.loss_curve_[-1] < 0.2 * reg.loss_curve_[0]
    assert reg.score(X_ALL[300:500], y[300:500]) > 0.9


def test_huber_delta_bounds_the_pull_of_an_outlier():
    y = INK[:200].copy()
    y[0] = 1e3  # one wild target
    sq = quiet_fit(linear(), X_ALL[:200], y)
    hub = quiet_fit(linear(loss="huber", huber_delta=1.0), X_ALL[:200], y)
    clean = slice(1, 200)
    err = {name: np.median(np.abs(est.predict(X_ALL[clean]) - INK[clean]))
           for name, est in (("squared", sq), ("huber", hub))}
    assert err["huber"] < err["squared"]


@pytest.mark.parametrize("loss", ["squared_error", "huber", "poisson"])
def test_gradient_check_on_a_tiny_cnn_regressor(loss):
    rng = np.random.default_rng(0)
    X = rng.random((6, 5, 5, 2))
    Y = rng.random((6, 2)) + 0.5  # two outputs, > 0 for poisson
    reg = CNNRegressor([(2, 3), (2, (2, 3))], (3,), activation="tanh", loss=loss,
                       pooling="avg", alpha=0.1, huber_delta=0.3, random_state=0)
    assert gradient_check(reg, X, Y) < 1e-6
    assert gradient_check(reg, X, Y, sample_weight=rng.random(6) + 0.1) < 1e-6


def test_gradient_check_of_a_fitted_model_at_its_weights():
    reg = quiet_fit(CNNRegressor(((2, 3, "tanh"),), (4,), activation="tanh", max_iter=2,
                                 random_state=0), X_ALL[:40], INK[:40])
    assert gradient_check(reg, X_ALL[:10], INK[:10]) < 1e-6


# ------------------------------------------------------------------------------------------
# saved, inspected, refused
# ------------------------------------------------------------------------------------------
def test_round_trips_through_skops_persistence(tmp_path):
    reg = quiet_fit(small(max_iter=5), X_ALL[:200], HALVES[:200])
    path = tmp_path / "reg.skops"
    save_model(reg, path, metadata={"target": "ink of each half"})
    back, meta = load_model(path, return_metadata=True)
    assert type(back) is CNNRegressor and meta["target"] == "ink of each half"
    np.testing.assert_array_equal(back.predict(X_ALL[:20]), reg.predict(X_ALL[:20]))
    assert back.get_params() == reg.get_params()


def test_source_of_the_classes_can_be_read():
    source = inspect.getsource(CNNRegressor)
    assert source.startswith("class CNNRegressor(_ConvBody, NNRegressor):")
    assert "class CNNClassifier(_ConvBody, NNClassifier):" in inspect.getsource(CNNClassifier)
    assert CNNRegressor.__module__ == "sknnedu.cnn"


def test_warm_start_refuses_another_output_activation():
    y = np.exp(INK[:50] / 2)
    reg = quiet_fit(small(max_iter=2, warm_start=True), X_ALL[:50], y)
    reg.set_params(loss="huber")  # the same identity output: goes on
    quiet_fit(reg, X_ALL[:50], y)
    reg.set_params(loss="poisson")  # an exp output: another network
    with pytest.raises(ValueError, match="architecture changed"):
        reg.fit(X_ALL[:50], y)


@pytest.mark.parametrize(("kw", "X", "y", "message"), [
    ({}, X_ALL[:10], INK[:9], "inconsistent numbers of samples"),
    ({}, X_ALL[:10], np.r_[INK[:9], np.nan], "y contains NaN"),
    ({}, np.zeros((10, 2, 2, 2, 1)), INK[:10], "X must be 2-D rows"),
    ({"loss": "hinge"}, X_ALL[:10], INK[:10], "loss must be one of"),
    ({"huber_delta": 0}, X_ALL[:10], INK[:10], "huber_delta must be a float > 0"),
    ({"loss": "poisson"}, X_ALL[:10], -INK[:10], "negative"),
    ({"pool_size": 0}, X_ALL[:10], INK[:10], "pool_size must be an int >= 1"),
    ({"conv_layers": ((2, 9),), "padding": "valid"}, X_ALL[:10], INK[:10],
     "The image runs out of pixels at conv layer 0"),
])
def test_bad_input_gets_a_clear_error(kw, X, y, message):
    with pytest.raises(ValueError, match=message):
        small(max_iter=1, **kw).fit(X, y)


def test_predict_names_the_image_size_it_needs():
    reg = quiet_fit(small(max_iter=1), X_ALL[:20], INK[:20])
    with pytest.raises(ValueError, match="X has 49 features, but CNNRegressor is expecting 64"):
        reg.predict(np.zeros((2, 49)))
    with pytest.raises(ValueError, match=r"X holds images of shape \(7, 7, 1\); the model "
                                         r"was fitted on \(8, 8, 1\)"):
        reg.predict(np.zeros((2, 7, 7)))
    with pytest.raises(ValueError, match="y has 2 output"):
        reg.set_params(warm_start=True).fit(X_ALL[:20], HALVES[:20])
