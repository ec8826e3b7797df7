"""sknnedu._conv_body, the conv body that CNNClassifier and CNNRegressor share: how it reads
images (their shape under warm_start and partial_fit, uint8 images batch by batch, the
input scale of extreme pixels) and the words of its errors about image sizes."""

import re
import tracemalloc

import numpy as np
import pytest
from quiet_fits import quiet
from sklearn.datasets import load_digits

from sknnedu import CNNClassifier

DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
X, Y = DIGITS_X[:400] / 16, DIGITS_Y[:400]


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


# -------------------------------- hardening item 6: image_shape under warm_start and partial_fit


def test_a_changed_image_shape_is_refused_under_warm_start_and_partial_fit():
    cnn = quiet(tiny_cnn(max_iter=1), "fit", X, Y)  # 64 features: 8 x 8
    cnn.set_params(image_shape=(4, 16), warm_start=True)
    with pytest.raises(ValueError, match=r"image_shape changed from the fitted model's "
                                         r"\(8, 8, 1\) to \(4, 16\)"):
        cnn.fit(X, Y)
    with pytest.raises(ValueError, match="image_shape changed"):
        cnn.partial_fit(X, Y)
    assert cnn.image_shape_ == (8, 8, 1)
    for same in [(8, 8), (8, 8, 1), None]:  # the fitted geometry, said or not
        quiet(cnn.set_params(image_shape=same), "partial_fit", X, Y)


# ----------------------------------------- hardening item 7: uint8 images are never copied whole


def _peaks(images, labels):
    """Peak memory allocated by fit, and by predict_proba beyond its result."""
    cnn = CNNClassifier(((2, 3),), (4,), max_iter=1, batch_size=256, random_state=0)
    tracemalloc.start()
    try:
        quiet(cnn, "fit", images, labels)
        fit_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        P = cnn.predict_proba(images)
        predict_peak = tracemalloc.get_traced_memory()[1] - P.nbytes
    finally:
        tracemalloc.stop()
    return cnn, fit_peak, predict_peak


def test_uint8_images_are_converted_batch_by_batch():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(12000, 8, 8, 3)).astype(np.uint8)
    labels = (images[:, :4].mean(axis=(1, 2, 3)) > images[:, 4:].mean(axis=(1, 2, 3)))
    float_copy = images.size * 8  # what a float64 copy of X takes: 18 MB
    _, fit_small, predict_small = _peaks(images[:3000], labels[:3000])
    cnn, fit_peak, predict_peak = _peaks(images, labels)
    # four times the images: the extra memory does not grow with them
    assert fit_peak - fit_small < 0.1 * float_copy
    assert predict_peak - predict_small < 0.1 * float_copy
    assert max(fit_peak, predict_peak) < float_copy / 2
    # and the numbers are those of the float64 images
    np.testing.assert_array_equal(cnn.predict_proba(images),
                                  cnn.predict_proba(images.astype(np.float64)))
    models = [quiet(CNNClassifier(((2, 3),), (4,), max_iter=1, batch_size=256,
                                  random_state=0), "fit", X_, labels[:2000])
              for X_ in (images[:2000], images[:2000].astype(np.float64))]
    assert models[0].coefs_[0].dtype == np.float64
    for a, b in zip(models[0]._params(), models[1]._params()):
        np.testing.assert_array_equal(a, b)


# -------------------------- hardening item 9: the input scale of very large or very small pixels


@pytest.mark.parametrize("factor", [1e-300, 1e-170, 1e-160, 1e155, 1e170, 1e300])
def test_the_input_scale_of_extreme_pixels(factor):
    ref = quiet(tiny_cnn(max_iter=3), "fit", X, Y)
    cnn = quiet(tiny_cnn(max_iter=3), "fit", X * factor, Y)
    np.testing.assert_allclose(cnn.input_scale_ / factor, ref.input_scale_, rtol=1e-12)
    np.testing.assert_allclose(cnn.predict_proba(X * factor), ref.predict_proba(X),
                               atol=1e-6)


@pytest.mark.parametrize("X_bad, dtype", [(X * 1e-310, "float64"),
                                          ((X * 1e-39).astype(np.float32), "float32")])
def test_pixels_too_small_to_rescale_are_refused(X_bad, dtype):
    with pytest.raises(ValueError, match=f"pixels of X are too small to rescale in {dtype}"):
        tiny_cnn(max_iter=1).fit(X_bad, Y)


# ---------------------------------- hardening item 18: the words of the errors about image sizes


@pytest.mark.parametrize(("conv_layers", "image", "layer", "pool_hint"), [
    (((2, 5),), 4, 0, False),          # the first layer's kernel is larger than the image
    (((2, 3), (2, 3)), 4, 1, True),    # 4 -> 2 (valid 3x3) -> 1 (pooled): too small for 3x3
])
def test_valid_padding_error_reads_once_and_names_what_helps(conv_layers, image, layer,
                                                            pool_hint):
    # the message embedded conv_geometry's own ("...padding='same'.).") and always told
    # to shrink pool_size, which cannot help the first layer
    X = np.random.default_rng(0).random((4, image * image))
    cnn = CNNClassifier(conv_layers, padding="valid", image_shape=(image, image), max_iter=1)
    with pytest.raises(ValueError) as info:
        cnn.fit(X, [0, 1, 0, 1])
    message = str(info.value)
    assert message.startswith(f"The image runs out of pixels at conv layer {layer}: ")
    assert ".)" not in message and ".." not in message
    assert len(re.findall("padding='same'", message)) == 1
    assert ("pool_size" in message) == pool_hint
