"""sknnedu.nn.geometry: output sizes and 'same' padding against a brute-force count of the
kernel's positions, pad2d against np.pad, window against indexing, and the one check of
ints, pairs and image shapes that every function, layer and estimator shares (the same
mistake gets the same message everywhere)."""

import itertools
import warnings

import numpy as np
import pytest

from sknnedu import CNNClassifier, ConvFeatureTransformer
from sknnedu.nn.conv import pad2d
from sknnedu.nn.geometry import (
    check_int,
    conv_geometry,
    pad_widths,
    pair,
    pool_geometry,
    resolve_image_shape,
    window,
)

# ----------------------------------------------------------------------------------------- pad2d


@pytest.mark.parametrize(
    "padding, widths", [(0, ((0, 0), (0, 0))), (2, ((2, 2), (2, 2))), (((1, 0), (0, 3)),) * 2]
)
@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 3)])
@pytest.mark.parametrize("value, dtype", [(0.0, np.float64), (255, np.uint8), (-1.5, np.float32)])
def test_pad2d_matches_np_pad(padding, widths, shape, value, dtype):
    x = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    expected = np.pad(x, ((0, 0), *widths) + ((0, 0),) * (len(shape) - 3), constant_values=value)
    out = pad2d(x, padding, value=value)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, expected)


def test_pad2d_errors():
    with pytest.raises(ValueError, match=r"got an array of shape \(3, 3\)"):
        pad2d(np.ones((3, 3)), 1)
    for bad in (-1, 1.5, ((1, 2),), ((1, 2), (3, -1)), "same"):
        with pytest.raises(ValueError, match="padding must be an int >= 0 or"):
            pad2d(np.ones((1, 3, 3)), bad)


# -------------------------------------------- ints: the one check, and the callers that share it


def test_check_int_and_pair():
    assert check_int(np.int64(3), "stride") == 3 and type(check_int(np.int64(3), "s")) is int
    assert check_int(0, "padding", 0) == 0
    for bad in (0, True, 1.0, "1", None):
        with pytest.raises(ValueError, match=r"^stride must be an int >= 1, got "):
            check_int(bad, "stride")
    assert pair(2, "size") == (2, 2) and pair([2, 3], "size") == (2, 3)
    with pytest.raises(ValueError, match="size must be an int >= 1, got 0"):
        pair((2, 0), "size")


# ------------------------------------ image shapes: how rows are read as images, by every caller


def test_resolve_image_shape_reads_rows_and_images():
    assert resolve_image_shape((5, 64)) == (8, 8, 1)
    assert resolve_image_shape((5, 48), (4, 4, 3)) == (4, 4, 3)
    assert resolve_image_shape((5, 12), [3, 4]) == (3, 4, 1)
    assert resolve_image_shape((5, 6, 7)) == (6, 7, 1)
    assert resolve_image_shape((5, 6, 7, 3), (6, 7, 3)) == (6, 7, 3)
    assert resolve_image_shape((5, 6, 7), (6, 7)) == (6, 7, 1)


def test_resolve_image_shape_warns_for_a_strip_and_names_a_colour_square():
    with pytest.warns(UserWarning, match=r"1 x 12 grayscale strip") as record:
        assert resolve_image_shape((2, 12)) == (1, 12, 1)
    assert "colour" in str(record[0].message)  # 12 = 2 x 2 x 3
    with pytest.warns(UserWarning) as record:
        resolve_image_shape((2, 10))
    assert "colour" not in str(record[0].message)


@pytest.mark.parametrize("data_shape, image_shape, message", [
    ((2, 64), (9, 9), r"image_shape \(9, 9\) needs 81 features; X has 64\.$"),
    ((2, 48), (4, 4), r"needs 16 features; X has 48; for 3 channels use image_shape=\(4, 4, 3\)"),
    ((2, 4), (4, 0), "image_shape must be None, (h, w) or (h, w, c)"),
    ((2, 4), 16, "image_shape must be"),
    ((2, 4), (2, 2, 1, 1), "image_shape must be"),
    ((2, 4), (2.0, 2), "image_shape must be"),
    ((2, 5, 5), (4, 4), r"does not match the images in X, of shape \(5, 5, 1\)"),
])
def test_resolve_image_shape_errors(data_shape, image_shape, message):
    with pytest.raises(ValueError, match=message.replace("(h, w)", r"\(h, w\)")
                       .replace("(h, w, c)", r"\(h, w, c\)")):
        resolve_image_shape(data_shape, image_shape)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning", "ignore:batch_size")
@pytest.mark.parametrize("make", [
    lambda shape: CNNClassifier(((2, 3),), (4,), max_iter=1, image_shape=shape),
    lambda shape: ConvFeatureTransformer(image_shape=shape),
], ids=["CNNClassifier", "ConvFeatureTransformer"])
def test_both_estimators_read_images_with_the_one_resolver(make):
    X, y = np.random.default_rng(0).random((6, 48)), np.arange(6) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert make((4, 4, 3)).fit(X, y).image_shape_ == (4, 4, 3)
        assert make(None).fit(X.reshape(6, 4, 4, 3), y).image_shape_ == (4, 4, 3)
    with pytest.raises(ValueError, match=r"needs 16 features; X has 48; for 3 channels"):
        make((4, 4)).fit(X, y)
    with pytest.warns(UserWarning, match=r"1 x 48 grayscale strip.*image_shape=\(4, 4, 3\)"):
        try:
            make(None).fit(X, y)
        except ValueError:  # a 1 x 48 strip may be too small for the layers: the warning counts
            pass


# ------------------------------------------------ output sizes against a brute-force count
def _count_positions(size, kernel, stride):
    """How many windows of ``kernel`` fit in ``size`` at steps of ``stride``: one by one."""
    n, start = 0, 0
    while start + kernel <= size:
        n, start = n + 1, start + stride
    return n


AXES = list(itertools.product(range(1, 8), range(1, 5), range(1, 4)))  # (h, fh, sh)


@pytest.mark.parametrize("padding, pads", [
    (0, ((0, 0), (0, 0))), ("valid", ((0, 0), (0, 0))), (2, ((2, 2), (2, 2))),
    (((1, 0), (0, 2)), ((1, 0), (0, 2))), ([[0, 3], [1, 1]], ((0, 3), (1, 1)))],
    ids=["0", "valid", "2", "pairs", "lists"])
def test_conv_output_sizes_are_the_count_of_kernel_positions(padding, pads):
    for (h, fh, sh), (w, fw, sw) in zip(AXES, AXES[::-1]):
        hp, wp = h + sum(pads[0]), w + sum(pads[1])
        if hp < fh or wp < fw:
            with pytest.raises(ValueError, match=f"image {h}x{w} is smaller than kernel "
                                                 f"{fh}x{fw}"):
                conv_geometry((h, w), (fh, fw), (sh, sw), padding)
            continue
        got_pads, out = conv_geometry((h, w), (fh, fw), (sh, sw), padding)
        assert got_pads == pads
        assert out == (_count_positions(hp, fh, sh), _count_positions(wp, fw, sw))


def test_same_padding_is_the_least_that_gives_ceil_size_over_stride():
    for h, fh, sh in AXES:
        pads, out = conv_geometry((h, 5), (fh, 1), (sh, 1), "same")
        wanted = -(-h // sh)
        total = next(p for p in range(fh + sh) if _count_positions(h + p, fh, sh) == wanted)
        assert out[0] == wanted and sum(pads[0]) == total
        assert pads[0] == (total // 2, total - total // 2)  # the odd row at the bottom
        assert pads[1] == (0, 0) and out[1] == 5  # a 1-wide kernel at stride 1 needs none


def test_pool_output_sizes_are_the_count_of_window_positions():
    for (h, ph, sh), (w, pw, sw) in zip(AXES, AXES[::-1]):
        if ph > h or pw > w:
            with pytest.raises(ValueError, match="smaller than the pooling window"):
                pool_geometry((h, w), (ph, pw), (sh, sw))
            continue
        expected = (_count_positions(h, ph, sh), _count_positions(w, pw, sw))
        assert pool_geometry((h, w), (ph, pw), (sh, sw)) == expected
        assert pool_geometry((h, w), (ph, pw)) == (  # the stride defaults to the window
            _count_positions(h, ph, ph), _count_positions(w, pw, pw))


@pytest.mark.parametrize("stride", [(1, 1), (2, 1), (3, 2)])
def test_window_is_the_kernel_offset_of_every_output_pixel(stride):
    x = np.random.default_rng(0).standard_normal((2, 9, 8, 3))
    (fh, fw), (sh, sw) = (3, 2), stride
    _, out_hw = conv_geometry((9, 8), (fh, fw), stride)
    for u in range(fh):
        for v in range(fw):
            view = window(x, u, v, stride, out_hw)
            assert view.shape == (2, *out_hw, 3)
            for i in range(out_hw[0]):
                for j in range(out_hw[1]):
                    np.testing.assert_array_equal(view[:, i, j], x[:, i * sh + u, j * sw + v])


def test_pad_widths_of_an_int_and_of_pairs():
    assert pad_widths(3) == ((3, 3), (3, 3))
    assert pad_widths(np.int64(0)) == ((0, 0), (0, 0))
    assert pad_widths([[1, 2], (0, 4)]) == ((1, 2), (0, 4))
