"""Hardening of NNClassifier and ConvFeatureTransformer against odd inputs and odd use.

The contract checked here, for every input: the estimator either works and gives finite
output, or raises ``ValueError``/``TypeError`` with a message. Never NaN or inf out, never an
error from deep inside numpy (``IndexError``, ``LinAlgError``, ``ZeroDivisionError``), never a
``RuntimeWarning`` (overflow, invalid value): these run as errors here, as they do under
``-W error`` or ``np.seterr(all='raise')``.

Also: inputs are never modified in place, the same ``random_state`` gives bit-identical models,
fitted estimators can be used from several threads at once, and a tampered or truncated model
file fails cleanly without importing or running anything (:mod:`sknnedu.persistence`).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import os
import sys
import threading
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sknnedu import NNClassifier
from sknnedu.feature_extraction import ConvFeatureTransformer
from sknnedu.persistence import load_model, save_model

#: Modest and reproducible: the same examples on every run (failures are bugs to fix, not
#: flakes), no shrinking (the examples are small specs already, and shrinking a failure
#: costs more time than the whole run), well under a minute for the whole module.
PROPERTY = settings(max_examples=120, deadline=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = [np.bool_, np.uint8, np.int8, np.int64, np.float16, np.float32, np.float64]
#: Typical magnitude of the values: tiny, ordinary and huge (clipped to the dtype's range).
SCALES = [0.0, 1e-310, 1e-300, 1e-30, 1e-3, 1.0, 1e3, 1e30, 1e150, 1e300, np.inf]
LAYOUTS = ["C", "F", "strided", "reversed", "readonly", "memmap", "list", "frame",
           "frame_named"]
SPECIALS = [None] * 6 + ["nan", "inf", "-inf"]


class Refused:
    """What :func:`outcome` returns when the estimator raised a clean error."""

    def __init__(self, exc: Exception):
        self.exc = exc

    def __repr__(self) -> str:
        return f"Refused({type(self.exc).__name__}: {self.exc})"


@contextmanager
def strict_numerics():
    """RuntimeWarnings (overflow, invalid value, divide by zero) raise; convergence is moot."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@contextmanager
def lenient_numerics():
    """RuntimeWarnings ignored, as most users run: what comes out must still be finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def outcome(fn, *args, strict: bool = True, **kwargs):
    """``fn(*args, **kwargs)``, or :class:`Refused` if it raised ValueError/TypeError.

    Anything else propagates and fails the test: IndexError, ZeroDivisionError, a
    RuntimeWarning turned into an error (unless ``strict=False``), and numpy's LinAlgError
    (a ValueError subclass, but a crash inside numpy that tells the user nothing about
    their input).
    """
    with strict_numerics() if strict else lenient_numerics():
        try:
            return fn(*args, **kwargs)
        except np.linalg.LinAlgError:
            raise
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} raised with an empty message"
            return Refused(exc)


def assert_finite(a, what: str) -> None:
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        bad = ~np.isfinite(a)
        assert not bad.any(), f"{what} has {bad.sum()} non-finite value(s): {a[bad][:5]}"


# ------------------------------------------------------------------------------------------
# building inputs from small specs (so hypothesis prints a readable falsifying example)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hardening")


_counter = itertools.count()


def make_values(shape, dtype, scale, special, seed) -> np.ndarray:
    """Random values of ``dtype`` around ``scale``, clipped to what the dtype holds."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        hi = int(min(max(scale, 1.0), info.max)) if np.isfinite(scale) else info.max
        lo = 0 if dtype.kind == "u" else -hi
        return rng.integers(lo, hi, size=shape, endpoint=True, dtype=dtype)
    top = float(np.finfo(dtype).max)
    values = np.clip(rng.standard_normal(shape) / 3, -1, 1) * min(scale, top)
    values = values.astype(dtype)
    if special is not None and values.size:
        values.flat[rng.integers(values.size)] = {"nan": np.nan, "inf": np.inf,
                                                  "-inf": -np.inf}[special]
    return values


def with_layout(a: np.ndarray, layout: str, workdir):
    """The same values as ``a`` (2-D or more), presented in another way."""
    if layout == "C":
        return np.ascontiguousarray(a)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":  # a non-contiguous view: every other column of a wider array
        wide = np.repeat(a, 2, axis=-1)
        return wide[..., ::2]
    if layout == "reversed":  # negative strides: a reversed view of a reversed copy
        return a[::-1].copy()[::-1]
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "memmap":
        path = os.path.join(workdir, f"x{next(_counter)}.npy")
        np.save(path, a)
        return np.load(path, mmap_mode="r")
    if layout == "list":
        return a.tolist()
    if a.ndim != 2:
        return a
    if layout == "frame":
        return pd.DataFrame(a)
    columns = [f"pixel{j}" for j in range(a.shape[1])]
    return pd.DataFrame(a, columns=columns)


@st.composite
def matrix_specs(draw, max_samples=25, max_features=6, n_samples=None, n_features=None):
    return dict(
        n_samples=draw(st.integers(0, max_samples)) if n_samples is None else n_samples,
        n_features=draw(st.integers(0, max_features)) if n_features is None else n_features,
        dtype=draw(st.sampled_from(DTYPES)),
        scale=draw(st.sampled_from(SCALES)),
        layout=draw(st.sampled_from(LAYOUTS)),
        special=draw(st.sampled_from(SPECIALS)),
        seed=draw(st.integers(0, 2**16)),
    )


def build_matrix(spec, workdir):
    values = make_values((spec["n_samples"], spec["n_features"]), spec["dtype"], spec["scale"],
                         spec["special"], spec["seed"])
    return with_layout(values, spec["layout"], workdir)


@st.composite
def label_specs(draw):
    return dict(
        n_classes=draw(st.sampled_from([1, 2, 2, 3, 3, 4])),
        kind=draw(st.sampled_from(["int", "str", "float", "bool", "negative"])),
        container=draw(st.sampled_from(["array", "list", "series"])),
        seed=draw(st.integers(0, 2**16)),
    )


def class_values(spec) -> np.ndarray:
    k = spec["n_classes"] if spec["kind"] != "bool" else min(spec["n_classes"], 2)
    return {
        "int": np.arange(k),
        "str": np.array([f"class {i}" for i in range(k)]),
        "float": np.arange(k) * 2.0,  # integral floats: labels, not a regression target
        "bool": np.array([False, True])[:k],
        "negative": -np.arange(k) - 7,
    }[spec["kind"]]


def build_labels(spec, n_samples: int):
    classes = class_values(spec)
    rng = np.random.default_rng(spec["seed"])
    y = classes[rng.permutation(np.arange(n_samples) % len(classes))]
    if spec["container"] == "list":
        return y.tolist()
    if spec["container"] == "series":
        return pd.Series(y)
    return y


# ------------------------------------------------------------------------------------------
# checking outputs
# ------------------------------------------------------------------------------------------
def n_rows(X) -> int:
    return len(X)


def check_classifier_outputs(clf, X, *, must_work: bool, strict: bool = True):
    """predict_proba and predict on X: finite, well-shaped, or (if allowed) refused."""
    proba = outcome(clf.predict_proba, X, strict=strict)
    if isinstance(proba, Refused):
        assert not must_work, f"fit accepted X but predict_proba refused it: {proba}"
        return
    assert_finite(proba, "predict_proba")
    assert proba.shape == (n_rows(X), len(clf.classes_))
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-3)
    labels = outcome(clf.predict, X, strict=strict)
    assert not isinstance(labels, Refused), f"predict_proba worked but predict: {labels}"
    assert labels.shape == (n_rows(X),)
    assert np.isin(labels, clf.classes_).all()


# ------------------------------------------------------------------------------------------
# NNClassifier: property-based
# ------------------------------------------------------------------------------------------
SOLVERS = ["adam", "sgd", "rmsprop", "lbfgs"]


@PROPERTY
@given(x=matrix_specs(), labels=label_specs(), x_new=st.data(),
       solver=st.sampled_from(SOLVERS))
def test_nnclassifier_fit_predict_any_input(workdir, x, labels, x_new, solver):
    X = build_matrix(x, workdir)
    y = build_labels(labels, x["n_samples"])
    clf = NNClassifier((3,), solver=solver, max_iter=3, random_state=0)
    fitted = outcome(clf.fit, X, y)
    event(f"fit refused: {str(fitted.exc)[:50]}" if isinstance(fitted, Refused) else "fit worked")
    if isinstance(fitted, Refused):
        return
    assert fitted is clf
    for W in clf.coefs_ + clf.intercepts_:
        assert_finite(W, "a weight")
    check_classifier_outputs(clf, X, must_work=True)
    other = build_matrix(x_new.draw(matrix_specs(n_features=x["n_features"]), label="X_new"),
                         workdir)
    check_classifier_outputs(clf, other, must_work=False)


@PROPERTY
@given(x=matrix_specs(), labels=label_specs(), extra_class=st.booleans(), st_data=st.data())
def test_nnclassifier_partial_fit_any_input(workdir, x, labels, extra_class, st_data):
    X = build_matrix(x, workdir)
    y = build_labels(labels, x["n_samples"])
    classes = class_values(labels)
    if extra_class and labels["kind"] in ("int", "negative", "float"):
        classes = np.append(classes, classes.max() + 100)  # a class the stream has not shown
    clf = NNClassifier((3,), max_iter=3, random_state=0)
    first = outcome(clf.partial_fit, X, y, classes=classes)
    event("partial_fit refused" if isinstance(first, Refused) else "partial_fit worked")
    if isinstance(first, Refused):
        return
    np.testing.assert_array_equal(clf.classes_, np.unique(classes))
    check_classifier_outputs(clf, X, must_work=True)
    # a second chunk, drawn independently but with the same number of features
    chunk = st_data.draw(matrix_specs(n_features=x["n_features"]), label="second chunk")
    X2 = build_matrix(chunk, workdir)
    y2 = build_labels(labels | {"seed": chunk["seed"]}, chunk["n_samples"])
    second = outcome(clf.partial_fit, X2, y2)
    if not isinstance(second, Refused):
        check_classifier_outputs(clf, X2, must_work=True)


# ------------------------------------------------------------------------------------------
# NNClassifier: the edge cases, one by one (each readable on its own when it fails)
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = np.arange(30) % 3
    return X, y


@pytest.fixture(scope="module")
def fitted64(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NNClassifier((8,), max_iter=50, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def fitted32(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NNClassifier((8,), max_iter=50, random_state=0).fit(X.astype(np.float32), y)


MAGNITUDES = [(np.float64, s) for s in (1e-300, 1e-30, 1e8, 1e30, 1e100, 1e200, 1e300)] + [
    (np.float32, s) for s in (1e-30, 1e-8, 1e8, 1e20, 1e30, 1e37)]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("dtype", "scale"), MAGNITUDES,
                         ids=[f"{np.dtype(d).name}-{s:g}" for d, s in MAGNITUDES])
def test_fit_at_extreme_magnitudes_is_finite_or_refused(small, solver, dtype, scale):
    X, y = small
    X = (X / np.abs(X).max() * scale).astype(dtype)  # the largest |x| is `scale`
    clf = NNClassifier((8,), solver=solver, max_iter=5, random_state=0)
    if not isinstance(outcome(clf.fit, X, y), Refused):
        check_classifier_outputs(clf, X, must_work=True)


#: (dtype, value): values the dtype holds, from its largest finite value to its smallest
#: subnormal.
EXTREMES = [(np.float64, v) for v in ("max", 1e300, 1e200, 1e30, 1e-300, 5e-324)] + [
    (np.float32, v) for v in ("max", 1e37, 1e30, 1e20, 1e-30, 1e-45)]
EXTREME_IDS = [f"{np.dtype(d).name}-{v}" for d, v in EXTREMES]


def extreme(dtype, value) -> float:
    return float(np.finfo(dtype).max) if value == "max" else value


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize(("dtype", "value"), EXTREMES, ids=EXTREME_IDS)
def test_predict_at_extreme_values_is_finite_or_refused(fitted64, fitted32, dtype, value,
                                                        sign):
    clf = fitted64 if dtype == np.float64 else fitted32
    X = np.full((3, clf.n_features_in_), sign * extreme(dtype, value), dtype=dtype)
    X[1] = 0.0
    X[2, ::2] *= -1  # mixed signs: a sum that cancels or not
    check_classifier_outputs(clf, X, must_work=False)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "warnings_ignored"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_with_one_huge_feature_is_finite_or_refused(fitted64, fitted32, dtype, strict):
    """X sums to 0 (so scikit-learn's validation passes it), but ``x W[1]`` overflows.

    ``strict=False`` is how most people run: warnings ignored, so a NaN would go unseen.
    """
    clf = fitted64 if dtype == np.float64 else fitted32
    n = clf.n_features_in_
    X = np.zeros((2 * n, n), dtype=dtype)
    X[np.arange(n), np.arange(n)] = np.finfo(dtype).max  # one huge feature per row
    X[n + np.arange(n), np.arange(n)] = -np.finfo(dtype).max
    check_classifier_outputs(clf, X, must_work=False, strict=strict)


@pytest.mark.parametrize("scale", [1e-300, 1e-30, 1e30, 1e300, 1e308])
def test_sample_weight_scale_is_finite_or_refused(small, scale):
    X, y = small
    clf = NNClassifier((8,), max_iter=5, random_state=0)
    if not isinstance(outcome(clf.fit, X, y, sample_weight=np.full(len(y), scale)), Refused):
        check_classifier_outputs(clf, X, must_work=True)


def test_partial_fit_with_a_single_class_predicts_or_refuses(small):
    X, _ = small
    clf = NNClassifier((4,), random_state=0)
    if isinstance(outcome(clf.partial_fit, X, np.zeros(len(X)), classes=[0]), Refused):
        return
    check_classifier_outputs(clf, X, must_work=True)
    assert (clf.predict(X) == 0).all()


@pytest.mark.parametrize("case", [
    "empty", "no_features", "3d", "1d", "ragged", "strings",
    "complex", "nan", "inf", "y_nan", "y_continuous", "y_wrong_length", "mixed_names",
])
def test_bad_input_is_refused_with_a_message(small, case):
    X, y = small
    args = {
        "empty": (X[:0], y[:0]),
        "no_features": (X[:, :0], y),
        "3d": (X.reshape(30, 5, 1), y),
        "1d": (X[:, 0], y),
        "ragged": ([[1.0, 2.0], [3.0]], [0, 1]),
        "strings": (np.full((4, 2), "a"), [0, 1, 0, 1]),
        "complex": (X + 1j, y),
        "nan": (np.where(X > 1, np.nan, X), y),
        "inf": (np.where(X > 1, np.inf, X), y),
        "y_nan": (X, np.where(y > 1, np.nan, y)),
        "y_continuous": (X, np.linspace(0, 1, len(y))),
        "y_wrong_length": (X, y[:-1]),
        "mixed_names": (pd.DataFrame(X, columns=["a", 1, "b", 2, "c"]), y),
    }[case]
    result = outcome(NNClassifier((4,), max_iter=2).fit, *args)
    assert isinstance(result, Refused), f"fit accepted {case!r}"


@pytest.mark.parametrize("case", ["empty", "wrong_width", "nan", "inf", "1d", "3d"])
def test_bad_input_to_predict_is_refused_with_a_message(fitted64, case):
    X = np.zeros((2, fitted64.n_features_in_))
    X = {
        "empty": X[:0], "wrong_width": X[:, :-1], "nan": X + np.nan, "inf": X + np.inf,
        "1d": X[0], "3d": X[:, :, None],
    }[case]
    for method in (fitted64.predict, fitted64.predict_proba, fitted64.predict_log_proba):
        assert isinstance(outcome(method, X), Refused), f"{method.__name__} accepted {case!r}"


# ------------------------------------------------------------------------------------------
# ConvFeatureTransformer: property-based and edge cases
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# inputs are never modified in place
# ------------------------------------------------------------------------------------------
def snapshot(obj):
    """A deep, independent copy of obj, with the array flags that must not change."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.copy(deep=True)
    if isinstance(obj, np.ndarray):
        return np.array(obj, copy=True), obj.flags.writeable, obj.dtype, obj.strides
    return copy.deepcopy(obj)


def assert_unchanged(before, obj, what: str) -> None:
    if isinstance(obj, pd.DataFrame):
        pd.testing.assert_frame_equal(obj, before, obj=what)
    elif isinstance(obj, pd.Series):
        pd.testing.assert_series_equal(obj, before, obj=what)
    elif isinstance(obj, np.ndarray):
        values, writeable, dtype, strides = before
        np.testing.assert_array_equal(obj, values, err_msg=f"{what} was modified")
        assert (obj.flags.writeable, obj.dtype, obj.strides) == (writeable, dtype, strides)
    else:
        assert obj == before, f"{what} was modified"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_nnclassifier_never_modifies_its_inputs(workdir, layout, dtype, solver):
    X = with_layout(make_values((40, 6), dtype, 1.0, None, 0), layout, workdir)
    y = np.arange(40) % 3
    sample_weight = np.linspace(0.5, 2, 40)
    classes = [0, 1, 2]
    inputs = dict(X=X, y=y, sample_weight=sample_weight, classes=classes)
    before = {k: snapshot(v) for k, v in inputs.items()}
    clf = NNClassifier((5,), solver=solver, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sample_weight)
        clf.predict(X), clf.predict_proba(X), clf.predict_log_proba(X), clf.score(X, y)
        if solver != "lbfgs":
            NNClassifier((5,), max_iter=3).partial_fit(X, y, classes=classes,
                                                      sample_weight=sample_weight)
    for name, value in inputs.items():
        assert_unchanged(before[name], value, name)


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


# ------------------------------------------------------------------------------------------
# the same random_state gives bit-identical models
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


@pytest.mark.parametrize("params", [
    dict(solver="adam"),
    dict(solver="sgd", learning_rate="adaptive"),
    dict(solver="rmsprop", dropout=0.2),
    dict(solver="lbfgs"),
    dict(solver="adam", early_stopping=True, n_iter_no_change=2),
    dict(solver="adam", hidden_layer_sizes=[(12, "leakyrelu"), (6, "tanh")], init="lecun"),
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_random_state_gives_bit_identical_models(digits, params, dtype):
    X, y = digits
    X = X.astype(dtype)
    kwargs = dict(hidden_layer_sizes=(16,), max_iter=8, random_state=42) | params

    def train(random_state):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return NNClassifier(**kwargs | {"random_state": random_state}).fit(X, y)

    a, b = train(42), train(42)
    c = train(np.random.RandomState(42))  # a fresh RandomState seeded alike: the same model
    for other in (b, c):
        for wa, wb in zip(a.coefs_ + a.intercepts_, other.coefs_ + other.intercepts_,
                          strict=True):
            assert wa.dtype == wb.dtype == dtype
            np.testing.assert_array_equal(wa, wb)
        assert a.loss_curve_ == other.loss_curve_
        np.testing.assert_array_equal(a.predict_proba(X), other.predict_proba(X))


def test_same_random_state_gives_bit_identical_partial_fit_streams(digits):
    X, y = digits
    models = [NNClassifier((16,), random_state=7) for _ in range(2)]
    for clf in models:
        for _ in range(3):
            for start in range(0, len(X), 64):
                clf.partial_fit(X[start:start + 64], y[start:start + 64], classes=range(10))
    for wa, wb in zip(models[0].coefs_, models[1].coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("filters", ["random", "kmeans"])
def test_same_random_state_gives_identical_conv_kernels(digits, filters):
    X, _ = digits
    a = ConvFeatureTransformer(filters, n_filters=4, random_state=3).fit(X)
    b = ConvFeatureTransformer(filters, n_filters=4, random_state=3).fit(X)
    np.testing.assert_array_equal(a.kernels_, b.kernels_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


# ------------------------------------------------------------------------------------------
# several threads at once
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted_pipeline(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)),
                             NNClassifier((32,), max_iter=30, random_state=0)).fit(X, y)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_predict_from_eight_threads_matches_serial(digits, fitted_pipeline, method):
    X, _ = digits
    if method == "transform":
        fn = fitted_pipeline[0].transform
    else:
        fn = getattr(fitted_pipeline, method)
    chunks = [X[i % 7::7] for i in range(48)]  # 48 calls, overlapping inputs, varied sizes
    serial = [fn(c) for c in chunks]
    barrier = threading.Barrier(8)

    def call(i):
        if i < 8:
            barrier.wait(timeout=30)  # the first eight calls start together
        return fn(chunks[i])

    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(call, range(len(chunks))))
    for s, t in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(s, t)


def test_fitting_clones_in_eight_threads_matches_serial(digits):
    """Threaded workers (joblib's threading backend, dask's processes=False) share globals."""
    X, y = digits
    base = make_pipeline(ConvFeatureTransformer("kmeans", n_filters=3, image_shape=(8, 8),
                                                random_state=0),
                         NNClassifier((16,), max_iter=5, random_state=0, dropout=0.1))

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return clone(base).fit(X, y)

    serial = fit()
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda _: fit(), range(8)))
    for model in threaded:
        np.testing.assert_array_equal(model[0].kernels_, serial[0].kernels_)
        for wa, wb in zip(model[-1].coefs_, serial[-1].coefs_, strict=True):
            np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------------------------------------
# model files: tampered or truncated files fail cleanly and execute nothing
# ------------------------------------------------------------------------------------------
SENTINEL_MODULE = "sknnedu_hardening_sentinel"


def write_sentinel(folder) -> object:
    """An importable module in ``folder`` that leaves a marker file when imported or used."""
    marker = folder / "EXECUTED"
    (folder / f"{SENTINEL_MODULE}.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('imported')\n"
        "class Payload:\n"
        "    def __init__(self, *args, **kwargs):\n"
        f"        pathlib.Path({str(marker)!r}).write_text('built')\n"
        "    def __setstate__(self, state):\n"
        f"        pathlib.Path({str(marker)!r}).write_text('unpickled')\n"
    )
    return marker


@pytest.fixture
def sentinel(tmp_path, monkeypatch):
    """The marker of the sentinel module, which the test must never import."""
    marker = write_sentinel(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, SENTINEL_MODULE, raising=False)
    yield marker
    assert not marker.exists(), f"loading a model file ran code: {marker.read_text()}"
    assert SENTINEL_MODULE not in sys.modules, "loading a model file imported a module"


def test_the_sentinel_would_catch_an_import(tmp_path, monkeypatch):
    """The trap works: unpickling what the tests below smuggle in does import the module."""
    marker = write_sentinel(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, SENTINEL_MODULE, raising=False)
    try:
        loaded = np.load(io.BytesIO(smuggled_npy()), allow_pickle=True)
        assert type(loaded).__module__ == SENTINEL_MODULE
        assert marker.read_text() == "imported"
    finally:
        sys.modules.pop(SENTINEL_MODULE, None)


def smuggled_npy() -> bytes:
    """A .npy of one object whose pickle imports the sentinel module when loaded."""
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "|O", "fortran_order": False,
                                               "shape": (1,)})
    # pickle protocol 2: GLOBAL sentinel.Payload, EMPTY_TUPLE, NEWOBJ, STOP
    npy.write(b"\x80\x02c" + SENTINEL_MODULE.encode() + b"\nPayload\n)\x81.")
    return npy.getvalue()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, fitted_pipeline):
    path = tmp_path_factory.mktemp("model") / "good.skops"
    save_model(fitted_pipeline, path, metadata={"image_size": [8, 8]})
    return path


def open_fds() -> set[str]:
    fd_dir = "/proc/self/fd"
    return set(os.listdir(fd_dir)) if os.path.isdir(fd_dir) else set()


def zip_members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write_zip(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def assert_load_fails_cleanly(path):
    fds = open_fds()
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert open_fds() <= fds, "load_model left a file open"


def _point_model_at(schema: dict, module: str, cls: str) -> None:
    """Make the schema's NNClassifier node name another class."""
    def walk(node):
        if isinstance(node, dict):
            if node.get("__class__") == "NNClassifier":
                node["__class__"], node["__module__"] = cls, module
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(schema)


@pytest.mark.parametrize("loader", ["ObjectNode", "TypeNode", "FunctionNode", "MethodNode",
                                    "ReduceNode"])
def test_file_naming_an_unknown_class_imports_nothing(model_file, tmp_path, sentinel, loader):
    members = zip_members(model_file)
    schema = json.loads(members["schema.json"])
    _point_model_at(schema, SENTINEL_MODULE, "Payload")

    def set_loader(node):
        if isinstance(node, dict):
            if node.get("__class__") == "Payload":
                node["__loader__"] = loader
            for v in node.values():
                set_loader(v)
        elif isinstance(node, list):
            for v in node:
                set_loader(v)

    set_loader(schema)
    members["schema.json"] = json.dumps(schema).encode()
    bad = tmp_path / "evil.skops"
    write_zip(bad, members)
    assert_load_fails_cleanly(bad)


def test_pickled_object_smuggled_into_an_array_is_not_unpickled(model_file, tmp_path,
                                                                 sentinel):
    """Every .npy member replaced by an object array whose pickle imports the sentinel."""
    members = zip_members(model_file)
    for name in members:
        if name.endswith(".npy"):
            members[name] = smuggled_npy()
    bad = tmp_path / "pickled.skops"
    write_zip(bad, members)
    assert_load_fails_cleanly(bad)


def test_non_zip_files_fail_cleanly(tmp_path, fitted_pipeline):
    import pickle

    cases = {
        "pickle.skops": pickle.dumps(fitted_pipeline),
        "empty.skops": b"",
        "text.skops": b"not a model\n",
        "json_only.skops": b'{"__class__": "dict"}',
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert_load_fails_cleanly(tmp_path / name)


@settings(max_examples=40, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate])
@given(cut=st.floats(0, 1, exclude_max=True), flips=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=3))
def test_truncated_or_corrupted_file_fails_cleanly_or_loads_intact(model_file, digits, cut,
                                                                   flips):
    """Any damage: load_model raises ValueError, or (damage in bytes the zip does not check,
    such as timestamps) returns a model that predicts exactly as the saved one."""
    X, _ = digits
    data = bytearray(model_file.read_bytes())
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    if not flips:
        data = data[:int(cut * len(data))]
    bad = model_file.parent / f"damaged{next(_counter)}.skops"
    bad.write_bytes(bytes(data))
    fds = open_fds()
    try:
        model = load_model(bad)
    except ValueError as exc:
        event(f"refused: {str(exc)[len(str(bad)):][:60]}")
        assert str(bad) in str(exc)
    else:
        event("loaded intact")
        original = load_model(model_file)
        np.testing.assert_array_equal(model.predict_proba(X), original.predict_proba(X))
    assert open_fds() <= fds, "load_model left a file open"
