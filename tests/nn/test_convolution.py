"""sknnedu.nn.convolution: conv2d, conv_pool2d and conv2d_backward against independent
references (scipy's correlate2d, plain loops over every term of the sum, centred finite
differences), whole, chunked and threaded."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from references import loop_pool, numerical_gradient
from scipy.signal import correlate2d

import sknnedu.nn.conv as conv
from sknnedu.nn import convolution, threads
from sknnedu.nn.activations import ACTIVATIONS
from sknnedu.nn.conv import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    conv_pool2d,
    max_pool2d,
    max_pool2d_backward,
)

# ------------------------------------------------------------------------------------ references


def same_pads(size, kernel, stride):
    """TensorFlow's 'same': output ceil(size / stride), the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return (total // 2, total - total // 2)


def reference_conv(x, kernels, stride, pads):
    """scipy correlate2d 'valid' per image, kernel and channel, summed over channels,
    then subsampled for the stride."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n, _, _, c = x.shape
    out = []
    for i in range(n):
        maps = []
        for kernel in kernels:
            full = sum(
                correlate2d(x[i, :, :, ch], kernel[:, :, ch], mode="valid") for ch in range(c)
            )
            maps.append(full[::stride, ::stride])
        out.append(np.stack(maps, axis=-1))
    return np.stack(out)


def loop_conv_backward(dz, x, kernels, stride, pads):
    """dx, dK, db of ``z = conv2d(x, K) + b`` with plain loops over every term of the sum."""
    (t, b), (l, r) = pads
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    dxp = np.zeros_like(xp)
    dk = np.zeros_like(kernels)
    n, oh, ow, k = dz.shape
    _, fh, fw, _ = kernels.shape
    for a in range(n):
        for i in range(oh):
            for j in range(ow):
                for f in range(k):
                    g = dz[a, i, j, f]
                    rows = slice(i * stride, i * stride + fh)
                    cols = slice(j * stride, j * stride + fw)
                    dk[f] += g * xp[a, rows, cols]
                    dxp[a, rows, cols] += g * kernels[f]
    h, w = x.shape[1:3]
    return dxp[:, t : t + h, l : l + w], dk, dz.sum(axis=(0, 1, 2))


def resolve_pads(padding, h, w, fh, fw, stride):
    return conv.conv_geometry((h, w), (fh, fw), stride, padding)[0]


# ---------------------------------------------------------------------------------------- conv2d


@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    c, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.integers(0, 2),
            st.tuples(
                st.tuples(st.integers(0, 2), st.integers(0, 2)),
                st.tuples(st.integers(0, 2), st.integers(0, 2)),
            ),
        )
    )
    if padding == "same":
        pads = (same_pads(h, fh, stride), same_pads(w, fw, stride))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    elif isinstance(padding, int):
        pads = ((padding, padding), (padding, padding))
    else:
        pads = padding
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c))
    kernels = rng.standard_normal((k, fh, fw, c))
    block = draw(st.sampled_from([None, 1, 2, 3, 5]))  # output columns per im2col row
    return x, kernels, stride, padding, pads, block


def blocked(block, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with ``convolution.BLOCK_WIDTH = block``."""
    saved = convolution.BLOCK_WIDTH
    convolution.BLOCK_WIDTH = block
    try:
        return fn(*args, **kwargs)
    finally:
        convolution.BLOCK_WIDTH = saved


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_conv2d_matches_scipy_correlate2d(case):
    x, kernels, stride, padding, pads, block = case
    fits = (
        x.shape[1] + sum(pads[0]) >= kernels.shape[1]
        and x.shape[2] + sum(pads[1]) >= (kernels.shape[2])
    )
    if not fits:
        with pytest.raises(ValueError, match="is smaller than kernel"):
            conv2d(x, kernels, stride=stride, padding=padding)
        return
    out = blocked(block, conv2d, x, kernels, stride=stride, padding=padding)
    expected = reference_conv(x, kernels, stride, pads)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(conv_cases())
def test_shared_kernels_equal_kernels_repeated_over_channels(case):
    x, kernels, stride, _, pads, block = case
    shared = kernels[..., 0]
    repeated = np.repeat(shared[..., None], x.shape[3], axis=3)
    if x.shape[1] + sum(pads[0]) < shared.shape[1] or x.shape[2] + sum(pads[1]) < shared.shape[2]:
        return
    np.testing.assert_allclose(
        blocked(block, conv2d, x, shared, stride=stride, padding=pads),
        conv2d(x, repeated, stride=stride, padding=pads),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("h, w", [(5, 5), (6, 7), (1, 4), (2, 2)])
@pytest.mark.parametrize("f", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_output_size(h, w, f, stride):
    out = conv2d(np.ones((1, h, w)), np.ones((1, f, f)), stride=stride, padding="same")
    assert out.shape == (1, -(-h // stride), -(-w // stride), 1)


@pytest.mark.parametrize("f", [1, 3, 5])
def test_same_padding_matches_scipy_same_for_odd_kernels(f):
    rng = np.random.default_rng(f)
    x, kernel = rng.standard_normal((7, 9)), rng.standard_normal((f, f))
    out = conv2d(x[None], kernel[None], padding="same")[0, :, :, 0]
    np.testing.assert_allclose(out, correlate2d(x, kernel, mode="same"), atol=1e-12)


def test_same_padding_even_kernel_puts_extra_row_at_the_end():
    # 2x2 box sum with 'same': pads (0, 1) per axis, so out[i, j] = sum x[i:i+2, j:j+2]
    x = np.arange(9.0).reshape(1, 3, 3)
    out = conv2d(x, np.ones((1, 2, 2)), padding="same")[0, :, :, 0]
    np.testing.assert_array_equal(out, [[8, 12, 7], [20, 24, 13], [13, 15, 8]])


def test_grayscale_images_and_channel_of_one_agree():
    rng = np.random.default_rng(0)
    x, kernels = rng.random((2, 6, 6)), rng.random((3, 3, 3))
    np.testing.assert_array_equal(conv2d(x, kernels), conv2d(x[..., None], kernels[..., None]))


def test_is_a_cross_correlation_not_a_convolution():
    x = np.zeros((1, 3, 3))
    x[0, 1, 1] = 1.0
    kernel = np.arange(9.0).reshape(1, 3, 3)
    # correlating an impulse gives the kernel flipped; a convolution would give it as is
    out = conv2d(x, kernel, padding=1)[0, :, :, 0]
    np.testing.assert_array_equal(out, kernel[0, ::-1, ::-1])


def test_accepts_lists():
    out = conv2d([[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 1.0], [1.0, 1.0]]])
    np.testing.assert_array_equal(out, [[[[10.0]]]])


# ---------------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.int64, np.float64),
        (np.uint8, np.float64),
        (bool, np.float64),
    ],
)
def test_dtypes(dtype, expected):
    x = np.ones((2, 4, 4, 3), dtype=dtype)
    kernels = np.ones((2, 3, 3, 3))  # float64 kernels do not upcast float32 images
    assert conv2d(x, kernels).dtype == expected
    assert conv_pool2d(x, kernels, activation="relu", pooling="max").dtype == expected
    assert max_pool2d(x, 2).dtype == expected
    assert avg_pool2d(x, 2).dtype == expected


def test_float32_close_to_float64():
    rng = np.random.default_rng(1)
    x, kernels = rng.random((3, 10, 10, 3)), rng.standard_normal((4, 5, 5, 3))
    out32 = conv2d(x.astype(np.float32), kernels.astype(np.float32), padding="same")
    np.testing.assert_allclose(out32, conv2d(x, kernels, padding="same"), rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------------------------------- chunking


@pytest.mark.parametrize(
    "kernel_shape, padding", [((4, 3, 3, 2), "same"), ((4, 3, 3), "same"), ((2, 2, 2, 2), 0)]
)
@pytest.mark.parametrize("pooling", [None, "max", "avg"])
@pytest.mark.parametrize("block", [1, 3])
def test_chunking_gives_identical_results(monkeypatch, kernel_shape, padding, pooling, block):
    monkeypatch.setattr(convolution, "BLOCK_WIDTH", block)
    rng = np.random.default_rng(2)
    x, kernels = rng.random((13, 9, 8, 2)), rng.standard_normal(kernel_shape)
    kwargs = dict(padding=padding, activation="tanh", pooling=pooling, pool_size=3, pool_stride=2)
    whole = conv_pool2d(x, kernels, **kwargs)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)  # one image per chunk
    assert threads.chunk_size(len(x), 1000) == 1
    np.testing.assert_allclose(conv_pool2d(x, kernels, **kwargs), whole, rtol=1e-14, atol=0)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 3 * 9 * 8 * 36 * 8)  # chunks of a few images
    np.testing.assert_allclose(conv_pool2d(x, kernels, **kwargs), whole, rtol=1e-14, atol=0)
    np.testing.assert_allclose(max_pool2d(x, 2), loop_pool(x, 2, 2, np.max), rtol=0, atol=0)


@pytest.mark.parametrize("block", [None, 1, 2, 4, 7, 100])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_block_widths_agree(monkeypatch, block, stride, padding):
    rng = np.random.default_rng(7)
    x, kernels = rng.standard_normal((3, 11, 13, 2)), rng.standard_normal((5, 3, 4, 2))
    if padding == "same":
        pads = (same_pads(11, 3, stride), same_pads(13, 4, stride))
    else:
        pads = ((0, 0), (0, 0))
    expected = reference_conv(x, kernels, stride, pads)
    monkeypatch.setattr(convolution, "BLOCK_WIDTH", block)
    out = conv2d(x, kernels, stride=stride, padding=padding)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    pooled = conv_pool2d(x, kernels, stride=stride, padding=padding, pooling="max", pool_size=2)
    np.testing.assert_allclose(pooled, max_pool2d(expected, 2), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n_threads", [None, 1, 2, 3])
def test_threads_give_identical_results(monkeypatch, n_threads):
    rng = np.random.default_rng(8)
    x, kernels = rng.random((11, 9, 10, 3)), rng.standard_normal((4, 3, 3, 3))
    kwargs = dict(padding="same", activation="relu", pooling="max")
    monkeypatch.setattr(threads, "N_THREADS", 1)
    expected = conv_pool2d(x, kernels, **kwargs)
    monkeypatch.setattr(threads, "N_THREADS", n_threads)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)  # 11 chunks shared by the threads
    np.testing.assert_allclose(conv_pool2d(x, kernels, **kwargs), expected, rtol=1e-14)
    np.testing.assert_array_equal(max_pool2d(x, 3), loop_pool(x, 3, 3, np.max))


def test_runs_with_single_threaded_blas(monkeypatch):
    monkeypatch.setattr(threads, "blas_threads", lambda: 1)
    assert threads.n_workers(10) == 1
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)
    x, kernels = np.ones((3, 4, 4)), np.ones((1, 3, 3))
    np.testing.assert_array_equal(conv2d(x, kernels), np.full((3, 2, 2, 1), 9.0))


def test_non_contiguous_input():
    rng = np.random.default_rng(3)
    x = rng.random((4, 12, 10, 3))[:, ::2, ::-1]  # strided, reversed view
    kernels = rng.standard_normal((2, 3, 3, 3))
    np.testing.assert_allclose(
        conv2d(x, kernels), conv2d(np.ascontiguousarray(x), kernels), rtol=1e-14
    )


# ---------------------------------------------------------------------------------- fused helper


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"softmax"}))
@pytest.mark.parametrize("pooling", ["max", "avg", None])
def test_conv_pool2d_is_conv_then_activation_then_pooling(activation, pooling):
    rng = np.random.default_rng(4)
    x, kernels = rng.standard_normal((3, 9, 9, 2)), rng.standard_normal((4, 3, 3, 2))
    z = conv2d(x, kernels, stride=1, padding="same")
    a = ACTIVATIONS[activation](z.copy())
    expected = {
        "max": lambda: max_pool2d(a, 3, stride=2),
        "avg": lambda: avg_pool2d(a, 3, stride=2),
        None: lambda: a,
    }[pooling]()
    out = conv_pool2d(
        x,
        kernels,
        padding="same",
        activation=activation,
        pooling=pooling,
        pool_size=3,
        pool_stride=2,
    )
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "images, kernels, kwargs, match",
    [
        (
            np.ones((4, 4)),
            np.ones((1, 3, 3)),
            {},
            r"\(n, h, w, c\).*got an array of shape \(4, 4\)",
        ),
        (np.ones((1, 4, 4, 3)), np.ones((3, 3)), {}, r"kernels must be .* shape \(3, 3\)"),
        (np.ones((1, 4, 4, 3)), np.ones((1, 3, 3, 2)), {}, "kernels have 2 channel.*images have 3"),
        (
            np.ones((1, 3, 3)),
            np.ones((1, 5, 5)),
            {"padding": "valid"},
            "image 3x3 is smaller than kernel 5x5 with padding 'valid'",
        ),
        (np.ones((1, 3, 3)), np.ones((1, 5, 4)), {"padding": 0}, "3x3 is smaller than kernel 5x4"),
        (
            np.ones((1, 4, 4)),
            np.ones((1, 3, 3)),
            {"stride": 0},
            "stride must be an int >= 1, got 0",
        ),
        (np.ones((1, 4, 4)), np.ones((1, 3, 3)), {"stride": 1.5}, "stride must be an int"),
        (np.ones((1, 4, 4)), np.ones((1, 3, 3)), {"padding": "full"}, "Unknown padding 'full'"),
        (np.ones((1, 4, 4)), np.ones((1, 3, 3)), {"padding": -1}, "padding must be an int >= 0"),
        (np.full((1, 4, 4), np.nan), np.ones((1, 3, 3)), {}, "images contain NaN or inf"),
        (np.full((1, 4, 4), np.inf), np.ones((1, 3, 3)), {}, "images contain NaN or inf"),
        (np.ones((1, 4, 4)), np.full((1, 3, 3), np.nan), {}, "kernels contain NaN"),
        (np.ones((1, 4, 4), dtype=complex), np.ones((1, 3, 3)), {}, "must be numeric"),
        (np.ones((1, 4, 4)), np.ones((0, 3, 3)), {}, "must not be empty"),
    ],
)
def test_conv2d_errors(images, kernels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d(images, kernels, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "softmax"}, "Unknown activation 'softmax'"),
        ({"activation": "nope"}, "Unknown activation"),
        ({"pooling": "min"}, "Unknown pooling 'min'"),
        ({"pooling": "max", "pool_size": 0}, "pool_size must be an int >= 1"),
        ({"pooling": "max", "pool_size": 5}, "image 4x4 is smaller than the pooling window 5x5"),
    ],
)
def test_conv_pool2d_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_pool2d(np.ones((1, 4, 4)), np.ones((1, 3, 3)), padding="same", **kwargs)


# ----------------------------------------------------------- regressions (issue 11, items 11-12)


def _extra_peak_bytes(fn, *args, **kwargs):
    """Peak memory ``fn`` allocates beyond its result (tracemalloc sees numpy's buffers)."""
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - out.nbytes


@pytest.mark.parametrize(
    "fn, kwargs",
    [
        (conv2d, {"kernels": np.ones((1, 3, 3, 3))}),
        (conv_pool2d, {"kernels": np.ones((2, 3, 3, 3)), "pooling": "max", "pool_size": 4}),
        (max_pool2d, {"size": 4}),
        (avg_pool2d, {"size": 4}),
    ],
)
def test_integer_images_are_converted_chunk_by_chunk(fn, kwargs):
    """Item 11: uint8 images used to get a full float64 copy (8x their size)."""
    x = np.random.default_rng(0).integers(0, 256, (3000, 32, 32, 3), dtype=np.uint8)
    full_copy = x.size * 8  # 74 MB
    extra = _extra_peak_bytes(fn, x, **kwargs)
    assert extra < full_copy / 4, f"{extra / 2**20:.1f} MiB extra for uint8 images"


@pytest.mark.parametrize(
    "fn, kwargs, shape",
    [
        (conv2d, {"kernels": np.ones((2, 3, 3, 1))}, (0, 3, 3, 2)),
        (conv2d, {"kernels": np.ones((2, 3, 3)), "padding": "same"}, (0, 5, 5, 2)),
        (conv_pool2d, {"kernels": np.ones((2, 3, 3, 1)), "pooling": "max"}, (0, 1, 1, 2)),
        (conv_pool2d, {"kernels": np.ones((2, 3, 3, 1)), "pooling": "avg"}, (0, 1, 1, 2)),
        (max_pool2d, {"size": 2}, (0, 2, 2, 1)),
        (avg_pool2d, {"size": 2}, (0, 2, 2, 1)),
    ],
)
def test_empty_batch_gives_empty_result(fn, kwargs, shape):
    """Item 12: n = 0 used to fail with 'range() arg 3 must not be zero'."""
    for dtype in (np.float32, np.uint8):
        out = fn(np.zeros((0, 5, 5, 1), dtype=dtype), **kwargs)
        assert out.shape == shape
        assert out.dtype == (np.float32 if dtype == np.float32 else np.float64)


# ------------------------------------------------------------------------------- conv2d_backward


@st.composite
def backward_cases(draw):
    n, c, k = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(fh, 7)), draw(st.integers(fw, 7))
    stride = draw(st.integers(1, 3))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same"]),
            st.integers(0, 2),
            st.tuples(
                st.tuples(st.integers(0, 2), st.integers(0, 2)),
                st.tuples(st.integers(0, 2), st.integers(0, 2)),
            ),
        )
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c))
    kernels = rng.standard_normal((k, fh, fw, c))
    return x, kernels, stride, padding


@settings(max_examples=60, deadline=None)
@given(backward_cases())
def test_conv2d_backward_matches_loops(case):
    x, kernels, stride, padding = case
    z = conv2d(x, kernels, stride=stride, padding=padding)
    dz = np.random.default_rng(0).standard_normal(z.shape)
    dx, dk, db = conv2d_backward(dz, x, kernels, stride=stride, padding=padding)
    pads = resolve_pads(padding, *x.shape[1:3], *kernels.shape[1:3], stride)
    ref_dx, ref_dk, ref_db = loop_conv_backward(dz, x, kernels, stride, pads)
    assert dx.shape == x.shape and dk.shape == kernels.shape and db.shape == (kernels.shape[0],)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dk, ref_dk, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, ref_db, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "stride, padding",
    [
        (1, "same"),
        (2, "same"),
        (1, "valid"),
        (2, "valid"),
        (2, ((1, 0), (2, 1))),
        (3, 1),
        ((1, 2), "same"),
        ((2, 1), ((0, 1), (2, 0))),
    ],
)
def test_conv2d_backward_matches_finite_differences(stride, padding):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 5, 2))
    kernels = rng.standard_normal((3, 3, 2, 2))
    bias = rng.standard_normal(3)
    weights = rng.standard_normal(conv2d(x, kernels, stride=stride, padding=padding).shape)

    def loss():  # J = sum(G * (conv2d(x, K) + b)), so dJ/dz = G
        return np.sum(weights * (conv2d(x, kernels, stride=stride, padding=padding) + bias))

    dx, dk, db = conv2d_backward(weights, x, kernels, stride=stride, padding=padding)
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dk, numerical_gradient(loss, kernels), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(db, numerical_gradient(loss, bias), rtol=1e-6, atol=1e-7)


def test_conv2d_backward_shared_kernels_and_grayscale():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 5, 3))
    shared = rng.standard_normal((2, 3, 3))
    dz = rng.standard_normal(conv2d(x, shared, padding="same").shape)
    dx, dk, _ = conv2d_backward(dz, x, shared, padding="same")
    repeated = np.repeat(shared[..., None], 3, axis=3)
    dx_rep, dk_rep, _ = conv2d_backward(dz, x, repeated, padding="same")
    assert dk.shape == shared.shape
    np.testing.assert_allclose(dx, dx_rep, rtol=1e-12)
    np.testing.assert_allclose(dk, dk_rep.sum(axis=3), rtol=1e-12)

    gray = x[..., 0]
    dx_gray, dk_gray, _ = conv2d_backward(dz, gray, shared, padding="same")
    dx_one, dk_one, _ = conv2d_backward(dz, gray[..., None], shared[..., None], padding="same")
    assert dx_gray.shape == gray.shape and dk_gray.shape == shared.shape
    np.testing.assert_allclose(dx_gray, dx_one[..., 0], rtol=1e-12)
    np.testing.assert_allclose(dk_gray, dk_one[..., 0], rtol=1e-12)


def test_conv2d_backward_float32_stays_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 8, 8, 2))
    kernels = rng.standard_normal((4, 3, 3, 2))
    dz = rng.standard_normal((3, 4, 4, 4))
    f32 = [a.astype(np.float32) for a in (dz, x, kernels)]
    out32 = conv2d_backward(*f32, stride=2, padding="same")
    out64 = conv2d_backward(dz, x, kernels, stride=2, padding="same")
    for a32, a64 in zip(out32, out64):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_conv2d_backward_chunks_and_threads_agree(monkeypatch, n_threads):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 6, 6, 2))
    kernels = rng.standard_normal((3, 3, 3, 2))
    dz = rng.standard_normal((7, 6, 6, 3))
    whole = conv2d_backward(dz, x, kernels, padding="same")
    monkeypatch.setattr(threads, "CHUNK_BYTES", 1)  # one image per chunk
    monkeypatch.setattr(threads, "N_THREADS", n_threads)
    for a, b in zip(conv2d_backward(dz, x, kernels, padding="same"), whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_conv2d_backward_integer_images():
    x = np.arange(2 * 5 * 5, dtype=np.uint8).reshape(2, 5, 5, 1)
    kernels, dz = np.ones((2, 3, 3, 1)), np.ones((2, 3, 3, 2))
    for a, b in zip(conv2d_backward(dz, x, kernels), conv2d_backward(dz, x.astype(float), kernels)):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def test_conv2d_backward_empty_batch():
    dx, dk, db = conv2d_backward(
        np.zeros((0, 4, 4, 2)), np.zeros((0, 4, 4, 1)), np.ones((2, 3, 3, 1)), padding="same"
    )
    assert dx.shape == (0, 4, 4, 1)
    np.testing.assert_array_equal(dk, np.zeros((2, 3, 3, 1)))
    np.testing.assert_array_equal(db, np.zeros(2))


def test_conv2d_backward_checks_dout_shape():
    with pytest.raises(ValueError, match=r"dout must have the shape .*\(1, 3, 3, 2\)"):
        conv2d_backward(np.zeros((1, 4, 4, 2)), np.zeros((1, 5, 5, 1)), np.ones((2, 3, 3, 1)))


def test_float64_dout_with_float32_images_gives_float32():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    kernels = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    dz = rng.standard_normal((2, 6, 6, 3))
    for grad in conv2d_backward(dz, x, kernels, padding="same"):
        assert grad.dtype == np.float32
    dp = rng.standard_normal((2, 3, 3, 2))
    assert max_pool2d_backward(dp, x, 2).dtype == np.float32
    assert avg_pool2d_backward(dp, x, 2).dtype == np.float32
    np.testing.assert_allclose(
        max_pool2d_backward(dp, x, 2), max_pool2d_backward(dp.astype(np.float32), x, 2)
    )


@pytest.mark.parametrize("padding", ["valid", "same", ((2, 0), (1, 1))])
def test_input_gradient_is_full_correlation_with_the_flipped_kernel(padding):
    """For stride 1: dxp = conv2d(dz padded by (fh - 1, fw - 1), K flipped, channels swapped)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 7, 6, 3))
    kernels = rng.standard_normal((4, 3, 2, 3))
    dz = rng.standard_normal(conv2d(x, kernels, padding=padding).shape)
    dx, _, _ = conv2d_backward(dz, x, kernels, padding=padding)
    flipped = kernels[:, ::-1, ::-1, :].transpose(3, 1, 2, 0)  # K'[ch, u', v', k]
    full = conv2d(dz, flipped, padding=((2, 2), (1, 1)))  # the padded input's gradient
    (t, _), (l, _) = resolve_pads(padding, 7, 6, 3, 2, 1)
    np.testing.assert_allclose(dx, full[:, t : t + 7, l : l + 6], rtol=1e-12, atol=1e-12)
