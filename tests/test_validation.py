"""The one check of each name and shape, and the callers that share it.

check_activation (sknnedu.nn.activations), check_pooling (sknnedu.nn.pooling), check_int,
pair and resolve_image_shape (sknnedu.nn.geometry): every function, layer and estimator
that takes an activation, a pooling, an int or reads rows as images calls these, so the
same mistake gets the same message everywhere.
"""

import warnings

import numpy as np
import pytest

from sknnedu import CNNClassifier, ConvFeatureTransformer
from sknnedu.nn.activations import ACTIVATIONS, DERIVATIVES, activation, check_activation
from sknnedu.nn.conv import conv_pool2d
from sknnedu.nn.conv_layers import Conv2D, Pool2D
from sknnedu.nn.convolution import MAP_ACTIVATIONS
from sknnedu.nn.geometry import check_int, pair, resolve_image_shape
from sknnedu.nn.pooling import POOLINGS, check_pooling


# ----------------------------------------------------------------------------- activations
def test_check_activation_accepts_the_table_and_lists_it_when_not():
    assert check_activation("relu") == "relu"
    assert check_activation(None, none=True) is None
    for bad in ("swish", None, 3, ["relu"]):
        with pytest.raises(ValueError, match=r"Unknown activation .*; expected one of \["):
            check_activation(bad)
    with pytest.raises(ValueError, match=r"Unknown activation of layer 2 'abs'; expected one"):
        check_activation("abs", DERIVATIVES, what="activation of layer 2")
    with pytest.raises(ValueError, match=r"expected None or one of \['abs'"):
        check_activation("softmax", MAP_ACTIVATIONS, none=True)
    assert set(MAP_ACTIVATIONS) == set(ACTIVATIONS) - {"softmax"}


@pytest.mark.parametrize("call", [
    lambda: activation("softplus", np.zeros(2)),
    lambda: conv_pool2d(np.ones((1, 3, 3)), np.ones((1, 2, 2)), activation="softplus"),
    lambda: Conv2D(np.ones((1, 2, 2, 1)), np.zeros(1), activation="softplus"),
    lambda: ConvFeatureTransformer(activation="softplus").fit(np.ones((2, 9))),
], ids=["activation", "conv_pool2d", "Conv2D", "ConvFeatureTransformer"])
def test_every_caller_checks_activations_the_same_way(call):
    with pytest.raises(ValueError, match=r"^Unknown activation 'softplus'; expected (None or )?"
                                         r"one of \['"):
        call()


# ----------------------------------------------------------------------------- pooling
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


# ----------------------------------------------------------------------------- ints
def test_check_int_and_pair():
    assert check_int(np.int64(3), "stride") == 3 and type(check_int(np.int64(3), "s")) is int
    assert check_int(0, "padding", 0) == 0
    for bad in (0, True, 1.0, "1", None):
        with pytest.raises(ValueError, match=r"^stride must be an int >= 1, got "):
            check_int(bad, "stride")
    assert pair(2, "size") == (2, 2) and pair([2, 3], "size") == (2, 3)
    with pytest.raises(ValueError, match="size must be an int >= 1, got 0"):
        pair((2, 0), "size")


# ----------------------------------------------------------------------------- image shapes
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
