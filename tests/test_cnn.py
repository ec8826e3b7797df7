"""CNNClassifier: end-to-end training through conv and pooling layers."""

import pickle

import numpy as np
import pytest
from quiet_fits import quiet_fit
from sklearn.datasets import load_digits
from sklearn.utils.validation import check_is_fitted

from sknnedu import CNNClassifier, ConvFeatureTransformer, gradient_check
from sknnedu.nn.conv import avg_pool2d, conv2d, max_pool2d
from sknnedu.persistence import load_model, save_model

RNG = np.random.RandomState(0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16).astype(np.float32), y[:400]


def small_cnn(**kw):
    params = dict(conv_layers=((4, 3), (6, 3)), hidden_layer_sizes=(16,), max_iter=5,
                  random_state=0)
    return CNNClassifier(**{**params, **kw})


# ------------------------------------------------------------- the fitted model


def _manual_proba(cnn, images):
    """The forward pass rebuilt from the fitted arrays with the core functions."""
    a = images.astype(np.float64) / cnn.input_scale_
    for K, b in zip(cnn.conv_kernels_, cnn.conv_intercepts_):
        z = conv2d(a, K, padding=cnn.padding) + b
        a = np.maximum(z, 0)
        a = (max_pool2d if cnn.pooling == "max" else avg_pool2d)(a, cnn.pool_size)
    a = a.reshape(len(a), -1)  # C order of (h, w, c)
    for W, b in zip(cnn.coefs_[:-1], cnn.intercepts_[:-1]):
        a = np.maximum(a @ W + b, 0)
    z = a @ cnn.coefs_[-1] + cnn.intercepts_[-1]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_predict_reads_the_fitted_arrays_as_they_are(digits, pooling):
    X, y = digits
    cnn = quiet_fit(small_cnn(pooling=pooling), X, y)
    assert [K.shape for K in cnn.conv_kernels_] == [(4, 3, 3, 1), (6, 3, 3, 4)]
    assert [b.shape for b in cnn.conv_intercepts_] == [(4,), (6,)]
    assert cnn.image_shape_ == (8, 8, 1)
    assert cnn.feature_map_shapes_ == [(4, 4, 4), (2, 2, 6)]
    assert cnn.coefs_[0].shape == (2 * 2 * 6, 16)
    images = X[:20].reshape(20, 8, 8, 1)
    np.testing.assert_allclose(cnn.predict_proba(X[:20]), _manual_proba(cnn, images),
                               rtol=1e-4, atol=1e-5)
    # editing a kernel changes the predictions accordingly: the arrays are the model
    cnn.conv_kernels_[0][0] *= -3
    np.testing.assert_allclose(cnn.predict_proba(X[:20]), _manual_proba(cnn, images),
                               rtol=1e-4, atol=1e-5)


def test_two_three_and_four_d_input_agree(digits):
    X, y = digits
    flat = quiet_fit(small_cnn(), X, y)
    three = quiet_fit(small_cnn(), X.reshape(-1, 8, 8), y)
    four = quiet_fit(small_cnn(), X.reshape(-1, 8, 8, 1), y)
    for other in (three, four):
        for a, b in zip(flat.conv_kernels_ + flat.coefs_, other.conv_kernels_ + other.coefs_):
            np.testing.assert_array_equal(a, b)
    P = flat.predict_proba(X[:10])
    np.testing.assert_allclose(four.predict_proba(X[:10].reshape(-1, 8, 8, 1)), P)
    np.testing.assert_allclose(four.predict_proba(X[:10]), P)  # rows read as images too
    assert four.n_features_in_ == 64


def test_colour_images_and_image_shape():
    X = RNG.rand(40, 6, 5, 3).astype(np.float32)
    y = RNG.randint(0, 2, 40)
    cnn = quiet_fit(small_cnn(conv_layers=((3, (3, 2)),)), X, y)
    assert cnn.conv_kernels_[0].shape == (3, 3, 2, 3)
    assert cnn.image_shape_ == (6, 5, 3)
    rows = quiet_fit(small_cnn(conv_layers=((3, (3, 2)),), image_shape=(6, 5, 3)),
                     X.reshape(40, -1), y)
    np.testing.assert_allclose(rows.predict_proba(X.reshape(40, -1)), cnn.predict_proba(X),
                               rtol=1e-5)


def test_float32_stays_float32(digits):
    X, y = digits
    cnn = quiet_fit(small_cnn(), X, y)
    for a in cnn.conv_kernels_ + cnn.conv_intercepts_ + cnn.coefs_ + cnn.intercepts_:
        assert a.dtype == np.float32
    assert cnn.predict_proba(X[:5]).dtype == np.float32


def test_kernels_transplant_into_the_feature_transformer(digits):
    X, y = digits
    cnn = quiet_fit(small_cnn(), X, y)
    conv = ConvFeatureTransformer(filters=cnn.conv_kernels_[0], image_shape=(8, 8),
                                  activation="identity", pooling=None, standardize=False)
    maps = conv.fit_transform(X[:5]).reshape(5, 8, 8, 4)
    expected = conv2d(X[:5].reshape(5, 8, 8, 1), cnn.conv_kernels_[0], padding="same")
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)


def test_binary_multilabel_and_sample_weight(digits):
    X, y = digits
    binary = quiet_fit(small_cnn(), X, y > 4)
    assert binary.predict_proba(X[:3]).shape == (3, 2)
    Y = np.stack([y % 2, y > 4], axis=1).astype(int)
    multi = quiet_fit(small_cnn(), X, Y)
    assert multi.predict(X[:3]).shape == (3, 2)
    w = quiet_fit(small_cnn(), X, y, sample_weight=np.linspace(0.1, 2, len(y)))
    assert not np.allclose(w.coefs_[0], quiet_fit(small_cnn(), X, y).coefs_[0])


def test_partial_fit_and_warm_start(digits):
    X, y = digits
    cnn = small_cnn()
    for _ in range(3):
        cnn.partial_fit(X, y, classes=np.arange(10))
    assert cnn.n_iter_ == 1 and cnn.t_ == 3 * len(X)
    warm = quiet_fit(small_cnn(warm_start=True), X, y)
    before = warm.conv_kernels_[0].copy()
    quiet_fit(warm, X, y)
    assert not np.array_equal(before, warm.conv_kernels_[0])
    warm.set_params(conv_layers=((5, 3), (6, 3)))
    with pytest.raises(ValueError, match="architecture"):
        warm.fit(X, y)


def test_learns_digits(digits):
    X, y = digits
    cnn = quiet_fit(CNNClassifier(((8, 3),), (32,), max_iter=30, random_state=0), X[:300],
                    y[:300])
    assert cnn.score(X[300:], y[300:]) > 0.85
    assert len(cnn.gradient_norms_[-1]) == 3  # conv layer first, then the dense ones
    assert cnn.loss_curve_[-1] < cnn.loss_curve_[0]


def test_persistence(tmp_path, digits):
    X, y = digits
    cnn = quiet_fit(small_cnn(), X, y)
    path = tmp_path / "cnn.skops"
    save_model(cnn, path)
    loaded = load_model(path)
    model = loaded.model if hasattr(loaded, "model") else loaded
    np.testing.assert_array_equal(model.predict_proba(X[:10]), cnn.predict_proba(X[:10]))
    again = pickle.loads(pickle.dumps(cnn))
    np.testing.assert_array_equal(again.predict_proba(X[:10]), cnn.predict_proba(X[:10]))


# ------------------------------------------------------------------- gradients

GC_X = RNG.randn(10, 6, 6)
GC_Y = RNG.randint(0, 3, 10)


@pytest.mark.parametrize("act", ["relu", "leakyrelu", "tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("pooling", ["max", "avg", None])
def test_backprop_through_conv_and_pool(act, pooling):
    # random inputs: no ties inside a pooling window, where max has a kink
    est = CNNClassifier(((2, 3), (3, 2)), (4,), activation=act, pooling=pooling,
                        init="glorot", random_state=0)
    assert gradient_check(est, GC_X, GC_Y) < 1e-5


@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("stride", [1, 2])
def test_backprop_padding_stride_channels_alpha_weights(padding, stride):
    X = RNG.randn(8, 7, 6, 2)
    y = RNG.randint(0, 2, 8)
    est = CNNClassifier(((3, (3, 2), "tanh"),), (4,), padding=padding, stride=stride,
                        alpha=0.3, init="glorot", random_state=1)
    assert gradient_check(est, X, y, sample_weight=RNG.rand(8)) < 1e-5


def test_gradient_check_catches_a_wrong_conv_gradient(monkeypatch):
    from sknnedu import conv_layers

    real = conv_layers.Conv2D.backward

    def wrong(self, da, need_input_grad=True):
        out = real(self, da, need_input_grad)
        self.grads[0] *= 1.5
        return out

    monkeypatch.setattr(conv_layers.Conv2D, "backward", wrong)
    est = CNNClassifier(((2, 3),), (4,), activation="tanh", random_state=0)
    assert gradient_check(est, GC_X, GC_Y) > 1e-2


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("conv_layers, match", [
    ("abc", "conv_layers must be a sequence"),
    ([(4,)], r"conv_layers\[0\] must be"),
    ([(4, 3), (0, 3)], r"conv_layers\[1\] must be"),
    ([(4, (3, 3, 3))], r"conv_layers\[0\] must be"),
    ([(4, 3, "swish")], "Unknown activation of conv layer 0"),
])
def test_malformed_conv_layers(conv_layers, match, digits):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        CNNClassifier(conv_layers).fit(X[:20], y[:20])


@pytest.mark.parametrize("params, match", [
    (dict(pooling="median"), "pooling must be"),
    (dict(activation="swish"), "Unknown activation"),
    (dict(pool_size=0), "pool_size must be"),
    (dict(image_shape=(9, 9)), r"image_shape \(9, 9\) needs 81 features; X has 64"),
    (dict(image_shape=(8, -8)), "image_shape must be"),
    (dict(conv_layers=((4, 3),) * 2, pool_size=3),
     "runs out of pixels at the pooling after conv layer 1"),
    (dict(conv_layers=((4, 9),), padding="valid"), "runs out of pixels at conv layer 0"),
])
def test_bad_parameters_are_named(params, match, digits):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**params).fit(X[:20], y[:20])


def test_predict_on_images_of_another_shape(digits):
    X, y = digits
    cnn = quiet_fit(small_cnn(), X, y)
    with pytest.raises(ValueError, match=r"images of shape \(7, 8, 1\)"):
        cnn.predict(np.zeros((2, 7, 8)))
    with pytest.raises(ValueError, match="X has 63 features"):
        cnn.predict(np.zeros((2, 63)))


def test_diverging_run_is_a_clear_error_and_leaves_it_unfitted(digits):
    X, y = digits
    cnn = small_cnn(learning_rate_init=1e6, max_iter=20)
    with pytest.raises(ValueError, match="diverged.*Lower learning_rate_init"):
        cnn.fit(X, y)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(cnn)


def test_raw_pixels_train_as_well_as_scaled_ones(digits):
    # the input is rescaled per channel by its root mean square in training
    X, y = digits
    scaled = quiet_fit(small_cnn(), X, y)
    raw = quiet_fit(small_cnn(), X * 255, y)
    np.testing.assert_allclose(raw.input_scale_, scaled.input_scale_ * 255, rtol=1e-4)
    np.testing.assert_allclose(scaled.input_scale_, [np.sqrt(np.mean(X.astype(float) ** 2))],
                               rtol=1e-5)
    np.testing.assert_allclose(raw.predict_proba(X * 255), scaled.predict_proba(X),
                               rtol=1e-3, atol=1e-4)


def test_non_square_rows_warn_about_the_guessed_geometry():
    X = RNG.rand(20, 12)
    with pytest.warns(UserWarning, match="1 x 12 grayscale strip"):
        quiet_fit(small_cnn(), X, RNG.randint(0, 2, 20))


def test_defaults_serve_on_faces():
    # scikit-image's 25x25 faces and non-faces (shipped with it): no tuning, raw or scaled
    from skimage.data import lfw_subset

    X = lfw_subset()
    y = np.array([1] * 100 + [0] * 100)
    order = np.random.RandomState(0).permutation(200)
    train, test = order[:150], order[150:]
    for scale in (1.0, 255.0):
        cnn = quiet_fit(CNNClassifier(random_state=0, max_iter=40), X[train] * scale, y[train])
        assert cnn.score(X[test] * scale, y[test]) > 0.9


def test_warm_start_refuses_a_change_of_pooling(digits):
    X, y = digits
    cnn = quiet_fit(small_cnn(warm_start=True), X, y)
    cnn.set_params(pooling="avg")
    with pytest.raises(ValueError, match="architecture"):
        cnn.fit(X, y)
