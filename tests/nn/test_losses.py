"""sknnedu.nn.losses: each loss against its formula (plain loops over samples and outputs,
and scikit-learn's metrics where one exists), and dJ/dz[L] against centred finite
differences through the output activation."""

import math

import numpy as np
import pytest
from sklearn import metrics

from sknnedu.nn.activations import ACTIVATIONS
from sknnedu.nn.losses import OUTPUT_LOSSES, output_loss

LOSSES = sorted(OUTPUT_LOSSES)
DELTA = 0.7  # Huber's threshold, within the spread of the residuals below


def _case(name, m=7, k=3, seed=0):
    """Pre-activations Z (m, k), targets Y and sample weights for the loss ``name``.

    Targets are kept away from the kinks: residuals of |r| > 0.05 for the absolute error,
    and |r| not within 0.05 of Huber's delta.
    """
    rng = np.random.RandomState(seed)
    Z = rng.randn(m, k)
    P = _output(name, Z)
    if name == "log_loss":
        Y = np.eye(k)[rng.randint(0, k, m)]
    elif name == "binary_log_loss":
        Y = (rng.rand(m, k) < 0.5).astype(float)
    elif name == "poisson":
        Y = rng.poisson(1.5, (m, k)).astype(float)  # zeros included
    else:
        r = rng.choice([-1, 1], (m, k)) * rng.uniform(0.1, 1.5, (m, k))
        r[np.abs(np.abs(r) - DELTA) < 0.05] += 0.1
        Y = P - r
    return Z, Y, rng.uniform(0.2, 3.0, m)


def _output(name, Z):
    """a[L] = g[L](z[L]) with the loss's own output activation."""
    return ACTIVATIONS[OUTPUT_LOSSES[name].activation](Z.copy())


def _loop_loss(name, Y, P, w):
    """J by its formula: a double loop over samples i and outputs k, then a weighted mean."""
    m, k = Y.shape
    per_sample = []
    for i in range(m):
        total = 0.0
        for j in range(k):
            y, p = float(Y[i, j]), float(P[i, j])
            r = p - y
            if name == "log_loss":
                total += -y * math.log(p)
            elif name == "binary_log_loss":
                total += -(y * math.log(p) + (1 - y) * math.log(1 - p))
            elif name == "squared_error":
                total += r * r / 2
            elif name == "poisson":
                total += (y * math.log(y / p) if y > 0 else 0.0) - y + p
            elif name == "absolute_error":
                total += abs(r)
            else:  # huber
                total += r * r / 2 if abs(r) <= DELTA else DELTA * (abs(r) - DELTA / 2)
        per_sample.append(total)
    w = np.ones(m) if w is None else w
    return sum(wi * J for wi, J in zip(w, per_sample)) / sum(w)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", LOSSES)
def test_each_loss_is_its_formula(name, weighted):
    Z, Y, w = _case(name)
    P = _output(name, Z)
    w = w if weighted else None
    got = output_loss(name, huber_delta=DELTA)(Y, P, w)
    assert isinstance(got, float)
    assert got == pytest.approx(_loop_loss(name, Y, P, w), rel=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_each_output_activation_is_the_documented_one(name):
    documented = {"log_loss": "softmax", "binary_log_loss": "logistic",
                  "squared_error": "identity", "poisson": "exp",
                  "absolute_error": "identity", "huber": "identity"}
    assert OUTPUT_LOSSES[name].activation == documented[name]


def test_one_output_losses_agree_with_scikit_learns_metrics():
    """An independent implementation: sklearn.metrics, for one output (its convention)."""
    rng = np.random.RandomState(1)
    w = rng.uniform(0.2, 3.0, 40)
    y = rng.poisson(2.0, 40).astype(float)
    p = rng.uniform(0.5, 4.0, 40)
    Y, P = y[:, None], p[:, None]
    assert OUTPUT_LOSSES["squared_error"](Y, P, w) == pytest.approx(
        metrics.mean_squared_error(y, p, sample_weight=w) / 2, rel=1e-12)
    assert OUTPUT_LOSSES["absolute_error"](Y, P, w) == pytest.approx(
        metrics.mean_absolute_error(y, p, sample_weight=w), rel=1e-12)
    assert OUTPUT_LOSSES["poisson"](Y, P, w) == pytest.approx(
        metrics.mean_poisson_deviance(y, p, sample_weight=w) / 2, rel=1e-12)
    labels = rng.randint(0, 3, 40)
    proba = ACTIVATIONS["softmax"](rng.randn(40, 3))
    assert OUTPUT_LOSSES["log_loss"](np.eye(3)[labels], proba, w) == pytest.approx(
        metrics.log_loss(labels, proba, sample_weight=w, labels=[0, 1, 2]), rel=1e-12)
    q = rng.uniform(0.05, 0.95, 40)
    b = (rng.rand(40) < 0.5).astype(float)
    assert OUTPUT_LOSSES["binary_log_loss"](b[:, None], q[:, None], w) == pytest.approx(
        metrics.log_loss(b, q, sample_weight=w), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", LOSSES)
def test_the_output_error_is_the_gradient_of_the_loss(name, weighted):
    """dJ/dz[L] = w_i g_i / sum(w), g the per-sample gradient, against centred differences
    of J(g[L](z)) at every entry of z (float64, relative error < 1e-6)."""
    loss = output_loss(name, huber_delta=DELTA)
    Z, Y, w = _case(name, seed=2)
    w = w if weighted else np.ones(len(Z))
    g = loss.gradient(Y, _output(name, Z), np.empty_like(Z))
    analytic = w[:, None] * g / w.sum()
    numeric, h = np.zeros_like(Z), 1e-6
    for idx in np.ndindex(Z.shape):
        zp, zm = Z.copy(), Z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric[idx] = (loss(Y, _output(name, zp), w)
                        - loss(Y, _output(name, zm), w)) / (2 * h)
    error = np.linalg.norm(analytic - numeric) / np.linalg.norm(analytic + numeric)
    assert error < 1e-6, error


def test_the_gradient_writes_into_out_and_keeps_its_dtype():
    Y = np.array([[0.0, 3.0], [1.0, -2.0]], dtype=np.float32)
    P = np.array([[0.5, 1.0], [1.0, 0.0]], dtype=np.float32)
    for name in ("squared_error", "absolute_error", "huber"):
        out = np.full_like(P, np.nan)
        got = output_loss(name, huber_delta=1.5).gradient(Y, P, out)
        assert got is out and got.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.5, -1.5], [0.0, 1.5]])  # Huber: clip(r, -d, d)
    np.testing.assert_array_equal(
        OUTPUT_LOSSES["absolute_error"].gradient(Y, P, np.empty_like(P)),
        [[1, -1], [0, 1]])  # sign(r), 0 at a perfect fit


def test_huber_is_quadratic_within_delta_and_linear_beyond():
    r = np.array([[-3.0], [-0.5], [0.0], [0.25], [2.0]])
    got = [OUTPUT_LOSSES["huber"](np.zeros((1, 1)), ri[None]) for ri in r]
    np.testing.assert_allclose(got, [2.5, 0.125, 0.0, 0.03125, 1.5], rtol=1e-15)
    # the default delta is 1; the squared error agrees within it
    assert OUTPUT_LOSSES["huber"](np.zeros((1, 1)), r[1:2]) == OUTPUT_LOSSES["squared_error"](
        np.zeros((1, 1)), r[1:2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["log_loss", "binary_log_loss"])
def test_probabilities_of_exactly_0_and_1_give_a_finite_loss(name, dtype):
    """p is clipped to [eps, 1 - eps] of its dtype: -log(eps) for a certain wrong answer."""
    P = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    Y = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    eps = float(np.finfo(dtype).eps)
    got = OUTPUT_LOSSES[name](Y, P)
    assert np.isfinite(got)
    # row 0 is wrong with certainty, row 1 right (binary: in both of its outputs)
    wrong_row = -math.log(eps) * (1 if name == "log_loss" else 2)
    right_row = 0.0 if name == "log_loss" else -2 * math.log1p(-eps)
    assert got == pytest.approx((wrong_row + right_row) / 2, rel=1e-6)


def test_a_zero_weight_removes_a_sample():
    Z, Y, w = _case("squared_error", m=6, seed=3)
    P = _output("squared_error", Z)
    w[2] = 0.0
    keep = np.arange(6) != 2
    loss = OUTPUT_LOSSES["squared_error"]
    assert loss(Y, P, w) == pytest.approx(loss(Y[keep], P[keep], w[keep]), rel=1e-14)
