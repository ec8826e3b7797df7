"""Tests of sknnedu.persistence, and of pickle/joblib on the fitted estimators."""

from __future__ import annotations

import json
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknnedu import CNNClassifier, NNClassifier, NNRegressor
from sknnedu.feature_extraction import ConvFeatureTransformer
from sknnedu.persistence import (
    TRUSTED_TYPES,
    LoadedModel,
    load_metadata,
    load_model,
    save_model,
)

BUILTIN_SCALARS = (int, float, str, bool, type(None))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def models(digits):
    """Fitted estimators, by name."""
    X, y = digits
    conv = dict(image_shape=(8, 8), random_state=0)
    return {
        "nn": _fit(NNClassifier((16,), max_iter=20, random_state=0), X, y),
        "nn_layers": _fit(NNClassifier([(12, "leakyrelu"), (8, "sigmoid")], solver="rmsprop",
                                       max_iter=10, early_stopping=True, random_state=0), X, y),
        "conv": ConvFeatureTransformer(**conv).fit(X),
        "pipeline": _fit(Pipeline([("conv", ConvFeatureTransformer(**conv)),
                                   ("nn", NNClassifier((16,), max_iter=20, random_state=0))]),
                         X, y),
        "kmeans_pipeline": _fit(make_pipeline(
            ConvFeatureTransformer("kmeans", n_filters=4, pooling="avg", **conv),
            NNClassifier((16,), "tanh", max_iter=20, random_state=0)), X, y),
    }


def _outputs(est, X) -> list[np.ndarray]:
    """What must not change through saving: predictions, probabilities or features."""
    if hasattr(est, "predict_proba"):
        return [est.predict(X), est.predict_proba(X)]
    return [est.transform(X)]


def _assert_same(a, b, X) -> None:
    for out_a, out_b in zip(_outputs(a, X), _outputs(b, X), strict=True):
        np.testing.assert_array_equal(out_a, out_b)


# ------------------------------------------------------------------------------------------
# round trips
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nn", "nn_layers", "conv", "pipeline", "kmeans_pipeline"])
def test_skops_round_trip_is_identical(models, digits, tmp_path, name):
    path = tmp_path / "model.skops"
    metadata = {"class_names": ["a", "b"], "image_size": (8, 8), "as_gray": True,
                "nested": {"x": [1, 2.5, None]}}
    save_model(models[name], path, metadata=metadata)
    model = load_model(path)
    assert type(model) is type(models[name])
    _assert_same(models[name], model, digits[0])
    assert load_metadata(path) == metadata
    loaded = load_model(path, return_metadata=True)
    assert isinstance(loaded, LoadedModel)
    again, meta = loaded
    assert meta == metadata
    _assert_same(models[name], again, digits[0])


def test_load_model_returns_the_estimator_as_joblib_and_skops_do(models, digits, tmp_path):
    # hardening item 14: load_model returned a (model, metadata) tuple, so
    # load_model(path).predict(X) failed ("'LoadedModel' object has no attribute 'predict'")
    X = digits[0]
    path = tmp_path / "m.skops"
    save_model(models["pipeline"], path, metadata={"image_size": [8, 8]})
    joblib.dump(models["pipeline"], tmp_path / "m.joblib")
    np.testing.assert_array_equal(load_model(path).predict(X),
                                  joblib.load(tmp_path / "m.joblib").predict(X))


def test_load_model_without_metadata_gives_empty_dict(models, tmp_path):
    save_model(models["nn"], str(tmp_path / "m.skops"))
    assert load_metadata(str(tmp_path / "m.skops")) == {}
    assert load_model(str(tmp_path / "m.skops"), return_metadata=True).metadata == {}


@pytest.mark.parametrize("name", ["conv_pipeline", "cnn"])
def test_files_written_by_version_0_1_0_still_load(name):
    """tests/data holds files save_model wrote in sknnedu 0.1.0 (before load_model returned
    the bare estimator), with their predict_proba on 10 digits."""
    data = Path(__file__).parent / "data"
    expected = np.load(data / "models-0.1.0-expected.npz")
    path = data / f"{name}-0.1.0.skops"
    model = load_model(path)
    np.testing.assert_allclose(model.predict_proba(expected["X"]), expected[name],
                               rtol=1e-12, atol=1e-15)
    metadata = load_metadata(path)
    assert metadata["image_size"] == [8, 8] and metadata["as_gray"] is True


@pytest.mark.parametrize("name", ["nn", "nn_layers", "conv", "pipeline", "kmeans_pipeline"])
def test_pickle_round_trip_is_identical(models, digits, name):
    _assert_same(models[name], pickle.loads(pickle.dumps(models[name])), digits[0])


@pytest.mark.parametrize("name", ["nn", "conv", "pipeline"])
def test_joblib_round_trip_is_identical(models, digits, tmp_path, name):
    joblib.dump(models[name], tmp_path / "m.joblib")
    _assert_same(models[name], joblib.load(tmp_path / "m.joblib"), digits[0])


def test_trusted_types_are_the_project_classes():
    from sknnedu import (
        CNNRegressor,
        RNNClassifier,
        RNNRegressor,
        SequenceCNNClassifier,
        SequenceCNNRegressor,
        TextSequencer,
        TransformerClassifier,
        TransformerRegressor,
    )
    classes = (NNClassifier, NNRegressor, CNNClassifier, CNNRegressor, ConvFeatureTransformer,
               RNNClassifier, RNNRegressor, TextSequencer, SequenceCNNClassifier,
               SequenceCNNRegressor, TransformerClassifier, TransformerRegressor)
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    assert set(TRUSTED_TYPES) == names


def test_saved_pipeline_needs_only_trusted_types(models, tmp_path):
    path = tmp_path / "m.skops"
    save_model(models["pipeline"], path, metadata={"image_size": [8, 8]})
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)


# ------------------------------------------------------------------------------------------
# the fitted state is plain data
# ------------------------------------------------------------------------------------------
def _not_plain(value, where: str) -> list[str]:
    """Paths of the values that are neither numpy arrays nor (nested) builtins."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [p for i, v in enumerate(value.ravel()) for p in _not_plain(v, f"{where}[{i}]")]
        return []
    if type(value) in BUILTIN_SCALARS:
        return []
    if type(value) in (list, tuple):
        return [p for i, v in enumerate(value) for p in _not_plain(v, f"{where}[{i}]")]
    if type(value) is dict:
        return [p for k, v in value.items()
                for p in _not_plain(k, f"{where} key") + _not_plain(v, f"{where}[{k!r}]")]
    return [f"{where}: {type(value).__module__}.{type(value).__qualname__}"]


@pytest.mark.parametrize("params", [
    {}, {"solver": "sgd"}, {"solver": "rmsprop", "dropout": 0.2}, {"solver": "lbfgs"},
    {"early_stopping": True}, {"class_weight": "balanced"},
    {"hidden_layer_sizes": [(8, "tanh"), (4, "leakyrelu")]},
])
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_nnclassifier_fitted_state_is_arrays_and_builtins(digits, params, target):
    X, y = digits
    if target == "binary":
        y = y % 2
    elif target == "multilabel":
        if "class_weight" in params:
            pytest.skip("class_weight is for single-label targets")
        y = np.column_stack([y % 2, y < 5])
    clf = _fit(NNClassifier(**{"hidden_layer_sizes": (8,), "max_iter": 5,
                               "random_state": 0, **params}), X, y)
    assert [p for k, v in vars(clf).items() for p in _not_plain(v, k)] == []


@pytest.mark.parametrize("params", [
    {}, {"filters": "random"}, {"filters": "kmeans", "n_filters": 4}, {"pooling": None},
    {"filters": ["sobel_x", "laplacian"], "pooling": "avg"},
    {"filters": np.ones((2, 3, 3)), "activation": "abs"},
])
def test_conv_transformer_fitted_state_is_arrays_and_builtins(digits, params):
    conv = ConvFeatureTransformer(image_shape=(8, 8), random_state=0, **params).fit(digits[0])
    fitted = {k: v for k, v in vars(conv).items() if k.endswith("_")}
    assert [p for k, v in fitted.items() for p in _not_plain(v, k)] == []


# ------------------------------------------------------------------------------------------
# refusing bad files
# ------------------------------------------------------------------------------------------
def _rewrite_schema(src, dst, edit) -> None:
    """Copy the skops zip ``src`` to ``dst`` with ``edit`` applied to every schema node."""
    with zipfile.ZipFile(src) as z:
        files = {name: z.read(name) for name in z.namelist()}
    schema = json.loads(files["schema.json"])

    def walk(node):
        if isinstance(node, dict):
            edit(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


@pytest.fixture
def saved(models, tmp_path):
    path = tmp_path / "good.skops"
    save_model(models["pipeline"], path, metadata={"image_size": [8, 8]})
    return path


@pytest.mark.parametrize(("module", "cls"), [
    ("os", "system"), ("subprocess", "Popen"), ("builtins", "eval"),
])
def test_tampered_file_naming_an_untrusted_type_is_refused_before_loading(
        saved, tmp_path, monkeypatch, module, cls):
    def to_untrusted(node):
        if node.get("__class__") == "NNClassifier":
            node["__class__"], node["__module__"] = cls, module

    bad = tmp_path / "bad.skops"
    _rewrite_schema(saved, bad, to_untrusted)

    def must_not_run(*args, **kwargs):
        raise AssertionError("skops.io.load was called on an untrusted file")

    monkeypatch.setattr(sio, "load", must_not_run)
    with pytest.raises(ValueError, match="does not trust") as info:
        load_model(bad)
    assert f"{module}.{cls}" in str(info.value)
    assert str(bad) in str(info.value)


def _square(X):
    return X * X


def test_model_with_a_function_inside_is_refused(digits, tmp_path):
    path = tmp_path / "func.skops"
    model = make_pipeline(FunctionTransformer(_square), NNClassifier((4,), max_iter=2))
    save_model(_fit(model, *digits), path)
    with pytest.raises(ValueError, match="_square"):
        load_model(path)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_fails_cleanly(saved, tmp_path, keep):
    data = saved.read_bytes()
    bad = tmp_path / "cut.skops"
    bad.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="not a readable sknnedu model file") as info:
        load_model(bad)
    assert str(bad) in str(info.value)


@pytest.mark.parametrize("edit", ["broken_json", "unknown_loader", "missing_array"])
def test_corrupt_schema_fails_cleanly(saved, tmp_path, edit):
    bad = tmp_path / "corrupt.skops"
    if edit == "broken_json":
        with zipfile.ZipFile(saved) as z:
            files = {name: z.read(name) for name in z.namelist()}
        files["schema.json"] = files["schema.json"][:200]
        with zipfile.ZipFile(bad, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
    elif edit == "unknown_loader":
        _rewrite_schema(saved, bad, lambda n: n.get("__loader__") == "ObjectNode"
                        and n.update(__loader__="NoSuchNode"))
    else:
        _rewrite_schema(saved, bad, lambda n: n.get("__loader__") == "NdArrayNode"
                        and n.update(file="missing.npy"))
    with pytest.raises(ValueError, match="not a readable sknnedu model file") as info:
        load_model(bad)
    assert str(bad) in str(info.value)


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        load_model(bad)


def test_bare_skops_object_is_not_a_model_file(models, tmp_path):
    path = tmp_path / "bare.skops"
    sio.dump(models["nn"], path)
    with pytest.raises(ValueError, match="bare object"):
        load_model(path)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.skops"):
        load_model(tmp_path / "nothere.skops")
    with pytest.raises(IsADirectoryError, match="folder"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="nothere.skops"):
        load_metadata(tmp_path / "nothere.skops")


@pytest.mark.parametrize("metadata", [
    {"size": np.array([8, 8])}, {"n": np.int64(3)}, {1: "a"}, ["not", "a", "dict"],
    {"obj": object()},
])
def test_metadata_must_be_builtins(models, tmp_path, metadata):
    with pytest.raises(ValueError, match="metadata"):
        save_model(models["nn"], tmp_path / "m.skops", metadata=metadata)
    assert not (tmp_path / "m.skops").exists()


def test_save_into_a_missing_folder_raises_oserror(models, tmp_path):
    with pytest.raises(OSError):
        save_model(models["nn"], tmp_path / "no" / "such" / "folder" / "m.skops")


@pytest.mark.parametrize("model", ["a string", {"coefs": [1, 2]}, [1, 2, 3], None, 42])
def test_file_holding_a_non_estimator_is_refused(tmp_path, model):
    # issue 11, item 18: save_model stores anything; load_model must check what it read
    path = tmp_path / "odd.skops"
    save_model(model, path, metadata={"image_size": [8, 8]})
    with pytest.raises(ValueError, match=f"odd.skops.*model is a {type(model).__name__}, "
                                         "not an estimator"):
        load_model(path)
