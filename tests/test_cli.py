"""Tests of the command line, sknnedu.cli (mostly in-process through ``main``)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imsave
from sklearn.datasets import load_digits

from sknnedu import cli
from sknnedu.cli import _demo, _model, _report, _train, main
from sknnedu.persistence import load_metadata, load_model, save_model

CLASSES = ("checker", "horizontal", "vertical")
TINY_DEMO = _demo.DemoSettings(sizes=((8,),), max_iter=3, cv=2, cnn_max_iter=2)


def _pattern(kind: str, phase: int, size: int = 16, width: int = 2) -> np.ndarray:
    """A 0/1 image of stripes (or a checkerboard) ``width`` pixels wide, shifted by ``phase``."""
    r = (np.arange(size) + phase) // width % 2
    if kind == "horizontal":
        return np.repeat(r[:, None], size, axis=1)
    if kind == "vertical":
        return np.repeat(r[None, :], size, axis=0)
    return (np.add.outer(np.arange(size), np.arange(size)) // width + phase) % 2


def _write_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, (np.clip(img, 0, 1) * 255).astype(np.uint8), check_contrast=False)


def _image_set(root: Path, classes=CLASSES, n: int = 10, size=lambda i: 16) -> Path:
    rng = np.random.default_rng(0)
    for kind in classes:
        for i in range(n):
            img = _pattern(kind, i % 4, size(i)) + rng.normal(0, 0.1, (size(i),) * 2)
            _write_png(root / kind / f"{kind}{i:02d}.png", img)
    return root


@pytest.fixture(scope="module")
def image_set(tmp_path_factory) -> Path:
    return _image_set(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def trained(image_set, tmp_path_factory) -> tuple[Path, str]:
    """A model trained by ``sknnedu train`` on image_set, and what train printed."""
    model = tmp_path_factory.mktemp("model") / "stripes.skops"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["train", str(image_set), "--out", str(model)])
    assert status == 0, err.getvalue()
    return model, out.getvalue()


def _one_error_line(capsys, captured=None) -> str:
    err = (captured or capsys.readouterr()).err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sknnedu: error: ")
    return lines[0]


# ------------------------------------------------------------------------------------------
# help
# ------------------------------------------------------------------------------------------
def test_module_help_in_a_subprocess():
    done = subprocess.run([sys.executable, "-m", "sknnedu", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for word in ("demo", "train", "predict"):
        assert word in done.stdout


@pytest.mark.parametrize("command", ["demo", "train", "predict"])
def test_help_of_each_command(capsys, command):
    assert main([command, "--help"]) == 0
    assert f"usage: sknnedu {command}" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["fly"]) == 2
    assert main(["train", "folder"]) == 2  # --out is required
    assert main(["train", "folder", "--out", "m", "--cv", "1"]) == 2
    assert "usage:" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# demo
# ------------------------------------------------------------------------------------------
def test_demo_quick_writes_pictures(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / "pictures"
    assert main(["demo", "--quick", "--out", str(out), "--n-jobs", "1"]) == 0
    text = capsys.readouterr().out
    for name in ("loss_curve", "confusion_matrix", "filters", "grid_heatmap"):
        png = out / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert str(png) in text
    for activation in _model.NOTES_ACTIVATIONS + _model.MLP_ACTIVATIONS:
        assert f"activation={activation}" in text
    assert "rank" in text and "best parameters" in text
    accuracy = float(re.search(r"conv \+ NNClassifier\s+([01]\.\d+)", text).group(1))
    mlp_accuracy = float(re.search(r"MLPClassifier\s+([01]\.\d+)", text).group(1))
    assert accuracy > 0.9
    assert mlp_accuracy > 0.8


def test_demo_without_matplotlib_skips_pictures(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(_demo, "QUICK_DEMO", TINY_DEMO)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    out = tmp_path / "pictures"
    assert main(["demo", "--quick", "--out", str(out), "--n-jobs", "1"]) == 0
    assert "pictures skipped" in capsys.readouterr().out
    assert not out.exists()


def test_format_confusion_lines_up_class_names():
    text = _report.format_confusion(np.array([[3, 0], [1, 12]]), ["cat", "elephant"])
    lines = text.splitlines()
    assert lines[1].split() == ["cat", "elephant"]
    assert lines[2].split() == ["cat", "3", "0"]
    assert lines[3].split() == ["elephant", "1", "12"]
    assert len({len(line) for line in lines[1:]}) == 1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_conv_pipeline_reads_digits_well():
    X, y = load_digits(return_X_y=True)
    model = cli.conv_pipeline((8, 8), max_iter=30).fit(X[:1000] / 16, y[:1000])
    assert model.score(X[1000:] / 16, y[1000:]) > 0.9
    assert model["conv"].kernels_.shape == (len(cli.FILTER_NAMES), 3, 3, 1)


# ------------------------------------------------------------------------------------------
# train and predict
# ------------------------------------------------------------------------------------------
def test_train_reports_and_saves(trained):
    model_path, out = trained
    assert "cross-validated accuracy: 1.0000" in out
    assert "confusion matrix" in out
    for name in CLASSES:
        assert re.search(rf"^{name}\s+\d+\s+\d+\s+\d+$", out, flags=re.M)
    model, metadata = load_model(model_path, return_metadata=True)
    assert metadata["class_names"] == list(CLASSES)
    assert metadata["image_size"] == [16, 16] and metadata["as_gray"] is False
    assert list(model.classes_) == list(CLASSES)


def test_predict_prints_path_class_probability(trained, image_set, capsys):
    images = [str(image_set / kind / f"{kind}{i:02d}.png") for kind in CLASSES for i in (0, 5)]
    assert main(["predict", str(trained[0]), *images]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(images)
    for line, image in zip(lines, images):
        path, label, probability = line.split("\t")
        assert path == image
        assert label == Path(image).parent.name
        assert 0.5 < float(probability) <= 1.0


def test_predict_new_images_of_another_size(trained, tmp_path, capsys):
    """New images are resized to the training size (16x16), as the metadata says."""
    paths = []
    for kind in CLASSES:
        paths.append(tmp_path / f"new_{kind}.png")
        _write_png(paths[-1], _pattern(kind, 0, size=32, width=4))  # 16x16, width 2 once resized
    assert main(["predict", str(trained[0]), *map(str, paths)]) == 0
    labels = [line.split("\t")[1] for line in capsys.readouterr().out.strip().splitlines()]
    assert labels == list(CLASSES)


def test_train_search_gray_resized(image_set, tmp_path, capsys):
    model_path = tmp_path / "gray.skops"
    status = main(["train", str(image_set), "--out", str(model_path), "--search", "--gray",
                   "--cv", "3", "--image-size", "12", "12"])
    out = capsys.readouterr().out
    assert status == 0
    assert "rank" in out and "best parameters" in out and "(3 folds)" in out
    metadata = load_metadata(model_path)
    assert metadata["image_size"] == [12, 12] and metadata["as_gray"] is True
    image = image_set / "vertical" / "vertical03.png"
    assert main(["predict", str(model_path), str(image)]) == 0
    assert capsys.readouterr().out.split("\t")[1] == "vertical"


def test_train_resizes_images_of_different_sizes(tmp_path, capsys):
    folder = _image_set(tmp_path / "mixed", classes=CLASSES[1:], n=4,
                        size=lambda i: 12 if i % 2 else 20)
    model_path = tmp_path / "mixed.skops"
    assert main(["train", str(folder), "--out", str(model_path)]) == 0
    assert "resizing them all to 32x32" in capsys.readouterr().out
    assert load_metadata(model_path)["image_size"] == [32, 32]


def test_cv_folds_are_capped_by_the_smallest_class(tmp_path, capsys):
    folder = _image_set(tmp_path / "few", classes=CLASSES[1:], n=3)
    assert main(["train", str(folder), "--out", str(tmp_path / "m.skops"), "--cv", "10"]) == 0
    assert "(3 folds)" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# errors: one line on stderr, exit status 2
# ------------------------------------------------------------------------------------------
def _error_cases(root: Path, image_set: Path, model: Path) -> dict[str, list[str]]:
    (root / "empty").mkdir()
    _image_set(root / "one_class", classes=CLASSES[:1], n=3)
    _image_set(root / "single_image", classes=CLASSES[:2], n=1)
    (root / "junk.png").write_text("not an image")
    (root / "junk.skops").write_bytes(b"PK\x03\x04 truncated")
    (root / "cut.skops").write_bytes(model.read_bytes()[:2000])
    with zipfile.ZipFile(root / "empty.skops", "w"):
        pass
    save_model(cli.conv_pipeline((16, 16, 3)), root / "no_metadata.skops")
    meta = {"image_size": [16, 16], "as_gray": False}
    save_model("just a string", root / "string.skops", metadata=meta)
    save_model({"weights": [1.0, 2.0]}, root / "dict.skops", metadata=meta)
    X = np.random.default_rng(0).random((6, 16 * 16 * 3))
    save_model(cli.conv_pipeline((16, 16, 3))[:1].fit(X), root / "transformer.skops",
               metadata=meta)
    save_model(cli.conv_pipeline((16, 16, 3)), root / "unfitted.skops", metadata=meta)
    image = str(image_set / "vertical" / "vertical00.png")
    out = str(root / "out.skops")
    return {
        "missing folder": ["train", str(root / "nothere"), "--out", out],
        "file as folder": ["train", image, "--out", out],
        "empty folder": ["train", str(root / "empty"), "--out", out],
        "one class": ["train", str(root / "one_class"), "--out", out],
        "one image in a class": ["train", str(root / "single_image"), "--out", out],
        "output folder missing": ["train", str(image_set), "--out",
                                  str(root / "nothere" / "m.skops")],
        "output is a folder": ["train", str(image_set), "--out", str(root)],
        "missing model": ["predict", str(root / "nothere.skops"), image],
        "model is a folder": ["predict", str(root), image],
        "junk model": ["predict", str(root / "junk.skops"), image],
        "truncated model": ["predict", str(root / "cut.skops"), image],
        "empty zip model": ["predict", str(root / "empty.skops"), image],
        "image as model": ["predict", image, image],
        "model without metadata": ["predict", str(root / "no_metadata.skops"), image],
        "model is a str": ["predict", str(root / "string.skops"), image],
        "model is a dict": ["predict", str(root / "dict.skops"), image],
        "model has no predict_proba": ["predict", str(root / "transformer.skops"), image],
        "model is unfitted": ["predict", str(root / "unfitted.skops"), image],
        "huge image size": ["train", str(image_set), "--out", out,
                            "--image-size", "100000", "100000"],
        "missing image": ["predict", str(model), image, str(root / "nothere.png")],
        "unreadable image": ["predict", str(model), str(root / "junk.png")],
        "folder as image": ["predict", str(model), str(root)],
    }


@pytest.fixture(scope="module")
def error_cases(tmp_path_factory, image_set, trained):
    return _error_cases(tmp_path_factory.mktemp("errors"), image_set, trained[0])


ERROR_NAMES = [
    "missing folder", "file as folder", "empty folder", "one class", "one image in a class",
    "output folder missing", "output is a folder",
    "missing model", "model is a folder", "junk model", "truncated model", "empty zip model",
    "image as model", "model without metadata", "missing image", "unreadable image",
    "folder as image", "model is a str", "model is a dict", "model has no predict_proba",
    "model is unfitted", "huge image size",
]


@pytest.mark.parametrize("case", ERROR_NAMES)
def test_expected_errors_give_one_line_and_status_2(error_cases, capsys, case):
    argv = error_cases[case]
    assert main(argv) == 2
    captured = capsys.readouterr()
    line = _one_error_line(capsys, captured)
    assert len(line) < 400
    if case.startswith("missing"):
        assert "nothere" in line
    if case == "missing image":  # the good image before it is still classified
        assert captured.out.startswith(argv[2] + "\t")
    else:
        assert captured.out == ""


@pytest.mark.parametrize(("case", "words"), [
    ("model is a str", "model is a str, not an estimator"),
    ("model is a dict", "model is a dict, not an estimator"),
    ("model has no predict_proba", "no predict_proba"),
    ("model is unfitted", "unfitted"),
    ("huge image size", "too large: at most 1024"),
])
def test_bad_model_or_size_says_what_is_wrong(error_cases, capsys, case, words):
    # issue 11, items 18 and 19: these printed tracebacks
    assert main(error_cases[case]) == 2
    assert words in _one_error_line(capsys)


def test_memory_error_is_one_line(image_set, tmp_path, capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(_train, "load_training_images", no_memory)
    assert main(["train", str(image_set), "--out", str(tmp_path / "m.skops")]) == 2
    assert "out of memory" in _one_error_line(capsys)


def test_error_cases_are_all_tested(error_cases):
    assert sorted(error_cases) == sorted(ERROR_NAMES)


def test_predict_goes_on_past_bad_images(error_cases, capsys):
    # issue 11, item 20: as `file` does, a line per readable image, an error per bad one
    model = error_cases["missing image"][1]
    good = error_cases["missing image"][2]
    junk = error_cases["unreadable image"][2]
    missing = error_cases["missing image"][3]
    assert main(["predict", model, good, missing, junk, good]) == 2
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert [line.split("\t")[0] for line in out] == [good, good]
    assert out[0] == out[1]
    err = captured.err.splitlines()
    assert len(err) == 2 and "Traceback" not in captured.err
    assert err[0].startswith("sknnedu: error: ") and "nothere.png" in err[0]
    assert err[1].startswith("sknnedu: error: ") and junk in err[1]


def test_error_in_a_subprocess_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    done = subprocess.run(
        [sys.executable, "-m", "sknnedu", "predict", str(tmp_path / "x.skops"), "a.png"],
        capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"sknnedu: error: Model file not found: '{tmp_path / 'x.skops'}'"]


def test_train_never_holds_every_photo_at_full_size(tmp_path, capsys):
    # issue 11, item 3: without --image-size, train read every image at full size first
    import tracemalloc

    side = 300
    full = side * side * 3 * 4  # bytes of one float32 image at full size
    for i in range(8):
        _write_png(tmp_path / "ab"[i % 2] / f"{i}.png",
                   np.resize(_pattern("checker", i, side), (side, side, 3)))
    tracemalloc.start()
    try:
        ds = _train.load_training_images(str(tmp_path), None, False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.images.shape == (8, *_train.DEFAULT_IMAGE_SIZE, 3)
    assert "large (300x300)" in capsys.readouterr().out
    assert peak < 3 * full, f"{peak / full:.1f} full-size images"


def test_train_a_cnn_and_predict(image_set, tmp_path, capsys):
    model_path = tmp_path / "cnn.skops"
    status = main(["train", str(image_set), "--out", str(model_path), "--model", "cnn",
                   "--cv", "2", "--image-size", "12", "12"])
    out = capsys.readouterr().out
    assert status == 0
    assert "CNNClassifier" in out and "cross-validated accuracy" in out
    model, metadata = load_model(model_path, return_metadata=True)
    assert type(model).__name__ == "CNNClassifier"
    assert model.image_shape_ == (12, 12, 3) and metadata["image_size"] == [12, 12]
    images = [str(image_set / kind / f"{kind}03.png") for kind in CLASSES]
    assert main(["predict", str(model_path), *images]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == images


def test_train_refuses_an_unknown_model(image_set, tmp_path, capsys):
    status = main(["train", str(image_set), "--out", str(tmp_path / "m.skops"), "--model", "svm"])
    assert status == 2
    assert "invalid choice: 'svm'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# hardening: stray files, small folders, help, pipes, module layout
# ------------------------------------------------------------------------------------------
def _stderr_lines(err: str) -> list[str]:
    assert "Traceback" not in err and "Warning:" not in err, err
    return err.strip().splitlines()


def test_train_skips_stray_files_and_reads_sub_folders(tmp_path, capsys):
    # hardening item 16: a Thumbs.db stopped train with imageio's "Could not find a backend"
    # message, and images in sub-folders of a class folder were dropped without a word
    folder = _image_set(tmp_path / "photos", classes=CLASSES[1:], n=4)
    for i in range(2):
        _write_png(folder / "vertical" / "2023" / f"v{i}.png", _pattern("vertical", i))
    (folder / "horizontal" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60))
    (folder / "vertical" / "notes.txt").write_text("taken on holiday")
    (folder / "vertical" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    model_path = tmp_path / "m.skops"
    assert main(["train", str(folder), "--out", str(model_path), "--cv", "2"]) == 0
    captured = capsys.readouterr()
    assert "10 images" in captured.out and "(2 unreadable file(s) skipped)" in captured.out
    assert "images per class: horizontal 4, vertical 6" in captured.out
    lines = _stderr_lines(captured.err)
    assert len(lines) == 2, lines
    for line, name in zip(lines, ["Thumbs.db", "notes.txt"]):
        assert line.startswith("sknnedu: warning: Cannot read image ")
        assert name in line and "not an image file" in line and line.endswith("; skipped")
    assert load_metadata(model_path)["n_images"] == 10


def test_train_on_nothing_but_stray_files_names_them_then_fails(tmp_path, capsys):
    for kind in CLASSES[:2]:
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "notes.txt").write_text("no images here")
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "m.skops")]) == 2
    lines = _stderr_lines(capsys.readouterr().err)
    assert [line.split(":")[1].strip() for line in lines] == ["warning", "warning", "error"]
    assert "No images found" in lines[-1] and "(2 unreadable file(s) skipped)" in lines[-1]


def test_warnings_beyond_ten_are_counted(tmp_path, capsys):
    _image_set(tmp_path, classes=CLASSES[:2], n=2)
    for i in range(13):
        (tmp_path / "checker" / f"notes{i:02d}.txt").write_text("no")
    _train.load_training_images(str(tmp_path), (8, 8), False)
    lines = _stderr_lines(capsys.readouterr().err)
    assert len(lines) == 11 and lines[-1] == "sknnedu: warning: ... and 3 more like these"


def test_train_cnn_on_a_small_folder_prints_no_python_warnings(tmp_path, capsys):
    # hardening item 17: "UserWarning: batch_size=64 is larger than the 19 samples", with
    # its source line, once per fold and once more for the final fit
    folder = _image_set(tmp_path / "few", classes=CLASSES, n=3, size=lambda i: 8)
    status = main(["train", str(folder), "--out", str(tmp_path / "cnn.skops"), "--model", "cnn",
                   "--cv", "3"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    assert "batch_size=6 (the smallest training fold)" in captured.out
    model = load_model(tmp_path / "cnn.skops")
    assert model.batch_size == 6 and model.n_iter_ >= 1


def test_warnings_as_lines_says_each_message_once(capsys):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with _report.warnings_as_lines():
        for _ in range(6):
            warnings.warn("batch_size=64 is larger than the 19 samples; using 19.", stacklevel=1)
        warnings.warn("not converged", ConvergenceWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    assert capsys.readouterr().err.splitlines() == [
        "sknnedu: warning: batch_size=64 is larger than the 19 samples; using 19."]


def test_train_help_and_size_error_describe_the_chosen_model(image_set, tmp_path, capsys):
    # hardening item 18: both described only the conv pipeline, and counted its features
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "ConvFeatureTransformer" in text and "CNNClassifier" in text
    assert "Train a model on FOLDER" in text
    out = str(tmp_path / "m.skops")
    assert main(["train", str(image_set), "--out", out, "--image-size", "2000", "2000"]) == 2
    line = _one_error_line(capsys)
    assert "ConvFeatureTransformer would give each image 6,000,000 features" in line
    assert main(["train", str(image_set), "--out", out, "--model", "cnn",
                 "--image-size", "2000", "2000"]) == 2
    line = _one_error_line(capsys)
    assert "the CNN's first convolution would compute 128,000,000 values per image" in line
    assert "features" not in line and "ConvFeatureTransformer" not in line


def test_predict_into_a_closed_pipe_exits_quietly(trained, image_set):
    # hardening item 19: `sknnedu predict ... | head -1` ended with
    # "sknnedu: error: [Errno 32] Broken pipe" and status 2
    images = [str(p) for p in sorted(image_set.glob("*/*.png"))[:3]]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sknnedu", "predict", str(trained[0]), *images],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_a_closed_stdout_in_process_is_quiet(trained, image_set, capsys, monkeypatch):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    image = str(image_set / "vertical" / "vertical00.png")
    assert main(["predict", str(trained[0]), image]) == 141
    assert main(["train", "--help"]) == 0  # argparse itself ignores a closed stdout
    assert capsys.readouterr().err == ""


CLI = Path(cli.__file__).parent


@pytest.mark.parametrize("module", sorted(p.name for p in CLI.glob("*.py")))
def test_cli_modules_are_short_and_import_no_private_name(module):
    import ast

    source = (CLI / module).read_text()
    assert len(source.splitlines()) <= 600
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert node.module is None or not private, (module, node.module, private)
