"""sknnedu.nn.pooling: max and average pooling and their backward passes against plain
loops and centred finite differences, square and rectangular windows and strides, through
the public functions and through the building blocks the layers use; check_pooling, which
every caller shares."""

import numpy as np
import pytest
from references import loop_pool, loop_pool_backward, numerical_gradient

from sknnedu import ConvFeatureTransformer
from sknnedu.nn.conv import (
    avg_pool2d,
    avg_pool2d_backward,
    conv_pool2d,
    max_pool2d,
    max_pool2d_backward,
)
from sknnedu.nn.conv_layers import Pool2D
from sknnedu.nn.pooling import (
    POOLINGS,
    avg_pool_backward_into,
    check_pooling,
    max_pool_backward_into,
    max_pool_buffers,
    max_pool_forward_into,
    pool_into,
)

# --------------------------------------------------------------------------------------- forward


@pytest.mark.parametrize("size, stride", [(1, None), (2, None), (3, None), (2, 1), (3, 2), (2, 3)])
@pytest.mark.parametrize("shape", [(2, 7, 6, 3), (1, 4, 5, 1)])
def test_pooling_matches_loops(size, stride, shape):
    x = np.random.default_rng(5).standard_normal(shape)
    step = size if stride is None else stride
    np.testing.assert_array_equal(
        max_pool2d(x, size, stride=stride), loop_pool(x, size, step, np.max)
    )
    np.testing.assert_allclose(
        avg_pool2d(x, size, stride=stride),
        loop_pool(x, size, step, np.mean),
        rtol=1e-12,
        atol=1e-15,
    )


def test_pooling_grayscale_keeps_ndim():
    x = np.arange(32.0).reshape(2, 4, 4)
    assert max_pool2d(x, 2).shape == (2, 2, 2)
    np.testing.assert_array_equal(max_pool2d(x, 2), max_pool2d(x[..., None], 2)[..., 0])


def test_pooling_rectangular_windows():
    x = np.random.default_rng(6).standard_normal((2, 6, 6, 2))
    out = max_pool2d(x, (3, 1), stride=(3, 2))
    assert out.shape == (2, 2, 3, 2)
    np.testing.assert_array_equal(out, x.reshape(2, 2, 3, 6, 2).max(axis=2)[:, :, ::2])


@pytest.mark.parametrize("pool", [max_pool2d, avg_pool2d])
def test_pooling_errors(pool):
    with pytest.raises(ValueError, match="smaller than the pooling window 3x3"):
        pool(np.ones((1, 2, 5, 1)), 3)
    with pytest.raises(ValueError, match="size must be an int >= 1, got 0"):
        pool(np.ones((1, 4, 4)), 0)
    with pytest.raises(ValueError, match="stride must be an int >= 1"):
        pool(np.ones((1, 4, 4)), 2, stride=-1)
    with pytest.raises(ValueError, match=r"got an array of shape \(4,\)"):
        pool(np.ones(4), 2)
    with pytest.raises(ValueError, match="NaN"):
        pool(np.full((1, 4, 4), np.nan), 2)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e308), (np.float32, 2e38)])
def test_average_of_huge_values_does_not_overflow(dtype, big):
    """Item 13: the mean was a sum (inf) scaled afterwards."""
    x = np.full((1, 2, 2), big, dtype=dtype)
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(avg_pool2d(x, 2), np.full((1, 1, 1), big, dtype=dtype))
        fused = conv_pool2d(x, np.ones((1, 1, 1), dtype=dtype), pooling="avg")
    np.testing.assert_array_equal(fused, np.full((1, 1, 1, 1), big, dtype=dtype))
    np.testing.assert_allclose(avg_pool2d(-x, 2, stride=1), -x[:, :1, :1], rtol=1e-7)


# -------------------------------------------------------------------------------------- backward


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


# ----------------------------------- check_pooling: the one check, and the callers that share it


def test_check_pooling():
    assert [check_pooling(p) for p in (*POOLINGS, None)] == ["max", "avg", None]
    with pytest.raises(ValueError, match=r"Unknown pooling 'min'; expected 'max', 'avg' or None"):
        check_pooling("min")
    with pytest.raises(ValueError, match=r"Unknown pooling None; expected 'max' or 'avg'\."):
        check_pooling(None, none=False)
    with pytest.raises(ValueError, match="Unknown pooling"):
        check_pooling(np.array(["max"]))  # not compared elementwise


@pytest.mark.parametrize("call", [
    lambda: conv_pool2d(np.ones((1, 3, 3)), np.ones((1, 2, 2)), pooling="min"),
    lambda: Pool2D("min"),
    lambda: ConvFeatureTransformer(pooling="min").fit(np.ones((2, 9))),
], ids=["conv_pool2d", "Pool2D", "ConvFeatureTransformer"])
def test_every_caller_checks_poolings_the_same_way(call):
    with pytest.raises(ValueError, match=r"^Unknown pooling 'min'; expected 'max'"):
        call()


# ------------------------------------------- rectangular windows and strides, and the blocks
def _loop_pool_rect(x, size, stride, reduce):
    """Pooling of ``ph x pw`` windows at strides ``(sh, sw)``, one output pixel at a time."""
    (ph, pw), (sh, sw) = size, stride
    n, h, w, c = x.shape
    out = np.empty((n, (h - ph) // sh + 1, (w - pw) // sw + 1, c))
    for a, i, j, ch in np.ndindex(out.shape):
        out[a, i, j, ch] = reduce(x[a, i * sh:i * sh + ph, j * sw:j * sw + pw, ch])
    return out


def _loop_pool_rect_backward(dout, x, size, stride, kind):
    """Each window's gradient to its first maximum (row-major), or spread evenly."""
    (ph, pw), (sh, sw) = size, stride
    dx = np.zeros(x.shape)
    for a, i, j, ch in np.ndindex(dout.shape):
        g = dout[a, i, j, ch]
        if kind == "avg":
            dx[a, i * sh:i * sh + ph, j * sw:j * sw + pw, ch] += g / (ph * pw)
        else:
            u, v = divmod(int(np.argmax(x[a, i * sh:i * sh + ph, j * sw:j * sw + pw, ch])), pw)
            dx[a, i * sh + u, j * sw + v, ch] += g
    return dx


RECTANGLES = [((2, 3), (1, 2)), ((3, 1), (2, 1)), ((1, 2), (3, 3)), ((3, 2), (2, 2)),
              ((2, 2), (3, 1)), ((1, 1), (2, 3))]  # (size, stride): overlapping and gapped


def _images(ties, seed=9):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many windows with a tied maximum
        return rng.integers(0, 3, (2, 8, 7, 2)).astype(float)
    return rng.permutation(2 * 8 * 7 * 2).reshape(2, 8, 7, 2) / 10.0


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("size, stride", RECTANGLES, ids=str)
def test_rectangular_windows_and_strides_match_loops(size, stride, ties):
    x = _images(ties)
    dout = np.random.default_rng(1).standard_normal(_loop_pool_rect(x, size, stride,
                                                                     np.max).shape)
    np.testing.assert_array_equal(max_pool2d(x, size, stride=stride),
                                  _loop_pool_rect(x, size, stride, np.max))
    np.testing.assert_allclose(avg_pool2d(x, size, stride=stride),
                               _loop_pool_rect(x, size, stride, np.mean), rtol=1e-13)
    np.testing.assert_allclose(max_pool2d_backward(dout, x, size, stride=stride),
                               _loop_pool_rect_backward(dout, x, size, stride, "max"),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(avg_pool2d_backward(dout, x, size, stride=stride),
                               _loop_pool_rect_backward(dout, x, size, stride, "avg"),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("size, stride", RECTANGLES, ids=str)
def test_the_building_blocks_match_loops(size, stride):
    """What Pool2D and conv_pool2d run: no checks, written into the buffers they are given."""
    x = _images(ties=True, seed=10)
    expected_max = _loop_pool_rect(x, size, stride, np.max)
    dout = np.random.default_rng(2).standard_normal(expected_max.shape)
    bufs = {name: np.empty(shape, dtype)
            for name, (shape, dtype) in max_pool_buffers(x.shape, size, stride, x.dtype,
                                                         x.dtype).items()}
    np.testing.assert_array_equal(max_pool_forward_into(x, size, stride, bufs), expected_max)
    dx = np.full(x.shape, np.nan)
    max_pool_backward_into(dout, size, stride, bufs, dx)
    np.testing.assert_allclose(dx, _loop_pool_rect_backward(dout, x, size, stride, "max"),
                               rtol=1e-13, atol=1e-15)
    for kind, reduce in (("max", np.max), ("avg", np.mean)):
        out = np.empty_like(expected_max)
        pool_into(x.copy(), size, stride, kind, out)  # 'avg' scales its input in place
        np.testing.assert_allclose(out, _loop_pool_rect(x, size, stride, reduce), rtol=1e-13)
    dx = np.full(x.shape, np.nan)
    avg_pool_backward_into(dout, size, stride, dx, np.empty_like(dout))
    np.testing.assert_allclose(dx, _loop_pool_rect_backward(dout, x, size, stride, "avg"),
                               rtol=1e-13, atol=1e-15)
