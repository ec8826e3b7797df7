"""Conv1D and GlobalPool on padded, masked sequence batches (sknnedu.nn.sequence_conv)."""

import numpy as np
import pytest
from scipy.signal import correlate

from sknnedu.nn.initializers import RELU_FAMILY
from sknnedu.nn.sequence_conv import Conv1D, GlobalPool, init_conv1d, same_padding
from sknnedu.nn.sequences import SequenceBatch

LENGTHS = [7, 4, 1]


def ragged_batch(rng, lengths, c, dtype=np.float64, fill=0.0):
    """A time-major batch (T, m, c) whose padded steps hold ``fill``."""
    lengths = np.asarray(lengths, dtype=np.intp)
    T = int(lengths.max())
    X = rng.standard_normal((T, len(lengths), c)).astype(dtype)
    X[np.arange(T)[:, None] >= lengths[None, :]] = fill
    return SequenceBatch(X, lengths)


def layer(rng, k, c_in, c_out, dilation=1, activation="identity", dtype=np.float64):
    W = rng.standard_normal((k, c_in, c_out)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return Conv1D(W, b, dilation=dilation, activation=activation)


def loop_reference(X, lengths, W, b, dilation):
    """``z[t] = sum_j x[t + j d - p_left] W[j] + b`` per sequence, plain loops over t and j."""
    k = W.shape[0]
    p_left = same_padding(k, dilation)[0]
    T, m, _ = X.shape
    Z = np.zeros((T, m, W.shape[2]))
    for i in range(m):
        L = lengths[i]
        for t in range(L):
            z = b.astype(np.float64).copy()
            for j in range(k):
                u = t + j * dilation - p_left
                if 0 <= u < L:
                    z += X[u, i] @ W[j]
            Z[t, i] = z
    return Z


def scipy_reference(X, lengths, W, b, dilation):
    """The same with scipy.signal.correlate: zero-pad each sequence by (p_left, p_right),
    dilate the kernel, correlate each channel pair in 'valid' mode and sum over c_in."""
    k, c_in, c_out = W.shape
    p_left, p_right = same_padding(k, dilation)
    T, m, _ = X.shape
    Z = np.zeros((T, m, c_out))
    for i in range(m):
        L = lengths[i]
        x = np.pad(X[:L, i], ((p_left, p_right), (0, 0)))
        for o in range(c_out):
            for c in range(c_in):
                w = np.zeros(dilation * (k - 1) + 1)
                w[::dilation] = W[:, c, o]
                Z[:L, i, o] += correlate(x[:, c], w, mode="valid")
            Z[:L, i, o] += b[o]
    return Z


# ------------------------------------------------------------------------- forward


@pytest.mark.parametrize("k", [1, 3, 4])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("c_in,c_out", [(1, 1), (3, 2), (2, 5)])
def test_forward_matches_loops_and_scipy(k, dilation, c_in, c_out):
    rng = np.random.default_rng(k * 100 + dilation * 10 + c_in)
    batch = ragged_batch(rng, LENGTHS, c_in)
    conv = layer(rng, k, c_in, c_out, dilation)
    out = conv.forward(batch)
    assert isinstance(out, SequenceBatch)
    assert out.data.shape == (7, 3, c_out)
    np.testing.assert_array_equal(out.lengths, batch.lengths)
    W, b = conv.params
    loops = loop_reference(batch.data, batch.lengths, W, b, dilation)
    np.testing.assert_allclose(out.data, loops, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.data, scipy_reference(batch.data, batch.lengths, W, b,
                                                         dilation), rtol=1e-12, atol=1e-12)


def test_same_padding_is_torchs():
    """torch's padding='same': total d (k - 1), the smaller half on the left."""
    assert same_padding(1) == (0, 0)
    assert same_padding(2) == (0, 1)
    assert same_padding(4) == (1, 2)
    assert same_padding(4, 2) == (3, 3)
    assert same_padding(5, 3) == (6, 6)


def test_even_kernel_pads_more_on_the_right():
    """k = 2: ``z[t] = x[t] W[0] + x[t + 1] W[1]``, so an impulse at step 2 appears at
    steps 2 (through W[0]) and 1 (through W[1]); the last step reads one padded zero."""
    x = np.zeros((5, 1, 1))
    x[2] = 1.0
    W = np.array([10.0, 1.0]).reshape(2, 1, 1)
    conv = Conv1D(W, np.zeros(1))
    out = conv.forward(SequenceBatch(x, np.array([5]))).data.ravel()
    np.testing.assert_array_equal(out, [0, 1, 10, 0, 0])
    # k = 4: p_left = 1, z[t] = x[t-1] W0 + x[t] W1 + x[t+1] W2 + x[t+2] W3
    W = np.array([1000.0, 100.0, 10.0, 1.0]).reshape(4, 1, 1)
    out = Conv1D(W, np.zeros(1)).forward(SequenceBatch(x, np.array([5]))).data.ravel()
    np.testing.assert_array_equal(out, [1, 10, 100, 1000, 0])


def test_output_zero_at_padded_steps_with_activation():
    rng = np.random.default_rng(0)
    batch = ragged_batch(rng, LENGTHS, 2)
    conv = layer(rng, 3, 2, 4, activation="sigmoid")  # g(b) != 0 at padded steps
    out = conv.forward(batch)
    assert np.all(out.data[~batch.mask] == 0)
    assert np.all(out.data[batch.mask] > 0)


@pytest.mark.parametrize("fill", [1e6, -3e8, np.inf, np.nan])
def test_padded_input_values_change_nothing(fill):
    rng = np.random.default_rng(1)
    clean = ragged_batch(rng, LENGTHS, 3)
    dirty = SequenceBatch(clean.data.copy(), clean.lengths)
    dirty.data[~clean.mask] = fill
    conv = layer(rng, 4, 3, 2, dilation=2, activation="tanh")
    da = rng.standard_normal((7, 3, 2))
    out_clean = conv.forward(clean).data.copy()
    dx_clean = conv.backward(da.copy()).copy()
    grads_clean = [g.copy() for g in conv.grads]
    out_dirty = conv.forward(dirty).data
    dx_dirty = conv.backward(da.copy())
    np.testing.assert_array_equal(out_dirty, out_clean)
    np.testing.assert_array_equal(dx_dirty, dx_clean)
    for g, g0 in zip(conv.grads, grads_clean, strict=True):
        np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    rng = np.random.default_rng(2)
    conv = layer(rng, 3, 2, 3, activation="relu", dtype=dtype)
    for in_dtype in (np.float32, np.float64):
        batch = ragged_batch(rng, LENGTHS, 2, dtype=in_dtype)
        out = conv.forward(batch)
        assert out.data.dtype == dtype
        dx = conv.backward(rng.standard_normal(out.data.shape).astype(dtype))
        assert dx.dtype == dtype
        assert all(g.dtype == dtype for g in conv.grads)


def test_float32_close_to_float64():
    rng = np.random.default_rng(3)
    batch = ragged_batch(rng, LENGTHS, 3)
    conv64 = layer(rng, 3, 3, 4, activation="tanh")
    conv32 = Conv1D(*(p.astype(np.float32) for p in conv64.params), activation="tanh")
    b32 = SequenceBatch(batch.data.astype(np.float32), batch.lengths)
    np.testing.assert_allclose(conv32.forward(b32).data, conv64.forward(batch).data,
                               rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------ backward


def numerical_gradients(conv, batch, R, eps=1e-6):
    """Centred differences of ``J = sum(a * R)`` w.r.t. the input's valid steps and every
    parameter."""
    def J():
        return float(np.sum(conv.forward(batch).data * R))

    grads = []
    for arr in [batch.data, *conv.params]:
        g = np.zeros_like(arr)
        it = np.nditer(arr, flags=["multi_index"])
        for _ in it:
            idx = it.multi_index
            if arr is batch.data and not batch.mask[idx[:2]]:
                continue
            old = arr[idx]
            arr[idx] = old + eps
            plus = J()
            arr[idx] = old - eps
            minus = J()
            arr[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def rel_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12)


@pytest.mark.parametrize("k,dilation", [(1, 1), (3, 1), (4, 1), (3, 2), (2, 3)])
@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid"])
def test_gradients_match_finite_differences(k, dilation, activation):
    rng = np.random.default_rng(k + 10 * dilation)
    batch = ragged_batch(rng, LENGTHS, 2)
    conv = layer(rng, k, 2, 3, dilation, activation)
    conv.params[0] *= 0.5
    R = rng.standard_normal((7, 3, 3))  # nonzero at padded steps too: they must be ignored
    conv.forward(batch)
    dx = conv.backward(R.copy()).copy()
    analytic = [dx, *(g.copy() for g in conv.grads)]
    numeric = numerical_gradients(conv, batch, R)
    for name, a, n in zip(("x", "W", "b"), analytic, numeric, strict=True):
        assert rel_error(a, n) < 1e-6, name
    assert np.all(dx[~batch.mask] == 0)


def test_need_input_grad_false_fills_grads():
    rng = np.random.default_rng(4)
    batch = ragged_batch(rng, LENGTHS, 2)
    conv = layer(rng, 3, 2, 2)
    da = rng.standard_normal((7, 3, 2))
    conv.forward(batch)
    conv.backward(da.copy())
    expected = [g.copy() for g in conv.grads]
    conv.forward(batch)
    assert conv.backward(da.copy(), need_input_grad=False) is None
    for g, e in zip(conv.grads, expected, strict=True):
        np.testing.assert_array_equal(g, e)


def test_a_sequence_alone_equals_it_padded_among_longer_ones():
    rng = np.random.default_rng(5)
    c_in, c_out = 3, 2
    conv = layer(rng, 4, c_in, c_out, dilation=2, activation="tanh")
    x = rng.standard_normal((4, 1, c_in))
    da = rng.standard_normal((4, 1, c_out))
    out_alone = conv.forward(SequenceBatch(x.copy(), np.array([4]))).data.copy()
    dx_alone = conv.backward(da.copy()).copy()
    grads_alone = [g.copy() for g in conv.grads]

    batch = ragged_batch(rng, [9, 4, 6], c_in, fill=7.0)
    batch.data[:4, 1] = x[:, 0]
    batch.data[4:, 1] = 123.0   # nonsense at its padded steps
    DA = np.zeros((9, 3, c_out))
    DA[:4, 1] = da[:, 0]
    DA[4:, 1] = 55.0            # ignored: padded steps
    out = conv.forward(batch).data
    np.testing.assert_allclose(out[:4, 1], out_alone[:, 0], rtol=1e-13, atol=1e-14)
    assert np.all(out[4:, 1] == 0)
    dx = conv.backward(DA)
    np.testing.assert_allclose(dx[:4, 1], dx_alone[:, 0], rtol=1e-13, atol=1e-14)
    assert np.all(dx[4:, 1] == 0)
    np.testing.assert_allclose(dx[:, [0, 2]], 0)
    for g, g0 in zip(conv.grads, grads_alone, strict=True):
        np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-13)


def test_buffers_are_reused_between_batches():
    rng = np.random.default_rng(6)
    conv = layer(rng, 3, 2, 2)
    out1 = conv.forward(ragged_batch(rng, [6, 5], 2)).data
    out2 = conv.forward(ragged_batch(rng, [5, 2], 2)).data
    assert np.shares_memory(out1, out2)


def test_layer_protocol_and_validation():
    rng = np.random.default_rng(7)
    conv = layer(rng, 5, 4, 6)
    assert conv.param_names == ("W", "b")
    assert conv.penalized == (True, False)
    assert conv.flops == 5 * 4 * 6
    assert [g.shape for g in conv.grads] == [(5, 4, 6), (6,)]
    with pytest.raises(ValueError, match="shape \\(k, c_in, c_out\\)"):
        Conv1D(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="b must be"):
        Conv1D(np.zeros((3, 2, 4)), np.zeros(3))
    with pytest.raises(ValueError, match="dilation"):
        Conv1D(np.zeros((3, 2, 4)), np.zeros(4), dilation=0)
    with pytest.raises(ValueError, match="activation"):
        Conv1D(np.zeros((3, 2, 4)), np.zeros(4), activation="softmax")
    with pytest.raises(ValueError, match="expects 4 input channels"):
        conv.forward(ragged_batch(rng, [3], 2))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_init_conv1d(activation):
    rng = np.random.RandomState(0)
    W, b = init_conv1d(5, 8, 16, rng, np.float32, activation=activation)
    assert W.shape == (5, 8, 16) and W.dtype == np.float32 and W.flags.c_contiguous
    assert b.shape == (16,) and b.dtype == np.float32 and np.all(b == 0)
    r = np.sqrt(6 / 40) if activation in RELU_FAMILY else np.sqrt(6 / (40 + 80))
    assert np.abs(W).max() <= r
    assert np.abs(W).max() > 0.9 * r


# ---------------------------------------------------------------------- GlobalPool


def pool_loops(X, lengths, mode):
    """Mean or max over each sequence's valid steps, a loop over sequences and channels."""
    T, m, c = X.shape
    out = np.zeros((m, c))
    for i in range(m):
        for j in range(c):
            steps = [X[t, i, j] for t in range(lengths[i])]
            if steps:
                out[i, j] = sum(steps) / len(steps) if mode == "avg" else max(steps)
    return out


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("fill", [0.0, 1e9, np.inf, np.nan])
def test_global_pool_sequences_match_loops(mode, fill):
    rng = np.random.default_rng(10)
    batch = ragged_batch(rng, [7, 4, 1, 0], 3, fill=fill)
    clean = np.where(batch.mask[:, :, None], batch.data, 0.0)
    pool = GlobalPool(mode)
    out = pool.forward(batch)
    assert out.shape == (4, 3)
    assert pool.last_input is batch
    np.testing.assert_allclose(out, pool_loops(clean, batch.lengths, mode), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_array_equal(out[3], 0)  # a sequence of length 0 pools to 0
    dx = pool.backward(rng.standard_normal((4, 3)))
    assert dx.shape == (7, 4, 3)
    assert np.all(np.isfinite(dx)) and np.all(dx[~batch.mask] == 0)


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_global_pool_images_match_loops(mode):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((2, 3, 4, 5))
    out = GlobalPool(mode).forward(X)
    expected = np.array([[(np.mean if mode == "avg" else np.max)(X[i, :, :, j])
                          for j in range(5)] for i in range(2)])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


def pool_numerical_gradient(pool, X, R, data, eps=1e-6):
    g = np.zeros_like(data)
    it = np.nditer(data, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = data[idx]
        data[idx] = old + eps
        plus = float(np.sum(pool.forward(X) * R))
        data[idx] = old - eps
        minus = float(np.sum(pool.forward(X) * R))
        data[idx] = old
        g[idx] = (plus - minus) / (2 * eps)
    return g


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("images", [False, True])
def test_global_pool_gradients(mode, images):
    rng = np.random.default_rng(12)
    if images:
        X = rng.standard_normal((2, 3, 2, 3))  # distinct values: the max is unique
        data, valid = X, np.ones(X.shape, dtype=bool)
    else:
        X = ragged_batch(rng, [5, 3, 1], 3)
        data, valid = X.data, np.broadcast_to(X.mask[:, :, None], X.data.shape)
    pool = GlobalPool(mode)
    R = rng.standard_normal((data.shape[0] if images else 3, 3))
    pool.forward(X)
    dx = pool.backward(R).copy()
    numeric = pool_numerical_gradient(pool, X, R, data) * valid
    assert dx.shape == data.shape
    assert rel_error(dx, numeric) < 1e-6


def test_global_pool_max_tie_sends_gradient_to_one_step():
    X = np.zeros((3, 1, 2))
    X[:, 0, 0] = [1.0, 5.0, 5.0]
    pool = GlobalPool("max")
    out = pool.forward(SequenceBatch(X, np.array([3])))
    np.testing.assert_array_equal(out, [[5.0, 0.0]])
    dx = pool.backward(np.array([[2.0, 3.0]]))
    assert dx[:, 0, 0].sum() == 2.0 and np.count_nonzero(dx[:, 0, 0]) == 1
    assert dx[:, 0, 1].sum() == 3.0 and np.count_nonzero(dx[:, 0, 1]) == 1


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_global_pool_alone_equals_padded(mode):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 1, 4))
    pool = GlobalPool(mode)
    alone = pool.forward(SequenceBatch(x.copy(), np.array([3]))).copy()
    dx_alone = pool.backward(np.ones((1, 4))).copy()
    batch = ragged_batch(rng, [6, 3], 4, fill=50.0)
    batch.data[:3, 1] = x[:, 0]
    batch.data[3:, 1] = 99.0
    np.testing.assert_allclose(pool.forward(batch)[1], alone[0], rtol=1e-15)
    dx = pool.backward(np.ones((2, 4)))
    np.testing.assert_allclose(dx[:3, 1], dx_alone[:, 0], rtol=1e-15)
    assert np.all(dx[3:, 1] == 0)


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_global_pool_keeps_float32(mode):
    rng = np.random.default_rng(14)
    batch = ragged_batch(rng, LENGTHS, 3, dtype=np.float32)
    pool = GlobalPool(mode)
    assert pool.forward(batch).dtype == np.float32
    assert pool.backward(np.ones((3, 3), dtype=np.float32)).dtype == np.float32
    images = rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    assert pool.forward(images).dtype == np.float32
    assert pool.backward(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_class_activation_map_averages_to_the_dense_output():
    rng = np.random.default_rng(15)
    batch = ragged_batch(rng, LENGTHS, 3, fill=8.0)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    pool = GlobalPool("avg")
    y = pool.forward(batch) @ W + b
    cam = pool.class_activation_map(W)
    assert cam.shape == (7, 3, 2)
    assert np.all(cam[~batch.mask] == 0)
    for i, L in enumerate(LENGTHS):
        np.testing.assert_allclose(cam[:L, i].mean(axis=0) + b, y[i], rtol=1e-13)
    images = rng.standard_normal((2, 3, 3, 3))
    y = pool.forward(images) @ W
    np.testing.assert_allclose(pool.class_activation_map(W).mean(axis=(1, 2)), y, rtol=1e-13)
    with pytest.raises(ValueError, match="mode='avg'"):
        GlobalPool("max").class_activation_map(W)


def test_global_pool_validation():
    with pytest.raises(ValueError, match="'avg' or 'max'"):
        GlobalPool("sum")
    with pytest.raises(ValueError, match="SequenceBatch"):
        GlobalPool().forward(np.zeros((3, 4)))


def test_conv_then_pool_gradient():
    """Conv1D -> GlobalPool('max') -> sum: the chain's input gradient by finite differences."""
    rng = np.random.default_rng(16)
    batch = ragged_batch(rng, [5, 3, 1], 2)
    conv, pool = layer(rng, 3, 2, 3, activation="tanh"), GlobalPool("max")
    R = rng.standard_normal((3, 3))

    def J():
        return float(np.sum(pool.forward(conv.forward(batch)) * R))

    J()
    dx = conv.backward(pool.backward(R)).copy()
    numeric = np.zeros_like(dx)
    eps = 1e-6
    for t, i, j in zip(*np.nonzero(np.broadcast_to(batch.mask[:, :, None], dx.shape)),
                       strict=True):
        old = batch.data[t, i, j]
        batch.data[t, i, j] = old + eps
        plus = J()
        batch.data[t, i, j] = old - eps
        minus = J()
        batch.data[t, i, j] = old
        numeric[t, i, j] = (plus - minus) / (2 * eps)
    assert rel_error(dx, numeric) < 1e-6
