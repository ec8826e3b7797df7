"""sknnedu.nn.layers: the layer protocol (any layer that keeps it trains through the engine,
and the core imports nothing from scikit-learn); the Activation layer (against
nn.activations.activation and finite differences) and Dropout, on arrays and on sequence
batches."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from quiet_fits import quiet
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, NNClassifier, gradient_check
from sknnedu.nn.activations import ACTIVATIONS, DERIVATIVES, activation
from sknnedu.nn.layers import Activation, Dropout, Layer, Param, buffer
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


# ------------------------------------------ Param records, Layer.declare and the buffer idiom
def _seq(rng, c, dtype, lengths=(5, 3, 1)):
    return _sequence_batch(rng, c, lengths, dtype)


def _ids(rng, V, lengths=(5, 3, 1)):
    lengths = np.asarray(lengths)
    ids = rng.randint(1, V, size=(lengths.max(), len(lengths), 1)).astype(np.intp)
    ids[np.arange(lengths.max())[:, None] >= lengths[None, :]] = 0
    return SequenceBatch(ids, lengths)


def _run(layer, x):
    """One training forward and a backward of ones through ``layer``."""
    out = layer.forward(x, training=True)
    layer.backward(np.ones_like(_data(out)), need_input_grad=False)


def _join_run(W):
    """A Join with a projection, after its Fork: z = F + x W."""
    from sknnedu.nn.residual import Fork, Join

    fork = Fork()
    layer = Join(fork, "tanh", W)

    def run(rng):
        fork.forward(rng.randn(5, W.shape[0]).astype(W.dtype))
        _run(layer, rng.randn(5, W.shape[1]).astype(W.dtype))
    return layer, run


def _learning_layer(kind, rng, dtype):
    """``(layer, arrays passed in, expected (name, penalized) per array, run(rng))``: a small
    instance of every layer of sknnedu.nn that learns, with its documented L2 flags."""
    from sknnedu.nn.attention import MultiHeadSelfAttention
    from sknnedu.nn.conv_layers import Conv2D
    from sknnedu.nn.embedding import Embedding
    from sknnedu.nn.layers import Dense
    from sknnedu.nn.normalization import BatchNorm, LayerNorm
    from sknnedu.nn.positions import ClassToken, PositionalEncoding
    from sknnedu.nn.recurrent import Recurrent
    from sknnedu.nn.sequence_conv import Conv1D

    def arr(*shape):
        return rng.randn(*shape).astype(dtype)

    def on(x):
        return lambda r: _run(layer, x)

    if kind == "Dense":
        arrays = [arr(4, 3), arr(3)]
        layer = Dense(*arrays, "tanh")
        expected, run = [("W", True), ("b", False)], on(arr(5, 4))
    elif kind == "Conv2D":
        arrays = [arr(2, 3, 3, 1), arr(2)]
        layer = Conv2D(*arrays, activation="relu")
        expected, run = [("K", True), ("b", False)], on(arr(2, 4, 4, 1))
    elif kind == "Conv1D":
        arrays = [arr(3, 2, 4), arr(4)]
        layer = Conv1D(*arrays, activation="tanh")
        expected, run = [("W", True), ("b", False)], on(_seq(rng, 2, dtype))
    elif kind == "Embedding":
        arrays = [arr(6, 3)]
        layer = Embedding(arrays[0])
        expected, run = [("E", False)], on(_ids(rng, 6))
    elif kind == "Recurrent-lstm-1":
        arrays = [arr(2, 12), arr(3, 12), arr(12)]
        layer = Recurrent(arrays, "lstm")
        expected = [("W_x", True), ("W_h", True), ("b", False)]
        run = on(_seq(rng, 2, dtype))
    elif kind == "Recurrent-gru-2":
        arrays = [arr(2, 9), arr(3, 9), arr(9), arr(2, 9), arr(3, 9), arr(9)]
        layer = Recurrent(arrays, "gru")
        expected = [("W_x", True), ("W_h", True), ("b", False), ("W_x_reverse", True),
                    ("W_h_reverse", True), ("b_reverse", False)]
        run = on(_seq(rng, 2, dtype))
    elif kind == "BatchNorm":
        arrays = [arr(3), arr(3)]
        layer = BatchNorm(*arrays, np.zeros(3, dtype), np.ones(3, dtype))
        expected, run = [("gamma", False), ("beta", False)], on(arr(6, 3))
    elif kind == "LayerNorm":
        arrays = [arr(4), arr(4)]
        layer = LayerNorm(*arrays)
        expected, run = [("gamma", False), ("beta", False)], on(_seq(rng, 4, dtype))
    elif kind == "MultiHeadSelfAttention":
        arrays = [arr(4, 12), arr(12), arr(4, 4), arr(4)]
        layer = MultiHeadSelfAttention(*arrays, n_heads=2)
        expected = [("W_qkv", True), ("b_qkv", False), ("W_o", True), ("b_o", False)]
        run = on(_seq(rng, 4, dtype))
    elif kind == "PositionalEncoding-learned":
        arrays = [arr(6, 4)]
        layer = PositionalEncoding("learned", arrays[0])
        expected, run = [("P", False)], on(_seq(rng, 4, dtype))
    elif kind == "ClassToken":
        arrays = [arr(4)]
        layer = ClassToken(arrays[0])
        expected, run = [("c", False)], on(_seq(rng, 4, dtype))
    elif kind == "Join-projection":
        arrays = [arr(2, 3)]
        layer, run = _join_run(arrays[0])
        expected = [("W", True)]
    return layer, arrays, expected, run


LEARNING_LAYERS = ["Dense", "Conv2D", "Conv1D", "Embedding", "Recurrent-lstm-1",
                   "Recurrent-gru-2", "BatchNorm", "LayerNorm", "MultiHeadSelfAttention",
                   "PositionalEncoding-learned", "ClassToken", "Join-projection"]


def _check_declared(layer, arrays):
    records = layer.parameters
    assert all(isinstance(p, Param) for p in records)
    assert len(records) == len(arrays)
    for p, a in zip(records, arrays):  # references to the arrays passed in, not copies
        assert p.value is a
    assert len(layer.params) == len(records)
    assert all(v is p.value for v, p in zip(layer.params, records))
    assert layer.param_names == tuple(p.name for p in records)
    assert layer.penalized == tuple(p.penalized for p in records)
    assert isinstance(layer.param_names, tuple) and isinstance(layer.penalized, tuple)
    assert all(type(f) is bool for f in layer.penalized)
    assert len(set(layer.param_names)) == len(layer.param_names)
    assert len(layer.grads) == len(records)
    for g, p in zip(layer.grads, records):
        assert g.shape == p.value.shape and g.dtype == p.value.dtype
        assert g is not p.value and not np.shares_memory(g, p.value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", LEARNING_LAYERS)
def test_every_learning_layer_declares_params_names_flags_and_grads_that_agree(kind, dtype):
    rng = np.random.RandomState(0)
    layer, arrays, expected, run = _learning_layer(kind, rng, dtype)
    _check_declared(layer, arrays)
    # the names and L2 flags each docstring gives: weight matrices and kernels only
    assert [(p.name, p.penalized) for p in layer.parameters] == expected
    check_layer(layer)
    # one training step writes the gradients in place: the same arrays, shapes and dtypes
    grads = list(layer.grads)
    run(rng)
    assert all(g is h for g, h in zip(layer.grads, grads))
    _check_declared(layer, arrays)
    assert all(np.isfinite(g).all() for g in layer.grads)
    assert any(np.any(g != 0) for g in layer.grads)


def test_every_learning_layer_of_the_core_is_checked_above():
    import importlib
    import pkgutil

    import sknnedu.nn

    for module in pkgutil.iter_modules(sknnedu.nn.__path__):
        importlib.import_module(f"sknnedu.nn.{module.name}")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = {c.__name__ for c in subclasses(Layer) if c.__module__.startswith("sknnedu.nn.")}
    learning = {k.split("-")[0] for k in LEARNING_LAYERS}
    without = {"Dropout", "Activation", "Rescale", "Standardize", "Fork", "GlobalPool",
               "Pool2D", "Flatten", "FirstStep", "Readout"}
    assert found == learning | without  # a new layer: add it to one of the two lists


def test_layers_without_parameters_declare_none():
    from sknnedu.nn.conv_layers import Flatten, Pool2D
    from sknnedu.nn.layers import Rescale
    from sknnedu.nn.positions import FirstStep
    from sknnedu.nn.recurrent import Readout
    from sknnedu.nn.residual import Fork, Join
    from sknnedu.nn.sequence_conv import GlobalPool
    from sknnedu.nn.sequences import Standardize

    layers = [Dropout(0.5, np.random.default_rng(0)), Activation("relu"), Rescale(np.ones(3)),
              Standardize(np.zeros(3), np.ones(3)), Fork(), Join(Fork()), GlobalPool(),
              Pool2D(), Flatten(), FirstStep(), Readout("last")]
    for layer in layers:
        assert (layer.parameters, layer.param_names, layer.penalized) == ((), (), ())
        assert (list(layer.params), list(layer.grads)) == ([], [])
        check_layer(layer)


def test_declare_takes_plain_tuples_and_derives_everything_from_them():
    a, b = np.ones((2, 3), np.float32), np.zeros(3)
    layer = Layer()
    layer.declare(("A", a, True), Param("b", b, False))
    assert layer.parameters == (Param("A", a, True), Param("b", b, False))
    assert layer.params[0] is a and layer.params[1] is b
    assert (layer.param_names, layer.penalized) == (("A", "b"), (True, False))
    assert [g.dtype for g in layer.grads] == [np.float32, np.float64]
    assert all(np.all(g == 0) for g in layer.grads)
    # a second declare replaces the first, and declaring one layer leaves the class alone
    layer.declare(Param("c", b, False))
    assert layer.param_names == ("c",) and len(layer.grads) == 1
    assert Layer().params == [] and Layer.parameters == ()


def test_buffer_reuses_memory_until_it_must_grow_or_change_dtype():
    bufs = {}
    a = buffer(bufs, "x", (3, 4), np.float64)
    assert a.shape == (3, 4) and a.dtype == np.float64
    same = buffer(bufs, "x", (4, 3), np.float64)       # equal size, another shape
    smaller = buffer(bufs, "x", (2, 5), np.float64)
    assert same.shape == (4, 3) and smaller.shape == (2, 5)
    assert np.shares_memory(a, same) and np.shares_memory(a, smaller)
    assert smaller.ctypes.data == a.ctypes.data         # from the start of the buffer
    grown = buffer(bufs, "x", (5, 5), np.float64)
    assert grown.shape == (5, 5) and not np.shares_memory(a, grown)
    assert bufs["x"].size == 25
    # the grown buffer is kept: a short last batch does not shrink it
    assert np.shares_memory(buffer(bufs, "x", (1, 2), np.float64), grown)
    assert bufs["x"].size == 25
    other = buffer(bufs, "x", (2, 2), np.float32)
    assert other.dtype == np.float32 and not np.shares_memory(other, grown)
    assert np.shares_memory(buffer(bufs, "x", (2, 2), "float32"), other)
    # another name, another buffer
    assert not np.shares_memory(buffer(bufs, "y", (2, 2), np.float32), other)
    assert sorted(bufs) == ["x", "y"]


def test_layer_buffer_is_per_instance():
    one, two = Layer(), Layer()
    a = one.buffer("out", (4, 2), np.float64)
    b = two.buffer("out", (4, 2), np.float64)
    assert not np.shares_memory(a, b)
    assert one._bufs is not two._bufs and "_bufs" not in vars(Layer)
    assert np.shares_memory(one.buffer("out", (3, 2), np.float64), a)
    a[...] = 1.0
    b[...] = 2.0
    assert np.all(a == 1.0)


def test_dense_reuses_its_output_buffer_for_a_smaller_batch():
    from sknnedu.nn.layers import Dense

    rng = np.random.RandomState(0)
    W, b = rng.randn(4, 3), rng.randn(3)
    layer = Dense(W, b, "tanh")
    X = rng.randn(6, 4)
    first = layer.forward(X)
    dx_first = layer.backward(np.ones((6, 3)))
    second = layer.forward(X[:4])
    assert second.shape == (4, 3) and np.shares_memory(first, second)
    np.testing.assert_allclose(second, np.tanh(X[:4] @ W + b), rtol=1e-12)
    dx_second = layer.backward(np.ones((4, 3)))
    assert dx_second.shape == (4, 4) and np.shares_memory(dx_first, dx_second)
    np.testing.assert_allclose(dx_second, (1 - np.tanh(X[:4] @ W + b) ** 2) @ W.T, rtol=1e-12)
    # a larger batch grows it, with the right values
    third = layer.forward(rng.randn(9, 4))
    assert third.shape == (9, 3)


def test_layer_buffer_works_on_every_layer():
    from sknnedu.nn.conv_layers import Conv2D, Pool2D

    layers = [Conv2D(np.ones((1, 1, 1, 1)), np.zeros(1)), Pool2D()]
    for layer in layers:  # Layer.buffer is the one idiom; a layer's own _bufs breaks it
        out = layer.buffer("extra", (2, 3), np.float64)
        assert out.shape == (2, 3)
