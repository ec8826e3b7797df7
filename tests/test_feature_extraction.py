"""ConvFeatureTransformer: scikit-learn's checks, agreement with the functional core, errors;
odd inputs (finite output or a clean refusal, tests/odd_inputs.py), inputs never modified,
identical kernels from one random_state."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from odd_inputs import (
    EXTREME_IDS,
    EXTREMES,
    LAYOUTS,
    PROPERTY,
    Refused,
    assert_finite,
    assert_unchanged,
    extreme,
    make_values,
    matrix_specs,
    n_rows,
    outcome,
    snapshot,
    with_layout,
)
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknnedu.feature_extraction import DEFAULT_FILTERS, ConvFeatureTransformer
from sknnedu.filters import BANKS, filter_bank
from sknnedu.nn.activations import ACTIVATIONS
from sknnedu.nn.conv import avg_pool2d, conv2d, max_pool2d


@parametrize_with_checks(
    [
        ConvFeatureTransformer(),
        ConvFeatureTransformer(filters="random", pooling="avg"),
        ConvFeatureTransformer(filters="kmeans"),
    ]
)
@pytest.mark.filterwarnings("ignore:image_shape=None:UserWarning")  # the checks' tiny X
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, _ = load_digits(return_X_y=True)
    return X[:200] / 16.0


@pytest.fixture
def rgb_rows():
    return np.random.default_rng(0).random((6, 7 * 9 * 3))  # six 7x9 RGB images as rows


# ------------------------------------------------------------------- against the core


@pytest.mark.parametrize("activation", sorted(set(ACTIVATIONS) - {"softmax"}))
@pytest.mark.parametrize(
    "pooling, pool_size, pool_stride", [("max", 2, None), ("avg", 3, 2), (None, 2, None)]
)
@pytest.mark.parametrize("padding, stride", [("same", 1), ("valid", 1), ("same", 2), (1, 2)])
def test_equals_conv_then_activation_then_pooling(
    rgb_rows, activation, pooling, pool_size, pool_stride, padding, stride
):
    kernels = np.random.default_rng(1).standard_normal((4, 3, 2, 3))
    est = ConvFeatureTransformer(
        kernels,
        activation=activation,
        pooling=pooling,
        pool_size=pool_size,
        pool_stride=pool_stride,
        padding=padding,
        stride=stride,
        image_shape=(7, 9, 3),
        standardize=False,
    )
    out = est.fit_transform(rgb_rows)

    images = rgb_rows.reshape(-1, 7, 9, 3)
    a = ACTIVATIONS[activation](conv2d(images, kernels, stride=stride, padding=padding))
    if pooling == "max":
        a = max_pool2d(a, pool_size, stride=pool_stride)
    elif pooling == "avg":
        a = avg_pool2d(a, pool_size, stride=pool_stride)
    assert est.output_shape_ == a.shape[1:]
    assert out.shape == (len(images), a[0].size)
    np.testing.assert_allclose(out, a.reshape(len(images), -1), rtol=1e-12, atol=1e-12)


def test_named_bank_is_shared_over_channels(rgb_rows):
    est = ConvFeatureTransformer("edges", image_shape=(7, 9, 3), pooling=None,
                                 activation="identity", standardize=False)
    out = est.fit_transform(rgb_rows)
    gray = rgb_rows.reshape(-1, 7, 9, 3).sum(axis=-1)
    expected = conv2d(gray, filter_bank("edges"), padding="same")
    np.testing.assert_allclose(out, expected.reshape(len(gray), -1), atol=1e-12)
    assert est.kernels_.shape == (len(BANKS["edges"]), 3, 3, 3)
    assert est.kernels_.dtype == np.float64


def test_image_arrays_equal_rows(rgb_rows):
    images = rgb_rows.reshape(-1, 7, 9, 3)
    rows = ConvFeatureTransformer(image_shape=(7, 9, 3)).fit_transform(rgb_rows)
    est = ConvFeatureTransformer().fit(images)
    assert est.image_shape_ == (7, 9, 3)
    assert est.n_features_in_ == 7 * 9 * 3
    np.testing.assert_array_equal(est.transform(images), rows)
    np.testing.assert_array_equal(est.transform(rgb_rows), rows)  # rows work after images too
    gray = images[..., 0]
    est = ConvFeatureTransformer().fit(gray)  # 3-D = grayscale
    assert est.image_shape_ == (7, 9, 1)
    np.testing.assert_array_equal(est.transform(gray), est.transform(gray[..., None]))
    by_rows = ConvFeatureTransformer(image_shape=(7, 9)).fit_transform(gray.reshape(6, -1))
    np.testing.assert_array_equal(est.transform(gray), by_rows)


# ------------------------------------------------------------------------ image shape


@pytest.mark.parametrize(
    "n_features, image_shape, expected",
    [
        (64, None, (8, 8, 1)),
        (1, None, (1, 1, 1)),
        (10, None, (1, 10, 1)),
        (3 * 32 * 32, None, (1, 3072, 1)),
        (3 * 32 * 32, (32, 32, 3), (32, 32, 3)),
        (12, (3, 4), (3, 4, 1)),
        (12, [2, 2, 3], (2, 2, 3)),
    ],
)
def test_image_shape(n_features, image_shape, expected):
    X = np.random.default_rng(2).random((3, n_features))
    est = ConvFeatureTransformer(image_shape=image_shape)
    if expected[0] == 1 and n_features > 1:  # a guessed strip
        with pytest.warns(UserWarning, match="grayscale strip"):
            est.fit(X)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est.fit(X)
    assert est.image_shape_ == expected
    assert est.image_shape == image_shape  # stored unchanged
    assert est.transform(X).shape == (3, int(np.prod(est.output_shape_)))


def test_small_maps_are_pooled_with_a_clipped_window():
    X = np.random.default_rng(3).random((4, 10))  # 1 x 10 strips
    est = ConvFeatureTransformer(pool_size=3, pool_stride=None, image_shape=(1, 10)).fit(X)
    assert est.pool_size_ == (1, 3)
    assert est.output_shape_ == (1, 3, len(DEFAULT_FILTERS))
    est = ConvFeatureTransformer(pooling=None, image_shape=(1, 10)).fit(X)
    assert est.pool_size_ is None and est.output_shape_ == est.conv_shape_ == (1, 10, 6)


# ---------------------------------------------------------------------------- filters


@pytest.mark.parametrize("n_channels", [1, 3])
def test_random_filters(n_channels):
    X = np.random.default_rng(4).random((5, 6 * 6 * n_channels))
    est = ConvFeatureTransformer(
        "random", n_filters=5, kernel_size=(3, 2), image_shape=(6, 6, n_channels), random_state=0
    ).fit(X)
    assert est.kernels_.shape == (5, 3, 2, n_channels)
    np.testing.assert_array_equal(est.kernels_, clone(est).fit(X).kernels_)
    assert list(est.filter_names_) == [f"random{i}" for i in range(5)]
    assert est.transform(X).shape == (5, 5 * 5 * 5)


def test_kmeans_learns_kernels_on_digits(digits):
    est = ConvFeatureTransformer("kmeans", n_filters=6, kernel_size=5, random_state=0)
    features = est.fit_transform(digits)
    assert est.kernels_.shape == (6, 5, 5, 1)
    flat = est.kernels_.reshape(6, -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-12)  # blind to brightness
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1)
    assert features.shape == (len(digits), 7 * 7 * 6)
    np.testing.assert_array_equal(clone(est).fit(digits).kernels_, est.kernels_)
    # distinct kernels that are not just noise: neighbouring pixels correlate
    assert np.linalg.matrix_rank(flat) == 6
    unwhitened = ConvFeatureTransformer("kmeans", n_filters=6, whiten=False, random_state=0)
    assert unwhitened.fit(digits).kernels_.shape == (6, 3, 3, 1)


def test_kmeans_needs_enough_patches():
    with pytest.raises(ValueError, match="needs at least n_filters=8 image patches, X gives 4"):
        ConvFeatureTransformer("kmeans").fit(np.ones((1, 4)))


def test_given_kernels_and_names(rgb_rows):
    est = ConvFeatureTransformer(np.ones((2, 3, 3)), image_shape=(7, 9, 3)).fit(rgb_rows)
    assert est.kernels_.shape == (2, 3, 3, 3)
    assert list(est.filter_names_) == ["filter0", "filter1"]
    est = ConvFeatureTransformer(["sobel_x", "sobel_x", "red"], image_shape=(7, 9, 3))
    assert list(est.fit(rgb_rows).filter_names_) == ["sobel_x_0", "sobel_x_1", "red"]
    for names in (("laplacian", "blue"), np.array(["laplacian", "blue"])):
        est = ConvFeatureTransformer(names, image_shape=(7, 9, 3)).fit(rgb_rows)
        assert list(est.filter_names_) == ["laplacian", "blue"]
        np.testing.assert_array_equal(est.kernels_, filter_bank(["laplacian", "blue"], 3))
    est = ConvFeatureTransformer("sobel_y", image_shape=(7, 9, 3)).fit(rgb_rows)
    assert est.kernels_.shape == (1, 3, 3, 3) and list(est.filter_names_) == ["sobel_y"]


# --------------------------------------------------------- output names, dtype, pandas


def test_feature_names_follow_the_output_order(digits):
    # the second kernel is zero, so every feature named after it is zero
    kernels = np.stack([np.ones((3, 3)), np.zeros((3, 3)), -np.ones((3, 3))])
    est = ConvFeatureTransformer(kernels, activation="identity").fit(digits)
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == 7 * 7 * 3
    assert list(names[:4]) == ["filter0_r0_c0", "filter1_r0_c0", "filter2_r0_c0", "filter0_r0_c1"]
    assert names[-1] == "filter2_r6_c6"
    out = est.transform(digits)
    is_zero = np.array(["filter1_" in name for name in names])
    assert np.all(out[:, is_zero] == 0) and np.any(out[:, ~is_zero] != 0)
    default = ConvFeatureTransformer().fit(digits).get_feature_names_out()
    assert default[0] == "sobel_x_r0_c0" and default[7] == "sobel_y_r0_c1"


def test_pandas_output(digits):
    X = pd.DataFrame(digits, columns=[f"px{i}" for i in range(64)], index=np.arange(200) + 7)
    est = ConvFeatureTransformer().set_output(transform="pandas")
    out = est.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    assert list(out.index) == list(X.index)
    np.testing.assert_allclose(out.to_numpy(), ConvFeatureTransformer().fit_transform(digits))
    assert list(est.feature_names_in_) == list(X.columns)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(digits, dtype):
    est = ConvFeatureTransformer("random", random_state=0).fit(digits)
    out = est.transform(digits.astype(dtype))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, est.transform(digits), rtol=1e-4, atol=1e-5)
    assert est.transform((digits * 16).astype(np.int64)).dtype == np.float64


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "params, X, match",
    [
        (
            {"image_shape": (9, 9)},
            np.ones((2, 64)),
            r"image_shape \(9, 9\) needs 81 features; X has 64",
        ),
        (
            {"image_shape": (4, 4)},
            np.ones((2, 48)),
            r"needs 16 features; X has 48; for 3 channels use image_shape=\(4, 4, 3\)",
        ),
        ({"image_shape": (4, 0)}, np.ones((2, 4)), "image_shape must be"),
        ({"image_shape": 16}, np.ones((2, 16)), "image_shape must be"),
        ({"image_shape": (4, 4)}, np.ones((2, 5, 5)), r"does not match the images in X"),
        (
            {"padding": "valid", "filters": np.ones((1, 5, 5))},
            np.ones((2, 9)),
            "image 3x3 is smaller than kernel 5x5 with padding 'valid'",
        ),
        ({"filters": "sobel"}, np.ones((2, 9)), "Unknown filter 'sobel'; expected one of"),
        ({"filters": ["sobel_x", "nope"]}, np.ones((2, 9)), "Unknown filter 'nope'"),
        ({"filters": "red"}, np.ones((2, 9)), "need images with 3 channels, got 1"),
        ({"filters": np.ones((2, 3, 3, 2))}, np.ones((2, 9)), "filters have 2 channel.*have 1"),
        ({"filters": np.ones((3, 3))}, np.ones((2, 9)), r"array of shape \(k, fh, fw\[, c\]\)"),
        ({"filters": 3}, np.ones((2, 9)), "filters must be 'random', 'kmeans'"),
        ({"activation": "softmax"}, np.ones((2, 9)), "Unknown activation 'softmax'; expected"),
        ({"activation": "gelu"}, np.ones((2, 9)), "Unknown activation 'gelu'"),
        ({"pooling": "min"}, np.ones((2, 9)), "Unknown pooling 'min'; expected 'max', 'avg'"),
        ({"pool_size": 0}, np.ones((2, 9)), "pool_size must be an int >= 1, got 0"),
        ({"pool_stride": 0}, np.ones((2, 9)), "pool_stride must be an int >= 1"),
        ({"stride": 0}, np.ones((2, 9)), "stride must be an int >= 1, got 0"),
        ({"padding": "full"}, np.ones((2, 9)), "Unknown padding 'full'"),
        ({"n_filters": 0}, np.ones((2, 9)), "n_filters must be an int >= 1"),
        ({"kernel_size": 0}, np.ones((2, 9)), "kernel_size must be an int >= 1"),
        ({"whiten": "yes"}, np.ones((2, 9)), "whiten must be True or False"),
        ({"standardize": "yes"}, np.ones((2, 9)), "standardize must be True or False"),
        ({}, np.full((2, 3, 3), np.nan), "NaN"),
    ],
)
def test_fit_errors(params, X, match):
    with pytest.raises(ValueError, match=match):
        ConvFeatureTransformer(**params).fit(X)


def test_transform_errors(rgb_rows):
    est = ConvFeatureTransformer(image_shape=(7, 9, 3)).fit(rgb_rows)
    with pytest.raises(ValueError, match="X has 10 features, but ConvFeatureTransformer"):
        est.transform(np.ones((2, 10)))
    with pytest.raises(ValueError, match=r"X has images of shape \(9, 7, 3\).*\(7, 9, 3\)"):
        est.transform(np.ones((2, 9, 7, 3)))
    with pytest.raises(ValueError, match=r"images of shape \(7, 9, 1\)"):
        est.transform(np.ones((2, 7, 9)))


def test_grid_search_over_a_conv_pipeline():
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from sknnedu import NNClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    pipe = Pipeline([
        ("conv", ConvFeatureTransformer(image_shape=(8, 8), activation="abs", pooling="avg")),
        ("nn", NNClassifier(max_iter=80, learning_rate_init=0.01, random_state=0)),
    ])
    grid = {
        "conv__activation": ["relu", "abs"],
        "nn__activation": ["sigmoid", "tanh", "relu", "leakyrelu"],
        "nn__hidden_layer_sizes": [(32,), [(32, "relu"), (16, "tanh")]],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 16
    assert search.best_score_ > 0.9
    assert search.score(X, y) > 0.95


# ------------------------------------------------------------------- issue 11 and 8


def _extra_peak(fn, X) -> int:
    """Peak bytes traced while ``fn(X)`` runs, minus the bytes of what it returns."""
    tracemalloc.start()
    try:
        out = fn(X)
        return tracemalloc.get_traced_memory()[1] - out.nbytes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, bool, np.float32])
def test_transform_memory_does_not_grow_with_n(dtype):
    # item 11: uint8 input was copied whole to float64 (260 MiB for 10k 32x32x3 images)
    rng = np.random.default_rng(0)
    small, big = 2000, 4000
    X = rng.integers(0, 2 if dtype is bool else 256, (big, 16, 16, 3)).astype(dtype)
    est = ConvFeatureTransformer().fit(X[:50])
    extra = {n: _extra_peak(est.transform, X[:n]) for n in (small, big)}
    float64_copy = X[:big].size * 8
    assert extra[big] < 0.5 * float64_copy, extra
    assert extra[big] - extra[small] < 0.1 * float64_copy, extra
    # and the same features as from floats
    np.testing.assert_allclose(est.transform(X[:20]), est.transform(X[:20].astype(np.float64)),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_fit_on_integers_gives_float_features():
    X = np.random.default_rng(1).integers(0, 256, (30, 8, 8), dtype=np.uint8)
    out = ConvFeatureTransformer().fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, ConvFeatureTransformer().fit_transform(X / 1.0))


def test_kmeans_with_one_pixel_kernels():
    # item 14: kernel_size=1 on grayscale gave all-zero kernels and features
    X = np.random.default_rng(2).random((20, 64))
    with pytest.raises(ValueError, match="kernel_size=1 on single-channel images.*kernel_size"):
        ConvFeatureTransformer("kmeans", kernel_size=1, n_filters=4, random_state=0).fit(X)
    rgb = np.random.default_rng(2).random((20, 6, 6, 3))  # colour: the patches are 3 values
    est = ConvFeatureTransformer("kmeans", kernel_size=1, n_filters=2, random_state=0).fit(rgb)
    assert np.all(np.linalg.norm(est.kernels_.reshape(2, -1), axis=1) > 0.5)


@pytest.mark.parametrize("shape", [(2, 3, 4, 4, 1), (2, 1, 1, 1, 1, 1)])
def test_more_than_4_dimensions_names_the_accepted_shapes(shape):
    # item 15: the message said "dim <= 2 is required"
    with pytest.raises(ValueError, match=r"\(n, h \* w \* c\).*\(n, h, w\) or \(n, h, w, c\)"):
        ConvFeatureTransformer().fit(np.zeros(shape))


def test_flattened_colour_images_warn_with_the_shape_to_pass():
    # item 16: 32x32x3 rows were silently read as 1x3072 strips
    X = np.random.default_rng(3).random((3, 32 * 32 * 3))
    with pytest.warns(UserWarning, match=r"1 x 3072 grayscale strip.*image_shape=\(32, 32, 3\)"):
        ConvFeatureTransformer().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ConvFeatureTransformer(image_shape=(32, 32, 3)).fit(X)


def test_default_is_the_recommended_pipeline(digits):
    # issue 8: the defaults are the README's conv -> StandardScaler, with overlapping pooling
    from sklearn.preprocessing import StandardScaler

    est = ConvFeatureTransformer(image_shape=(8, 8))
    out = est.fit_transform(digits)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0)[out.std(axis=0) > 0], 1)
    plain = ConvFeatureTransformer(DEFAULT_FILTERS, image_shape=(8, 8), activation="abs",
                                   pooling="avg", pool_size=2, pool_stride=1,
                                   standardize=False)
    np.testing.assert_allclose(out, StandardScaler().fit_transform(plain.fit_transform(digits)),
                               atol=1e-10)
    np.testing.assert_allclose(est.transform(digits[:7]), out[:7], atol=1e-12)
    assert est.output_shape_ == (7, 7, 6)


def test_default_pipeline_beats_the_raw_pixels():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    from sknnedu import NNClassifier

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16, y, test_size=0.25, stratify=y,
                                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)),
                             NNClassifier(max_iter=60, random_state=0)).fit(Xtr, ytr)
        raw = NNClassifier(max_iter=60, random_state=0).fit(Xtr, ytr)
    assert pipe.score(Xte, yte) >= raw.score(Xte, yte)
    assert pipe.score(Xte, yte) > 0.97


# --------------------------- odd inputs: finite output or a clean refusal, never NaN (hardening)


# ConvFeatureTransformer: property-based and edge cases
@st.composite
def conv_params(draw):
    filters = draw(st.sampled_from(["edges", "random", "kmeans", "sobel_x"]))
    return dict(
        filters=filters,
        n_filters=draw(st.integers(1, 3)),
        kernel_size=draw(st.sampled_from([1, 2, 3])),
        stride=draw(st.sampled_from([1, 2])),
        padding=draw(st.sampled_from(["same", "valid", 1])),
        activation=draw(st.sampled_from(["relu", "tanh", "logistic", "identity", "abs"])),
        pooling=draw(st.sampled_from(["max", "avg", None])),
        pool_size=draw(st.sampled_from([1, 2, 3])),
        random_state=0,
    )


@st.composite
def image_specs(draw):
    spec = draw(matrix_specs(max_samples=6, n_features=1))
    h, w, c = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 2))
    return spec | dict(n_features=h * w * c, image=(h, w, c),
                       form=draw(st.sampled_from(["rows", "rows_shape", "3d", "4d"])))


def build_images(spec, workdir):
    """(X, image_shape param) for the spec: 2-D rows, 3-D (n, h, w) or 4-D (n, h, w, c)."""
    n = spec["n_samples"]
    h, w, c = spec["image"]
    values = make_values((n, h, w, c), spec["dtype"], spec["scale"], spec["special"],
                         spec["seed"])
    form = spec["form"]
    if form == "3d":
        values = values[..., 0]
    elif form in ("rows", "rows_shape"):
        values = values.reshape(n, h * w * c)
    if spec["layout"].startswith("frame") and form not in ("rows", "rows_shape"):
        spec = spec | {"layout": "C"}
    image_shape = (h, w, c) if form == "rows_shape" else None
    return with_layout(values, spec["layout"], workdir), image_shape


@PROPERTY
@given(images=image_specs(), params=conv_params(), st_data=st.data())
def test_conv_fit_transform_any_input(workdir, images, params, st_data):
    X, image_shape = build_images(images, workdir)
    conv = ConvFeatureTransformer(**params, image_shape=image_shape)
    fitted = outcome(conv.fit, X)
    event(f"fit refused: {str(fitted.exc)[:50]}" if isinstance(fitted, Refused) else "fit worked")
    if isinstance(fitted, Refused):
        return
    out = outcome(conv.transform, X)
    assert not isinstance(out, Refused), f"fit accepted X but transform refused it: {out}"
    assert_finite(out, "transform")
    assert out.shape == (n_rows(X), int(np.prod(conv.output_shape_)))
    assert out.dtype == (np.float32 if np.asarray(X).dtype == np.float32 else np.float64)
    # new images of the same geometry, any values
    new = st_data.draw(image_specs(), label="X_new") | dict(image=images["image"],
                                                             form=images["form"])
    X_new, _ = build_images(new, workdir)
    out = outcome(conv.transform, X_new)
    if not isinstance(out, Refused):
        assert_finite(out, "transform of new images")


@pytest.mark.parametrize("filters", ["edges", "random", "kmeans"])
@pytest.mark.parametrize(("dtype", "value"), EXTREMES, ids=EXTREME_IDS)
def test_conv_at_extreme_values_is_finite_or_refused(filters, dtype, value):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (6, 8, 8)) * extreme(dtype, value)
    X = X.astype(dtype)  # in range: |x| <= the dtype's largest value
    conv = ConvFeatureTransformer(filters, n_filters=2, random_state=0)
    if isinstance(outcome(conv.fit, X), Refused):
        return
    out = outcome(conv.transform, X)
    assert not isinstance(out, Refused), f"fit accepted X but transform refused it: {out}"
    assert_finite(out, "transform")


@pytest.mark.parametrize("scale", [1e3, 1e30, 1e100, 1e150, 1e160, 1e200, 1e300])
def test_kmeans_kernels_do_not_depend_on_the_scale_of_the_images(scale):
    """Patches are contrast-normalised, so brighter images give the same kernels (or, if the
    scale is too much, a clean refusal), never silently all-zero ones. Warnings ignored."""
    images = load_digits().images[:200] / 16
    reference = ConvFeatureTransformer("kmeans", n_filters=4, random_state=0).fit(images)
    conv = ConvFeatureTransformer("kmeans", n_filters=4, random_state=0)
    if isinstance(outcome(conv.fit, images * scale, strict=False), Refused):
        return
    np.testing.assert_allclose(np.linalg.norm(conv.kernels_.reshape(4, -1), axis=1), 1.0)
    np.testing.assert_allclose(conv.kernels_, reference.kernels_, atol=1e-6)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "warnings_ignored"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_with_one_huge_pixel_is_finite_or_refused(dtype, strict):
    """One pixel at +-max per image: X sums to 0, the convolution overflows."""
    X = np.zeros((2, 8, 8), dtype=dtype)
    X[0, 3, 3], X[1, 3, 3] = np.finfo(dtype).max, -np.finfo(dtype).max
    conv = ConvFeatureTransformer().fit(np.zeros_like(X))
    out = outcome(conv.transform, X, strict=strict)
    if not isinstance(out, Refused):
        assert_finite(out, "transform")


@pytest.mark.parametrize("case", ["empty", "no_features", "5d", "1d", "nan", "inf",
                                  "zero_width", "no_channels", "strings"])
def test_conv_bad_input_is_refused_with_a_message(case):
    X = {
        "empty": np.zeros((0, 16)), "no_features": np.zeros((3, 0)),
        "5d": np.zeros((2, 2, 2, 2, 2)), "1d": np.zeros(16), "nan": np.full((2, 16), np.nan),
        "inf": np.full((2, 16), np.inf), "zero_width": np.zeros((2, 4, 0)),
        "no_channels": np.zeros((2, 4, 4, 0)), "strings": np.full((2, 4), "a"),
    }[case]
    assert isinstance(outcome(ConvFeatureTransformer().fit, X), Refused)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", ["rows", "3d", "4d"])
@pytest.mark.parametrize("filters", ["edges", "kmeans", "given"])
def test_conv_never_modifies_its_inputs(workdir, layout, form, filters):
    images = make_values((5, 6, 6, 1), np.float64, 1.0, None, 0)
    images = {"rows": images.reshape(5, -1), "3d": images[..., 0], "4d": images}[form]
    if layout.startswith("frame") and form != "rows":
        layout = "C"
    X = with_layout(images, layout, workdir)
    kernels = np.random.default_rng(1).standard_normal((2, 3, 3))
    param = kernels if filters == "given" else filters
    before_X, before_k = snapshot(X), snapshot(kernels)
    conv = ConvFeatureTransformer(param, n_filters=2, random_state=0).fit(X)
    conv.transform(X)
    assert_unchanged(before_X, X, "X")
    assert_unchanged(before_k, kernels, "the filters array")
    if filters == "given":  # and the model does not share memory with the caller's array
        assert not np.shares_memory(conv.kernels_, kernels)


@pytest.mark.parametrize("filters", ["random", "kmeans"])
def test_same_random_state_gives_identical_conv_kernels(small_digits, filters):
    X, _ = small_digits
    a = ConvFeatureTransformer(filters, n_filters=4, random_state=3).fit(X)
    b = ConvFeatureTransformer(filters, n_filters=4, random_state=3).fit(X)
    np.testing.assert_array_equal(a.kernels_, b.kernels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
