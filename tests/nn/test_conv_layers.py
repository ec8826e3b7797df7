"""Conv2D, Pool2D and Flatten against sknnedu.nn.conv and centred finite differences."""

import numpy as np
import pytest
from references import numerical_gradient

import sknnedu.nn.conv as conv
from sknnedu.nn import conv_layers, threads
from sknnedu.nn.activations import ACTIVATIONS
from sknnedu.nn.conv import avg_pool2d, conv2d, max_pool2d
from sknnedu.nn.conv_layers import Conv2D, Flatten, Pool2D

ACTS = ["relu", "leakyrelu", "tanh", "sigmoid", "identity"]




def check_layer_gradients(layer, x, rtol=1e-5, atol=1e-7):
    """Backward of ``J = sum(G * layer(x))`` against finite differences, for x and params."""
    out = layer.forward(x, training=True)
    weights = np.random.default_rng(0).standard_normal(out.shape)

    def loss():
        return np.sum(weights * layer.forward(x, training=True))

    numeric_x = numerical_gradient(loss, x)
    numeric_params = [numerical_gradient(loss, p) for p in layer.params]
    layer.forward(x, training=True)
    dx = layer.backward(weights.copy())
    np.testing.assert_allclose(dx, numeric_x, rtol=rtol, atol=atol)
    for grad, numeric in zip(layer.grads, numeric_params):
        np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=atol)


def make_conv(k=3, fh=3, fw=3, c=2, dtype=np.float64, seed=1, **kwargs):
    rng = np.random.default_rng(seed)
    kernels = (rng.standard_normal((k, fh, fw, c)) * 0.5).astype(dtype)
    bias = (rng.standard_normal(k) * 0.1).astype(dtype)
    return Conv2D(kernels, bias, **kwargs), kernels, bias


# ------------------------------------------------------------------------------ Conv2D


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize(
    "stride, padding", [(1, "same"), (2, "same"), (1, "valid"), (2, "valid"), (2, ((1, 0), (0, 2)))]
)
def test_conv2d_forward_is_conv2d_plus_bias_then_activation(activation, stride, padding):
    layer, kernels, bias = make_conv(stride=stride, padding=padding, activation=activation)
    x = np.random.default_rng(2).standard_normal((3, 7, 6, 2))
    expected = ACTIVATIONS[activation](conv2d(x, kernels, stride=stride, padding=padding) + bias)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("stride, padding", [(1, "same"), (2, "same"), (1, "valid"), (2, 1)])
def test_conv2d_backward_matches_finite_differences(activation, stride, padding):
    layer, _, _ = make_conv(
        k=2, fh=3, fw=2, c=2, stride=stride, padding=padding, activation=activation
    )
    x = np.random.default_rng(3).standard_normal((2, 5, 5, 2))
    check_layer_gradients(layer, x)


def test_conv2d_backward_agrees_with_conv2d_backward():
    layer, kernels, _ = make_conv(k=4, c=3, stride=2, padding="same", activation="identity")
    x = np.random.default_rng(4).standard_normal((5, 9, 8, 3))
    dout = np.random.default_rng(5).standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout.copy())
    ref_dx, ref_dk, ref_db = conv.conv2d_backward(dout, x, kernels, stride=2, padding="same")
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads[0], ref_dk, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads[1], ref_db, rtol=1e-12, atol=1e-12)


def test_conv2d_params_are_references_and_buffers_are_reused():
    layer, kernels, bias = make_conv(c=1)
    assert layer.params[0] is kernels and layer.params[1] is bias
    dk, db = layer.grads
    x = np.random.default_rng(6).standard_normal((4, 6, 6, 1))
    out1 = layer.forward(x)
    kernels *= 2  # an optimiser step in place is seen by the next forward
    bias += 1
    out2 = layer.forward(x)
    assert out2 is out1 or np.shares_memory(out1, out2)  # same buffer, no new allocation
    np.testing.assert_allclose(out2, np.maximum(conv2d(x, kernels, padding="same") + bias, 0))
    layer.backward(np.ones_like(out2))
    assert layer.grads[0] is dk and layer.grads[1] is db  # written in place
    small = layer.forward(x[:2])  # a smaller last batch reuses the buffer
    assert np.shares_memory(small, out2)
    big = layer.forward(np.concatenate([x, x]))  # a bigger batch grows it
    np.testing.assert_allclose(big[4:], big[:4])


def test_conv2d_skips_input_gradient_of_the_first_layer():
    layer, _, _ = make_conv(c=1)
    x = np.random.default_rng(7).standard_normal((2, 5, 5, 1))
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out), need_input_grad=False) is None
    dk = layer.grads[0].copy()
    layer.forward(x)
    layer.backward(np.ones_like(out))
    np.testing.assert_array_equal(layer.grads[0], dk)


def test_conv2d_float32_stays_float32():
    layer, kernels, bias = make_conv(dtype=np.float32, stride=2)
    x = np.random.default_rng(8).standard_normal((3, 8, 8, 2)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.grads[0].dtype == layer.grads[1].dtype == np.float32
    ref, _, _ = make_conv(stride=2)
    ref.forward(x.astype(np.float64))
    ref_dx = ref.backward(np.ones(out.shape))
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-4, atol=1e-5)


def test_conv2d_errors():
    with pytest.raises(ValueError, match=r"kernels must be a float ndarray of shape"):
        Conv2D(np.ones((2, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"bias must be an ndarray of shape \(2,\)"):
        Conv2D(np.ones((2, 3, 3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="Unknown activation 'abs'"):
        Conv2D(np.ones((2, 3, 3, 1)), np.zeros(2), activation="abs")
    layer = Conv2D(np.ones((2, 3, 3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"kernels for 1 channel\(s\), the input has 3"):
        layer.forward(np.ones((1, 5, 5, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((1, 5, 5, 2)))


# ------------------------------------------------------------------------------ Pool2D


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (2, 1), (3, 2), (2, 3), (1, None)])
def test_pool2d_forward_matches_conv(kind, size, stride):
    x = np.random.default_rng(9).standard_normal((3, 7, 6, 2))
    reference = max_pool2d if kind == "max" else avg_pool2d
    out = Pool2D(kind, size, stride).forward(x)
    np.testing.assert_allclose(out, reference(x, size, stride=stride), rtol=1e-14)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), (2, 1), ((2, 3), (1, 2))])
def test_pool2d_backward_matches_finite_differences(kind, size, stride):
    rng = np.random.default_rng(10)
    x = rng.permutation(2 * 6 * 7 * 2).reshape(2, 6, 7, 2) / 9.0  # distinct values
    check_layer_gradients(Pool2D(kind, size, stride), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_backward_agrees_with_conv(kind):
    x = np.random.default_rng(11).standard_normal((3, 9, 8, 4))
    layer = Pool2D(kind, 3, 2)
    dout = np.random.default_rng(12).standard_normal(layer.forward(x).shape)
    backward = conv.max_pool2d_backward if kind == "max" else conv.avg_pool2d_backward
    np.testing.assert_allclose(layer.backward(dout), backward(dout, x, 3, stride=2), rtol=1e-14)


@pytest.mark.parametrize("stride", [None, 1])
def test_max_pool2d_ties_go_to_one_element(stride):
    x = np.zeros((2, 4, 4, 3))  # relu outputs: whole windows of zeros
    layer = Pool2D("max", 2, stride)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert dx.sum() == out.size
    np.testing.assert_array_equal(
        dx, conv.max_pool2d_backward(np.ones_like(out), x, 2, stride=stride)
    )


def test_pool2d_float32_and_no_params():
    layer = Pool2D("max", 2)
    assert layer.params == [] and layer.grads == []
    x = np.random.default_rng(13).standard_normal((2, 4, 4, 3)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == layer.backward(np.ones_like(out)).dtype == np.float32
    assert Pool2D("avg", 2).forward(x).dtype == np.float32
    with pytest.raises(ValueError, match="Unknown pooling 'min'"):
        Pool2D("min")


# ----------------------------------------------------------------------------- Flatten


def test_flatten_is_a_c_order_view_and_backward_reshapes():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = Flatten()
    out = layer.forward(x)
    assert out.shape == (2, 60) and np.shares_memory(out, x)
    np.testing.assert_array_equal(out[1], x[1].ravel())
    np.testing.assert_array_equal(layer.backward(out), x)
    assert layer.backward(out, need_input_grad=False) is None


# ------------------------------------------------------------------------------- chain


def test_small_network_of_layers_matches_finite_differences():
    """conv -> max pool -> conv (stride 2) -> avg pool -> flatten, all parameters."""
    rng = np.random.default_rng(14)
    k1, b1 = rng.standard_normal((3, 3, 3, 2)) * 0.5, rng.standard_normal(3) * 0.1
    k2, b2 = rng.standard_normal((2, 2, 2, 3)) * 0.5, rng.standard_normal(2) * 0.1
    layers = [
        Conv2D(k1, b1, activation="tanh"),
        Pool2D("max", 2),
        Conv2D(k2, b2, stride=2, padding="same", activation="sigmoid"),
        Pool2D("avg", 2, 1),
        Flatten(),
    ]
    x = rng.standard_normal((2, 8, 8, 2))

    def forward():
        a = x
        for layer in layers:
            a = layer.forward(a, training=True)
        return a

    weights = rng.standard_normal(forward().shape)

    def loss():
        return float(np.sum(weights * forward()))

    params = [p for layer in layers for p in layer.params]
    numeric = [numerical_gradient(loss, p) for p in params]
    numeric_x = numerical_gradient(loss, x)
    forward()
    da = weights.copy()
    for layer in reversed(layers):
        da = layer.backward(da, need_input_grad=True)
    np.testing.assert_allclose(da, numeric_x, rtol=1e-5, atol=1e-8)
    grads = [g for layer in layers for g in layer.grads]
    for grad, num in zip(grads, numeric):
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


# ----------------------------------------------------------------------------- threads


@pytest.mark.parametrize(
    "make",
    [
        lambda: make_conv(k=3, c=2, stride=2, padding="same", activation="tanh")[0],
        lambda: make_conv(k=3, c=2, padding="valid", activation="relu")[0],
        lambda: Pool2D("max", 2),
        lambda: Pool2D("max", 3, 2),
        lambda: Pool2D("avg", 2, 1),
    ],
)
def test_batch_parts_in_threads_give_identical_results(monkeypatch, make):
    x = np.random.default_rng(15).standard_normal((7, 8, 9, 2))
    results = []
    for n_threads in (1, 3):
        monkeypatch.setattr(threads, "N_THREADS", n_threads)
        monkeypatch.setattr(threads, "MIN_PART", 1)
        assert threads.n_parts(7) == n_threads
        layer = make()
        out = layer.forward(x).copy()
        dx = layer.backward(np.cos(out)).copy()
        results.append([out, dx] + [g.copy() for g in layer.grads])
    for single, parts in zip(*results):
        np.testing.assert_allclose(parts, single, rtol=1e-12, atol=1e-12)


def test_a_training_step_allocates_no_batch_sized_arrays():
    import tracemalloc

    rng = np.random.default_rng(16)
    layers = [
        make_conv(k=16, c=1, dtype=np.float32)[0],
        Pool2D("max", 2),
        make_conv(k=16, c=16, dtype=np.float32)[0],
        Pool2D("avg", 2),
        Flatten(),
    ]
    x = rng.random((64, 16, 16, 1), dtype=np.float32)
    da = np.ones((64, 4 * 4 * 16), np.float32)

    def step():
        a = x
        for layer in layers:
            a = layer.forward(a, training=True)
        d = da
        for i in reversed(range(len(layers))):
            d = layers[i].backward(d, need_input_grad=i > 0)

    step()
    tracemalloc.start()
    try:
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    batch_of_maps = x.size * 16 * 4  # the first layer's output, float32
    assert peak < batch_of_maps / 2, f"{peak} bytes allocated in a step"


def test_buffers_shrink_back_after_one_big_batch(monkeypatch):
    monkeypatch.setattr(conv_layers, "KEEP_SAMPLES", 8)
    layers = [make_conv(k=4, c=1)[0], Pool2D("max", 2), Flatten()]

    def step(m):
        a = np.random.default_rng(m).standard_normal((m, 6, 6, 1))
        for layer in layers:
            a = layer.forward(a, training=True)
        d = np.ones_like(a)
        for layer in reversed(layers):
            d = layer.backward(d)
        return a

    step(4)
    step(100)  # e.g. a validation set in one batch
    small = step(4).copy()
    for layer in layers[:2]:
        assert max(b.shape[0] for b in layer._scratch._arrays.values()) <= 8
    np.testing.assert_allclose(small, step(4))
