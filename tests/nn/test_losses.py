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


# ------------------------------------------ output_loss: Huber's delta bound where it is chosen
def _plain_huber(Y, P, w, d):
    """J and dJ/dz of Huber's loss with threshold ``d``, one residual at a time."""
    m, k = len(Y), len(Y[0])
    w = [1.0] * m if w is None else [float(v) for v in w]
    J, grad = 0.0, [[0.0] * k for _ in range(m)]
    for i in range(m):
        for j in range(k):
            r = float(P[i][j]) - float(Y[i][j])
            J += w[i] * (r * r / 2 if abs(r) <= d else d * (abs(r) - d / 2))
            grad[i][j] = max(-d, min(d, r))
    return J / sum(w), grad


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("delta", [0.3, 2.0])
def test_output_loss_huber_is_the_plain_formula_with_its_delta(delta, weighted):
    rng = np.random.RandomState(3)
    Y, P = rng.randn(8, 2), rng.randn(8, 2) * 2.0       # residuals on both sides of delta
    r = np.abs(P - Y)
    assert (r < delta).any() and (r > delta).any()
    w = rng.uniform(0.2, 3.0, 8) if weighted else None
    loss = output_loss("huber", delta)
    J, grad = _plain_huber(Y, P, w, delta)
    assert loss(Y, P, w) == pytest.approx(J, rel=1e-13)
    out = np.empty_like(P)
    assert loss.gradient(Y, P, out) is out
    np.testing.assert_allclose(out, grad, rtol=0, atol=1e-15)
    assert loss.activation == "identity"
    # the registered Huber keeps its delta of 1
    assert OUTPUT_LOSSES["huber"](Y, P, w) == pytest.approx(_plain_huber(Y, P, w, 1.0)[0])


def test_output_loss_huber_in_float32_keeps_its_dtype():
    Y = np.zeros((2, 2), np.float32)
    P = np.array([[0.1, -0.5], [2.0, 0.3]], np.float32)
    out = output_loss("huber", 0.3).gradient(Y, P, np.empty_like(P))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.1, -0.3], [0.3, 0.3]], rtol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_output_loss_returns_the_registered_loss_unless_huber_has_another_delta(name):
    assert output_loss(name) is OUTPUT_LOSSES[name]
    if name != "huber":
        assert output_loss(name, huber_delta=0.3) is OUTPUT_LOSSES[name]
    else:
        assert output_loss(name, 1.0) is OUTPUT_LOSSES[name]
        assert output_loss(name, 0.3) is not OUTPUT_LOSSES[name]


def test_a_bound_huber_loss_survives_pickling():
    import pickle

    Y, P = np.zeros((1, 1)), np.full((1, 1), 2.0)
    loss = pickle.loads(pickle.dumps(output_loss("huber", 0.5)))
    assert loss(Y, P) == 0.875                          # 0.5 (2 - 0.25)
    assert loss.gradient(Y, P, np.empty((1, 1))).tolist() == [[0.5]]


def _huber_network(loss, **kw):
    from sknnedu.nn.layers import Dense
    from sknnedu.nn.network import Network

    rng = np.random.RandomState(0)
    layers = [Dense(rng.randn(3, 4), rng.randn(4), "tanh"), Dense(rng.randn(4, 2), rng.randn(2),
                                                                  "identity")]
    return Network(layers, loss, **kw)


def test_a_network_binds_the_huber_delta_of_a_name_as_output_loss_does():
    rng = np.random.RandomState(1)
    X, Y = rng.randn(6, 3), rng.randn(6, 2) * 3.0
    results = {}
    for key, net in [("named", _huber_network("huber", huber_delta=0.3)),
                     ("built", _huber_network(output_loss("huber", 0.3))),
                     ("delta 1", _huber_network("huber"))]:
        J = net.loss_grad(X, Y)
        results[key] = J, [g.copy() for g in net.grads]
    assert results["named"][0] == results["built"][0]
    for g, h in zip(results["named"][1], results["built"][1]):
        np.testing.assert_array_equal(g, h)
    assert results["named"][0] != pytest.approx(results["delta 1"][0])
    # and the delta is the one of the formula
    net = _huber_network("huber", huber_delta=0.3)
    P = net.forward(X).copy()
    assert net.loss_grad(X, Y) == pytest.approx(_plain_huber(Y, P, None, 0.3)[0], rel=1e-13)
