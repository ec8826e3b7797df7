"""The layer protocol (sknnedu.nn.layers): any layer that keeps it trains through the engine,
and the core imports nothing from scikit-learn."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknnedu import NNClassifier, gradient_check
from sknnedu.nn.layers import Dense, Layer
from sknnedu.nn.network import Network, check_layer


def test_the_core_imports_without_scikit_learn():
    # sys.modules[name] = None makes `import name` fail, as on a machine without it
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import sknnedu.nn\n"
            "from sknnedu.nn import activations, initializers, losses, optimizers, layers, "
            "conv, conv_layers, network\n"
            "import sknnedu\n"
            "assert 'sknnedu.neural_network' not in sys.modules\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_an_estimator_needs_scikit_learn_only_when_used():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import sknnedu\n"
            "try:\n"
            "    sknnedu.NNClassifier\n"
            "except ImportError:\n"
            "    print('needs sklearn')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "needs sklearn", out.stderr


class ScaledDense(Layer):
    """``z = (x * s) W + b``: three parameters, of which only W is penalised."""

    def __init__(self, s, W, b):
        self.params = [s, W, b]
        self.grads = [np.empty_like(s), np.empty_like(W), np.empty_like(b)]
        self.param_names, self.penalized = ("s", "W", "b"), (False, True, False)

    def forward(self, a_prev, training=False):
        self.a_prev = a_prev
        self.xs = a_prev * self.params[0]
        return self.xs @ self.params[1] + self.params[2]

    def backward(self, da, need_input_grad=True):
        s, W, _ = self.params
        np.matmul(self.xs.T, da, out=self.grads[1])
        np.sum(da, axis=0, out=self.grads[2])
        dxs = da @ W.T
        np.sum(dxs * self.a_prev, axis=0, out=self.grads[0])
        return dxs * s if need_input_grad else None


class ScaledClassifier(NNClassifier):
    """An NNClassifier whose output layer is a ScaledDense: hooks only, no loop of its own."""

    _param_attrs = ("coefs_", "intercepts_", "scales_")

    def _initialize_params(self, X, Y, rng, sample_weight=None):
        super()._initialize_params(X, Y, rng, sample_weight)
        self.scales_ = [np.ones(self.coefs_[-1].shape[0], dtype=X.dtype)]

    def _build_layers(self, dropout=0.0, rng=None):
        layers = super()._build_layers(dropout, rng)
        W, b = layers[-1].params
        return layers[:-1] + [ScaledDense(self.scales_[0], W, b)]


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5)
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    return X, y


def test_a_layer_with_three_parameters_trains_through_the_engine():
    X, y = _data()
    clf = ScaledClassifier((8,), activation="tanh", alpha=1e-2, learning_rate_init=0.02,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # the third array learned too (it starts at ones)
    assert not np.allclose(clf.scales_[0], 1.0)
    assert clf.score(X, y) > 0.9
    # one gradient norm per learning layer, and a backward pass that checks
    assert len(clf.gradient_norms_[-1]) == 2
    assert gradient_check(ScaledClassifier((8,), activation="tanh", alpha=1e-2,
                                           random_state=0), X, y) < 1e-6


def test_the_l2_penalty_follows_the_penalized_flags():
    rng = np.random.RandomState(1)
    s, W, b = rng.rand(4) + 0.5, rng.randn(4, 2), rng.randn(2)
    X, Y = rng.randn(10, 4), np.eye(2)[rng.randint(0, 2, 10)]
    net = Network([ScaledDense(s, W, b)], "log_loss", alpha=0.5)
    loss_with = net.loss_grad(X, Y)
    g_s, g_W = net.grads[2].copy(), net.grads[0].copy()  # order: penalised first
    net0 = Network([ScaledDense(s, W, b)], "log_loss", alpha=0.0)
    loss_without = net0.loss_grad(X, Y)
    assert loss_with - loss_without == pytest.approx(0.5 * 0.5 * np.sum(W**2) / 10)
    np.testing.assert_allclose(g_W - net0.grads[0], 0.5 * W / 10, atol=1e-12)
    np.testing.assert_allclose(g_s, net0.grads[2], atol=1e-12)  # s is not penalised
    assert [p is q for p, q in zip(net.params, [W, s, b])] == [True] * 3


def test_a_layer_that_breaks_the_protocol_is_refused():
    layer = ScaledDense(np.ones(3), np.ones((3, 2)), np.zeros(2))
    layer.penalized = (True,)
    with pytest.raises(TypeError, match="one of each"):
        check_layer(layer)
    with pytest.raises(TypeError, match="one of each"):
        Network([layer], "squared_error")


def test_the_network_starts_backward_at_whatever_layer_is_last():
    rng = np.random.RandomState(2)
    W, b = rng.randn(3, 2), rng.randn(2)
    X = rng.randn(6, 3)
    net = Network([Dense(W, b, "identity"), Layer()], "log_loss")
    P = net.forward(X)
    Z = X @ W + b
    expected = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, expected / expected.sum(axis=1, keepdims=True))
    net.loss_grad(X, np.eye(2)[[0, 1, 0, 1, 0, 1]])
    np.testing.assert_allclose(net.grads[1], (P - np.eye(2)[[0, 1, 0, 1, 0, 1]]).mean(0))
