"""conv2d_backward and the pooling backwards against plain loops and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sknnedu.nn.conv as conv
from sknnedu.nn import threads
from sknnedu.nn.conv import (
    avg_pool2d,
    avg_pool2d_backward,
    conv2d,
    conv2d_backward,
    max_pool2d,
    max_pool2d_backward,
)

# ----------------------------------------------------------------------------- references


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


def loop_pool_backward(dz, x, size, stride, kind):
    """Pooling gradient with loops; max: the first maximum in row-major window order."""
    dx = np.zeros_like(x)
    n, oh, ow, c = dz.shape
    for a in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    rows = slice(i * stride, i * stride + size)
                    cols = slice(j * stride, j * stride + size)
                    if kind == "avg":
                        dx[a, rows, cols, ch] += dz[a, i, j, ch] / size**2
                    else:
                        u, v = divmod(int(np.argmax(x[a, rows, cols, ch])), size)
                        dx[a, i * stride + u, j * stride + v, ch] += dz[a, i, j, ch]
    return dx


def numerical_gradient(f, x, eps=1e-6):
    """Centred differences of the scalar ``f`` at every entry of ``x`` (float64)."""
    grad = np.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for idx in range(flat.size):
        saved = flat[idx]
        flat[idx] = saved + eps
        plus = f()
        flat[idx] = saved - eps
        minus = f()
        flat[idx] = saved
        g[idx] = (plus - minus) / (2 * eps)
    return grad


def resolve_pads(padding, h, w, fh, fw, stride):
    return conv.conv_geometry((h, w), (fh, fw), stride, padding)[0]


# ------------------------------------------------------------------------------ conv2d


@st.composite
def conv_cases(draw):
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
@given(conv_cases())
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


# ------------------------------------------------------------------------------ pooling


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (2, 1), (3, 2), (2, 3), (1, None)])
@pytest.mark.parametrize("shape", [(2, 7, 6, 3), (1, 4, 5, 1)])
def test_pool_backward_matches_loops(kind, size, stride, shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    forward, backward = (
        (max_pool2d, max_pool2d_backward) if kind == "max" else (avg_pool2d, avg_pool2d_backward)
    )
    dz = rng.standard_normal(forward(x, size, stride=stride).shape)
    dx = backward(dz, x, size, stride=stride)
    step = size if stride is None else stride
    np.testing.assert_allclose(
        dx, loop_pool_backward(dz, x, size, step, kind), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, 2), (2, 1)])
def test_pool_backward_matches_finite_differences(kind, size, stride):
    rng = np.random.default_rng(6)
    x = rng.permutation(2 * 5 * 6 * 2).reshape(2, 5, 6, 2) / 7.0  # distinct: max is smooth
    forward, backward = (
        (max_pool2d, max_pool2d_backward) if kind == "max" else (avg_pool2d, avg_pool2d_backward)
    )
    weights = rng.standard_normal(forward(x, size, stride=stride).shape)
    numeric = numerical_gradient(lambda: np.sum(weights * forward(x, size, stride=stride)), x)
    np.testing.assert_allclose(backward(weights, x, size, stride=stride), numeric, atol=1e-7)


@pytest.mark.parametrize("stride", [None, 1])
def test_max_pool_ties_go_to_exactly_one_element(stride):
    x = np.zeros((2, 4, 4, 3))  # every window is one big tie
    dz = np.ones(max_pool2d(x, 2, stride=stride).shape)
    dx = max_pool2d_backward(dz, x, 2, stride=stride)
    assert dx.sum() == dz.sum()  # nothing duplicated, nothing lost
    if stride is None:  # disjoint windows: the first pixel of each window, once
        expected = np.zeros_like(x)
        expected[:, ::2, ::2] = 1
        np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(dx, loop_pool_backward(dz, x, 2, stride or 2, "max"))


def test_max_pool_tie_between_later_pixels_goes_to_the_first_of_them():
    x = np.array([[[0.0, 1.0], [1.0, 1.0]]])
    np.testing.assert_array_equal(
        max_pool2d_backward(np.ones((1, 1, 1)), x, 2)[0], [[0.0, 1.0], [0.0, 0.0]]
    )


@pytest.mark.parametrize("backward", [max_pool2d_backward, avg_pool2d_backward])
def test_pool_backward_dtypes_shapes_and_empty(backward):
    x = np.random.default_rng(7).standard_normal((2, 4, 4, 3))
    dz = np.ones((2, 2, 2, 3))
    assert backward(dz.astype(np.float32), x.astype(np.float32), 2).dtype == np.float32
    assert backward(dz, (x * 10).astype(np.uint8), 2).dtype == np.float64
    assert backward(dz[..., 0], x[..., 0], 2).shape == (2, 4, 4)
    assert backward(np.zeros((0, 2, 2, 3)), np.zeros((0, 4, 4, 3)), 2).shape == (0, 4, 4, 3)
    with pytest.raises(ValueError, match="dout must have the shape"):
        backward(np.ones((2, 3, 3, 3)), x, 2)


def test_avg_pool_backward_of_huge_gradients_does_not_overflow():
    dx = avg_pool2d_backward(np.full((1, 1, 1), 1e308), np.zeros((1, 2, 2)), 2)
    np.testing.assert_array_equal(dx, np.full((1, 2, 2), 0.25e308))


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
