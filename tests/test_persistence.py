"""Tests of sknnedu.persistence, and of pickle/joblib on the fitted estimators; a tampered or
truncated model file fails cleanly without importing or running anything."""

from __future__ import annotations

import io
import itertools
import json
import os
import pickle
import sys
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st
from plain_data import not_plain
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
    # and where files written by 0.1 name NNRegressor (its __module__ was rewritten there)
    assert set(TRUSTED_TYPES) == names | {"sknnedu.neural_network.NNRegressor"}


def test_saved_pipeline_needs_only_trusted_types(models, tmp_path):
    path = tmp_path / "m.skops"
    save_model(models["pipeline"], path, metadata={"image_size": [8, 8]})
    assert set(sio.get_untrusted_types(file=path)) <= set(TRUSTED_TYPES)


# ------------------------------------------------------------------------------------------
# the fitted state is plain data
# ------------------------------------------------------------------------------------------


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
    assert [p for k, v in vars(clf).items() for p in not_plain(v, k)] == []


@pytest.mark.parametrize("params", [
    {}, {"filters": "random"}, {"filters": "kmeans", "n_filters": 4}, {"pooling": None},
    {"filters": ["sobel_x", "laplacian"], "pooling": "avg"},
    {"filters": np.ones((2, 3, 3)), "activation": "abs"},
])
def test_conv_transformer_fitted_state_is_arrays_and_builtins(digits, params):
    conv = ConvFeatureTransformer(image_shape=(8, 8), random_state=0, **params).fit(digits[0])
    fitted = {k: v for k, v in vars(conv).items() if k.endswith("_")}
    assert [p for k, v in fitted.items() for p in not_plain(v, k)] == []


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


# ---------------------- tampered or truncated files fail cleanly and execute nothing (hardening)


#: a number for each damaged file's name
_counter = itertools.count()


# model files: tampered or truncated files fail cleanly and execute nothing
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
def test_truncated_or_corrupted_file_fails_cleanly_or_loads_intact(model_file, small_digits, cut,
                                                                   flips):
    """Any damage: load_model raises ValueError, or (damage in bytes the zip does not check,
    such as timestamps) returns a model that predicts exactly as the saved one."""
    X, _ = small_digits
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
