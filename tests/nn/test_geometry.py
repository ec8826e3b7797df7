"""sknnedu.nn.geometry: pad2d against np.pad, and the one check of ints, pairs and image
shapes that every function, layer and estimator shares (the same mistake gets the same
message everywhere)."""

import warnings

import numpy as np
import pytest

from sknnedu import CNNClassifier, ConvFeatureTransformer
from sknnedu.nn.conv import pad2d
from sknnedu.nn.geometry import check_int, pair, resolve_image_shape

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
