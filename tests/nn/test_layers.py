"""sknnedu.nn.layers: the layer protocol (any layer that keeps it trains through the engine,
and the core imports nothing from scikit-learn); the Activation layer (against
nn.activations.activation and finite differences) and Dropout, on arrays and on sequence
batches."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, NNClassifier, gradient_check
from sknnedu.nn.activations import ACTIVATIONS, DERIVATIVES, activation
from sknnedu.nn.layers import Activation, Dropout, Layer
from sknnedu.nn.network import Network, check_layer
from sknnedu.nn.sequences import SequenceBatch


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


def _protocol_data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5)
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    return X, y


def test_a_layer_with_three_parameters_trains_through_the_engine():
    X, y = _protocol_data()
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



# ------------------------------------------------------- Activation and Dropout on sequences
LENGTHS = [5, 3, 1]


def _sequence_batch(rng, c, lengths=LENGTHS, dtype=np.float64):
    lengths = np.asarray(lengths)
    T = lengths.max()
    data = rng.randn(T, len(lengths), c).astype(dtype)
    data[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return SequenceBatch(data, lengths)


def _data(a):
    return a.data if isinstance(a, SequenceBatch) else a


def _inputs(rng, c):
    return {"dense": rng.randn(4, c), "images": rng.randn(2, 3, 3, c),
            "sequences": _sequence_batch(rng, c)}


def _rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_activation_layer_applies_g(name, kind):
    rng = np.random.RandomState(0)
    x = _inputs(rng, 3)[kind]
    before = _data(x).copy()
    a = Activation(name).forward(x)
    assert type(a) is type(x)
    expected = activation(name, _data(x))
    if kind == "sequences":
        expected[~x.mask] = 0
        assert np.all(a.data[~x.mask] == 0)       # sigmoid(0) = 1/2 is set back to 0
    np.testing.assert_allclose(_data(a), expected, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(_data(x), before)   # the input is not overwritten


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_activation_layer_gradient(name, kind):
    """``J = sum(R * g(x))`` against centred differences; R is nonzero at padded steps."""
    rng = np.random.RandomState(1)
    x = _inputs(rng, 3)[kind]
    layer = Activation(name, slope=0.1)
    R = rng.randn(*_data(x).shape)
    layer.forward(x, training=True)
    dx = layer.backward(R.copy()).copy()
    data, h = _data(x), 1e-6
    numeric = np.zeros_like(data)
    for i in np.ndindex(data.shape):
        old = data[i]
        data[i] = old + h
        plus = np.sum(R * _data(layer.forward(x)))
        data[i] = old - h
        minus = np.sum(R * _data(layer.forward(x)))
        data[i] = old
        numeric[i] = (plus - minus) / (2 * h)
    assert _rel_error(dx, numeric) < 1e-6
    if kind == "sequences":
        assert np.all(dx[~x.mask] == 0)


def test_activation_a_sequence_alone_equals_it_in_a_batch():
    rng = np.random.RandomState(2)
    batch = _sequence_batch(rng, 3)
    layer = Activation("tanh")
    together = layer.forward(batch).data.copy()
    R = rng.randn(*batch.data.shape)
    dx_together = layer.backward(R.copy()).copy()
    for i, T_i in enumerate(batch.lengths):
        alone = SequenceBatch(batch.data[:T_i, i:i + 1].copy(), np.array([T_i]))
        np.testing.assert_array_equal(layer.forward(alone).data[:, 0], together[:T_i, i])
        np.testing.assert_array_equal(layer.backward(R[:T_i, i:i + 1].copy())[:, 0],
                                      dx_together[:T_i, i])


@pytest.mark.parametrize("name", ["relu", "sigmoid", "identity"])
def test_activation_float32_stays_float32(name):
    x = _sequence_batch(np.random.RandomState(3), 3, dtype=np.float32)
    layer = Activation(name)
    a = layer.forward(x)
    dx = layer.backward(np.ones(x.data.shape, np.float32))
    assert a.data.dtype == dx.dtype == np.float32


def test_activation_names_are_checked():
    with pytest.raises(ValueError, match="Unknown activation of an Activation layer 'sigmoidd'"):
        Activation("sigmoidd")
    layer = Activation("abs")
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="'abs' has no derivative"):
        layer.backward(np.ones((2, 2)))


def test_dropout_on_a_sequence_batch():
    rng = np.random.RandomState(4)
    batch = _sequence_batch(rng, 6, [7, 4, 1, 6])
    batch.data[~batch.mask] = 5.0                      # garbage in the padding stays out
    layer = Dropout(0.5, np.random.default_rng(0))
    a = layer.forward(batch, training=True)
    assert isinstance(a, SequenceBatch)
    np.testing.assert_array_equal(a.lengths, batch.lengths)
    assert a.data.shape == batch.data.shape
    assert np.all(a.data[~batch.mask] == 0)
    # the mask as the ndarray path draws it, then 0 at padded steps
    keep = np.random.default_rng(0).random(batch.data.shape) >= 0.5
    keep &= batch.mask[:, :, None]
    np.testing.assert_array_equal(layer.mask, keep * 2.0)
    np.testing.assert_array_equal(a.data, batch.data * keep * 2.0)
    da = rng.randn(*batch.data.shape)
    dx = layer.backward(da.copy())
    np.testing.assert_array_equal(dx, da * keep * 2.0)
    assert np.all(dx[~batch.mask] == 0)
    # prediction: the batch itself
    assert layer.forward(batch, training=False) is batch


def test_dropout_on_arrays_draws_as_before():
    x = np.random.RandomState(5).randn(8, 5).astype(np.float32)
    layer = Dropout(0.25, np.random.default_rng(3))
    a = layer.forward(x, training=True)
    keep = np.random.default_rng(3).random(x.shape) >= 0.25
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, x * (keep * np.float32(1 / 0.75)))


# ------------------------------------ hardening item 8: dropout masks do not depend on the dtype


DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
X, Y = DIGITS_X[:400] / 16, DIGITS_Y[:400]


def quiet(est, method, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(est, method)(*args, **kwargs)


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


def test_dropout_draws_the_same_masks_for_float32_and_float64():
    a = np.random.RandomState(0).rand(50, 20)
    masks = []
    for dtype in (np.float64, np.float32):
        layer = Dropout(0.3, np.random.default_rng(0))
        layer.forward(a.astype(dtype), training=True)
        masks.append(layer.mask)
    assert masks[1].dtype == np.float32
    np.testing.assert_array_equal(masks[0] != 0, masks[1] != 0)


@pytest.mark.parametrize("make", [lambda: tiny_cnn(max_iter=10),
                                  lambda: NNClassifier((32,), max_iter=30, random_state=0)],
                         ids=["CNNClassifier", "NNClassifier"])
def test_dropout_models_agree_for_float32_and_float64(make):
    models = [quiet(make().set_params(dropout=0.2), "fit", X.astype(dtype), Y)
              for dtype in (np.float64, np.float32)]
    P64, P32 = (m.predict_proba(X) for m in models)
    assert np.abs(P64 - P32).max() < 1e-4  # (0.16 for the CNN when masks were drawn in dtype)
    assert (P64.argmax(axis=1) == P32.argmax(axis=1)).all()
