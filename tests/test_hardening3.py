"""Hardening issue, items 5-9, 12, 13 and 15: what the engine, the CNN and gradient_check
must do (items 3 and 4, divergence, are in test_divergence.py).

Every test below failed before the fixes (this file run against the code without them),
except one guard: a wrong gradient is still caught on images with kinks.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from sknnedu import CNNClassifier, NNClassifier, NNRegressor, gradient_check
from sknnedu.nn.layers import Dropout

DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
X, Y = DIGITS_X[:400] / 16, DIGITS_Y[:400]


def quiet(est, method, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(est, method)(*args, **kwargs)


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


# ------------------------------------------- 5. warm_start with early stopping keeps this fit


@pytest.mark.parametrize("make", [
    lambda: NNClassifier((32,), max_iter=60, learning_rate_init=0.01, random_state=0),
    lambda: NNRegressor(hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.01,
                        random_state=0),
    lambda: tiny_cnn(max_iter=30, learning_rate_init=0.01),
], ids=["NNClassifier", "NNRegressor", "CNNClassifier"])
def test_a_warm_started_fit_with_early_stopping_keeps_its_own_best_epoch(make):
    # a second task, learnt in 3 epochs to below the first task's best validation score:
    # its weights were discarded for those of the start of the fit
    est = make().set_params(early_stopping=True)
    target = Y / 9.0 if isinstance(est, NNRegressor) else Y
    quiet(est, "fit", X, target)
    upside_down = X.reshape(-1, 8, 8)[:, ::-1].reshape(len(X), -1)
    n_before, before = len(est.validation_scores_), est.score(upside_down, target)
    quiet(est.set_params(warm_start=True, max_iter=3), "fit", upside_down, target)
    assert est.best_validation_score_ == max(est.validation_scores_[n_before:])
    assert est.score(upside_down, target) > before + 0.05


# ------------------------------------------------- 6. image_shape under warm_start/partial_fit


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


# -------------------------------------------------------- 7. uint8 images are never copied whole


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


# ------------------------------------------------- 8. dropout masks do not depend on the dtype


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


# --------------------------------------------- 9. the input scale of very large or small pixels


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


# ------------------------------------------------- 12. warnings name the caller's line


def _warned(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught, "no warning"
    return caught


WARNING_CASES = {
    "max_iter": (lambda: NNClassifier((4,), max_iter=1).fit(X, Y), ConvergenceWarning),
    "max_iter, CNN": (lambda: tiny_cnn(max_iter=1).fit(X[:50], Y[:50]), ConvergenceWarning),
    "lbfgs": (lambda: NNRegressor(hidden_layer_sizes=(4,), solver="lbfgs",
                                  max_iter=1).fit(X, Y), ConvergenceWarning),
    "batch_size": (lambda: NNClassifier((4,), batch_size=1000).partial_fit(
        X, Y, classes=np.arange(10)), UserWarning),
    "column y": (lambda: NNClassifier((4,), max_iter=1).fit(X, Y[:, None]),
                 DataConversionWarning),
    "non-square rows": (lambda: tiny_cnn(max_iter=1).fit(X[:50, :60], Y[:50]), UserWarning),
    "early-stopping divergence": (lambda: NNRegressor(
        hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1,
        max_iter=20, early_stopping=True, random_state=0).fit(X, Y * 1.0), ConvergenceWarning),
}


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_warnings_name_the_callers_line(case):
    call, category = WARNING_CASES[case]
    with np.errstate(all="ignore"):
        caught = _warned(call)
    assert any(issubclass(w.category, category) for w in caught)
    assert [(w.filename, str(w.message)[:60]) for w in caught
            if w.filename != __file__] == []


# ------------------------------------------------- 13. gradient_check at a kink of the loss


def test_gradient_check_leaves_out_parameters_on_a_kink():
    # zero backgrounds: exact ties in max-pooling windows, ReLU inputs at exactly 0
    est = tiny_cnn(conv_layers=((2, 3),), hidden_layer_sizes=(4,))
    with pytest.warns(UserWarning, match=r"\d+ of the 80 parameters checked are left out"):
        err = gradient_check(est, X[:10], Y[:10], n_params=80)
    assert err < 1e-5


def test_gradient_check_on_images_with_kinks_still_catches_a_wrong_gradient(monkeypatch):
    from sknnedu.nn import conv_layers

    real = conv_layers.Conv2D.backward

    def wrong(self, da, need_input_grad=True):
        out = real(self, da, need_input_grad)
        self.grads[0] *= 1.5
        return out

    monkeypatch.setattr(conv_layers.Conv2D, "backward", wrong)
    est = tiny_cnn(conv_layers=((2, 3),), hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert gradient_check(est, X[:10], Y[:10], n_params=80) > 1e-2


# ------------------------------------------ 15. early-stopping split errors speak of y


def test_a_stratified_split_error_names_the_labels_of_y():
    Xs = np.random.RandomState(0).randn(12, 3)
    with pytest.raises(ValueError, match=r"at least 2 samples of each class; "
                                         r"class\(es\) \['dog'\] of y have 1"):
        NNClassifier((4,), early_stopping=True).fit(Xs, ["cat"] * 11 + ["dog"])
    with pytest.raises(ValueError, match=r"training part would have 1 of the 4 samples.*"
                                         r"one of each of the 2 classes \['cat', 'dog'\]"):
        NNClassifier((4,), early_stopping=True, validation_fraction=0.6).fit(
            Xs[:4], ["cat", "dog", "cat", "dog"])


def test_a_split_that_leaves_only_zero_weights_says_so():
    Xs = np.random.RandomState(0).randn(20, 3)
    ys = np.tile([0, 1], 10)
    messages = set()
    for seed in range(20):
        sw = np.zeros(20)
        sw[[0, 1]] = 1.0  # two samples of non-zero weight
        try:
            quiet(NNClassifier((4,), early_stopping=True, validation_fraction=0.5, max_iter=2,
                               random_state=seed), "fit", Xs, ys, sample_weight=sw)
        except ValueError as exc:
            messages.add(str(exc).split(" (")[0])
    assert messages == {"early_stopping=True held out 10 of the 20 samples, and every sample "
                        "of the training part has weight 0",
                        "early_stopping=True held out 10 of the 20 samples, and every sample "
                        "of the validation part has weight 0"}
