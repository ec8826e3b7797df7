"""Tests for sknnedu.ts_format: hand-written .ts files, and the archive files sktime ships.

The archive files are found with ``sktime_ts_path``, which does not import sktime
(slow); the tests that need them are skipped when sktime is not installed.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sknnedu import datasets
from sknnedu.datasets import load_ts, sktime_ts_path

HEADER = "@problemName Toy\n@timeStamps false\n@missing false\n"


def _write(tmp_path: Path, text: str, name: str = "Toy_TRAIN.ts", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline=newline)
    return path


def _archive(name: str, split: str = "train") -> Path:
    """The archive file sktime ships, or a skip when sktime is not installed."""
    try:
        return sktime_ts_path(name, split)
    except ModuleNotFoundError:
        pytest.skip("sktime is not installed (it is in the 'test' extra)")


# --------------------------------------------------------------------------- #
# well-formed files
# --------------------------------------------------------------------------- #
def test_univariate_equal_length(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate true\n@equalLength true\n@seriesLength 4\n"
                  "@classLabel true 1 2\n@data\n1,2,3,4:1\n-1.5,0,2e-3,7:2\n0,0,0,0:1\n")
    X, y = load_ts(path)
    assert isinstance(X, np.ndarray) and X.dtype == np.float64
    assert X.shape == (3, 4, 1)  # (n, T, f): batch, time, features
    np.testing.assert_array_equal(X[1, :, 0], [-1.5, 0, 2e-3, 7])
    np.testing.assert_array_equal(y, ["1", "2", "1"])
    assert y.dtype.kind == "U"


def test_multivariate_unequal_length_is_a_list(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate false\n@dimensions 3\n@equalLength false\n"
                  "@classLabel true walk run\n@data\n"
                  "1,2:3,4:5,6:walk\n"
                  "1,2,3,4:5,6,7,8:9,10,11,12:run\n"
                  "0.5,0.25,0.125:1,1,1:2,2,2:walk\n")
    X, y, meta = load_ts(path, return_meta=True)
    assert isinstance(X, list) and [x.shape for x in X] == [(2, 3), (4, 3), (3, 3)]
    np.testing.assert_array_equal(X[0], [[1, 3, 5], [2, 4, 6]])  # time down, dimensions across
    np.testing.assert_array_equal(X[1][:, 2], [9, 10, 11, 12])
    np.testing.assert_array_equal(y, ["walk", "run", "walk"])
    assert meta["n_dims"] == 3 and meta["class_labels"] == ("walk", "run")
    np.testing.assert_array_equal(meta["lengths"], [2, 4, 3])


def test_equal_lengths_give_an_array_whatever_the_header_says(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate false\n@equalLength false\n"
                  "@classLabel true a\n@data\n1,2:3,4:a\n5,6:7,8:a\n")
    X, _ = load_ts(path)
    assert isinstance(X, np.ndarray) and X.shape == (2, 2, 2)
    np.testing.assert_array_equal(X[1], [[5, 7], [6, 8]])


def test_regression_targets_are_floats(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate true\n@equalLength true\n"
                  "@targetLabel true\n@data\n1,2,3:0.5\n4,5,6:-12\n7,8,9:3e2\n")
    X, y, meta = load_ts(path, return_meta=True)
    assert X.shape == (3, 3, 1)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.5, -12.0, 300.0])
    assert meta["target"] and meta["class_labels"] is None


def test_unlabelled_series_give_y_none(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate false\n@classLabel false\n@data\n"
                  "1,2:3,4\n5,6:7,8\n")
    X, y = load_ts(path)
    assert X.shape == (2, 2, 2) and y is None


def test_header_is_case_insensitive_and_tolerant(tmp_path):
    # lower-case and upper-case tags, TRUE/False, tabs and runs of spaces, comments
    # ('#' anywhere, '%' before @data), blank lines, a BOM and Windows line ends.
    text = ("\ufeff% an ARFF-style comment\n# a comment\n@PROBLEMNAME toy\n"
            "@timestamps\tFalse\n@Univariate   TRUE\n@equallength true\n\n"
            "@CLASSLABEL true Standing Running\n@DATA\n"
            "# a comment among the series\n1,2,3:Standing\n\n 4 , 5 , 6 : Running \n")
    path = _write(tmp_path, text, newline="\r\n")
    X, y, meta = load_ts(path, return_meta=True)
    np.testing.assert_array_equal(X[:, :, 0], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(y, ["Standing", "Running"])  # labels kept as written
    assert meta["problem_name"] == "toy"


def test_unknown_tags_and_a_repeated_equal_tag_are_accepted(tmp_path):
    path = _write(tmp_path, "@problemName A\n@problemName B\n@univariate true\n"
                  "@univariate true\n@somethingNew 42\n@classLabel true x\n@data\n1,2:x\n")
    X, y, meta = load_ts(path, return_meta=True)
    assert X.shape == (1, 2, 1) and meta["problem_name"] == "B"


def test_missing_values_raise_by_default(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate true\n@classLabel true a\n@data\n"
                  "1,2,3:a\n1,?,3:a\n")
    with pytest.raises(ValueError, match=r"Toy_TRAIN\.ts, line 8: a missing value .*"
                       r"missing='nan'"):
        load_ts(path)


def test_missing_values_as_nan_warn_once(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate false\n@classLabel true a\n@data\n"
                  "1,?,3:4,5,6:a\n1,2,3:4,5,6:a\n?,2,NaN:4,5,?:a\n")
    with pytest.warns(UserWarning, match=r"4 missing value\(s\) on 2 line\(s\) \(first: line 7\)"
                      r" read as NaN") as record:
        X, y, meta = load_ts(path, missing="nan", return_meta=True)
    assert len(record) == 1
    expected = np.zeros(X.shape, dtype=bool)
    expected[0, 1, 0] = expected[2, 0, 0] = expected[2, 2, 0] = expected[2, 2, 1] = True
    np.testing.assert_array_equal(np.isnan(X), expected)
    assert meta["n_missing"] == 4
    assert X[2, 1, 0] == 2


def test_no_missing_value_no_warning(tmp_path):
    path = _write(tmp_path, HEADER + "@univariate true\n@classLabel true a\n@data\n1,2:a\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_ts(path, missing="nan")


def test_timestamped_values_are_read_in_order(tmp_path):
    # integer timestamps in one file, date-times (which contain ':' and ' ') in another
    path = _write(tmp_path, "@problemName T\n@timeStamps true\n@univariate false\n"
                  "@classLabel true a b\n@data\n"
                  "(0,1.5),(1,2.5),(3,?):(0,4),(1,5),(3,6):a\n"
                  "(0, 7) , (2, 8),(4,9):(0,1),(2,1),(4,1):b\n")
    with pytest.warns(UserWarning, match="1 missing"):
        X, y, meta = load_ts(path, missing="nan", return_meta=True)
    assert meta["timestamps"] and X.shape == (2, 3, 2)
    np.testing.assert_array_equal(X[0, :2, 0], [1.5, 2.5])
    assert np.isnan(X[0, 2, 0])
    np.testing.assert_array_equal(X[1], [[7, 1], [8, 1], [9, 1]])
    np.testing.assert_array_equal(y, ["a", "b"])
    dates = _write(tmp_path, "@problemName D\n@timeStamps true\n@univariate true\n"
                   "@targetLabel true\n@data\n"
                   "(2007-01-01 00:00:00,10.0),(2007-01-01 00:10:00,11.0):0.5\n",
                   name="dates.ts")
    X, y = load_ts(dates)
    np.testing.assert_array_equal(X, [[[10.0], [11.0]]])
    np.testing.assert_array_equal(y, [0.5])


def test_load_ts_is_exported_from_datasets():
    assert {"load_ts", "sktime_ts_path"} <= set(datasets.__all__)
    assert datasets.load_ts.__doc__ and "(n, T, f)" in datasets.load_ts.__doc__


# --------------------------------------------------------------------------- #
# malformed files: a ValueError that names the file and the line
# --------------------------------------------------------------------------- #
UNI = "@problemName Bad\n@univariate true\n@classLabel true 1 2\n@data\n"
MULTI = "@problemName Bad\n@univariate false\n@dimensions 2\n@classLabel true 1 2\n@data\n"
MALFORMED = {
    "no @data": ("@problemName Bad\n@classLabel true 1 2\n1,2,3:1\n", r"no @data line"),
    "no series": (UNI + "\n# nothing\n", r"no series after @data"),
    "wrong number of dimensions": (MULTI + "1,2:3,4:1\n1,2:1\n",
                                   r"line 7: 1 dimension\(s\) .*expected 2 \(the header says "
                                   r"@dimensions 2\)"),
    "dimensions differ from the first line": (
        "@univariate false\n@classLabel true 1\n@data\n1:2:3:1\n1:2:1\n",
        r"line 5: 2 dimension\(s\) .*expected 3 \(as on the first data line\)"),
    "univariate with two dimensions": (UNI + "1,2:3,4:1\n",
                                       r"line 5: 2 dimension\(s\).*@univariate true"),
    "label not in @classLabel": (UNI + "1,2,3:1\n1,2,3:3\n",
                                 r"line 6: the class label '3' is not among those of "
                                 r"@classLabel: \['1', '2'\]"),
    "label spelled differently": (UNI + "1,2,3:1.0\n", r"line 5: the class label '1.0'"),
    "non-numeric value": (UNI + "1,2,3:1\n1,abc,3:2\n",
                          r"line 6, dimension 1, value 2: 'abc' is not a number"),
    "empty value": (UNI + "1,2,:1\n", r"line 5, dimension 1, value 3: an empty value"),
    "infinite value": (UNI + "1,inf,3:1\n", r"line 5, dimension 1, value 2: 'inf' is infinite"),
    "empty dimension": (MULTI + "1,2::1\n", r"line 6, dimension 2: the dimension has no values"),
    "dimensions of different lengths": (MULTI + "1,2,3:4,5:1\n",
                                        r"line 6: the dimensions of one series must have the "
                                        r"same length, got lengths \[3, 2\]"),
    "no label": (UNI + "1,2,3\n", r"line 5: no ':' before a label"),
    "empty label": (UNI + "1,2,3:\n", r"line 5: the label after the last ':' is empty"),
    "target not a number": ("@univariate true\n@targetLabel true\n@data\n1,2:high\n",
                            r"line 4: the target 'high' is not a number"),
    "unequal under @equalLength true": (
        "@univariate true\n@equalLength true\n@classLabel true 1\n@data\n1,2,3:1\n1,2:1\n",
        r"line 6: the series has 2 values per dimension, the first has 3"),
    "@seriesLength mismatch": ("@univariate true\n@seriesLength 4\n@classLabel true 1\n@data\n"
                               "1,2,3:1\n", r"line 5: the series has 3 values .*@seriesLength 4"),
    "tag after @data": (UNI + "1,2:1\n@classLabel true 1 2\n",
                        r"line 6: the header tag @classLabel comes after @data"),
    "@classLabel true without labels": ("@classLabel true\n@data\n",
                                        r"line 1: '@classLabel true' must list the class labels"),
    "@classLabel false with labels": ("@classLabel false 1 2\n@data\n",
                                      r"line 1: '@classLabel false' lists labels"),
    "no label tag": ("@problemName Bad\n@univariate true\n@data\n1,2\n",
                     r"neither @classLabel nor @targetLabel"),
    "class and target labels": ("@classLabel true 1\n@targetLabel true\n@data\n",
                                r"both @classLabel and @targetLabel"),
    "not a boolean": ("@univariate yes\n@classLabel true 1\n@data\n",
                      r"line 1: @univariate takes true or false, got 'yes'"),
    "bad @dimensions": ("@dimensions two\n@classLabel true 1\n@data\n",
                        r"line 1: @dimensions takes one integer >= 1, got 'two'"),
    "@univariate true with @dimensions 3": ("@univariate true\n@dimensions 3\n"
                                            "@classLabel true 1\n@data\n",
                                            r"'@univariate true' contradicts '@dimensions 3'"),
    "repeated tag, different values": ("@classLabel true 1 2\n@classLabel true 1 3\n@data\n",
                                       r"line 2: @classLabel appears twice .*'true 1 2' and "
                                       r"'true 1 3'"),
    "@data with a value": ("@classLabel true 1\n@data now\n", r"line 2: @data takes no value"),
    "timestamp tuple without a value": (
        "@timeStamps true\n@classLabel true 1\n@data\n(0,1),(2):1\n",
        r"line 4, dimension 1: the tuple \(2\) has no ','"),
    "timestamps but plain values": (
        "@timeStamps true\n@classLabel true 1\n@data\n1,2,3:1\n",
        r"line 4, dimension 1: with '@timeStamps true' a dimension is a list of"),
    "unclosed parenthesis": ("@timeStamps true\n@classLabel true 1\n@data\n(0,1),(1,2:1\n",
                             r"line 4: a '\(' is never closed"),
}


@pytest.mark.parametrize("text, message", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_names_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, text, name="Bad_TRAIN.ts")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        load_ts(path)


@pytest.mark.parametrize("line", [1, 6], ids=["in the header", "in the data"])
def test_r4_23_a_file_that_is_not_utf8_names_the_file_line_and_byte(tmp_path, line):
    lines = ["@problemName Toy", "@univariate true", "@classLabel true a b", "@data",
             "1,2,3:a", "4,5,6:b"]
    lines[line - 1] = lines[line - 1].replace("Toy", "Caf\u00e9").replace("5", "5\u00e9")
    path = tmp_path / "Latin1_TRAIN.ts"
    path.write_bytes("\n".join(lines).encode("latin-1"))  # e-acute is the byte 0xe9
    column = lines[line - 1].index("\u00e9") + 1
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}, line {line}: byte 0xe9 at "
                                         f"column {column} is not UTF-8.*Convert the file"):
        load_ts(path)
    if line == 1:  # the same header in UTF-8 is read
        path.write_text("\n".join(lines), encoding="utf-8")
        X, y = load_ts(path)
        assert X.shape == (2, 3, 1) and y.tolist() == ["a", "b"]


def test_bad_arguments(tmp_path):
    path = _write(tmp_path, UNI + "1,2:1\n")
    with pytest.raises(ValueError, match=r"missing must be 'raise' or 'nan', got 'drop'"):
        load_ts(path, missing="drop")
    with pytest.raises(FileNotFoundError):
        load_ts(tmp_path / "absent.ts")


# --------------------------------------------------------------------------- #
# sktime_ts_path
# --------------------------------------------------------------------------- #
def test_sktime_ts_path_errors(monkeypatch):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'valid'"):
        sktime_ts_path("GunPoint", "valid")
    if importlib.util.find_spec("sktime") is not None:
        with pytest.raises(FileNotFoundError, match=r"ships no NoSuchProblem_TRAIN\.ts.*"
                           r"'GunPoint'"):
            sktime_ts_path("NoSuchProblem")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install sktime"):
        sktime_ts_path("GunPoint")


def test_sktime_ts_path_does_not_import_sktime():
    path = _archive("GunPoint", "TEST")
    assert path.name == "GunPoint_TEST.ts" and path.is_file()
    code = ("import sys; from sknnedu.datasets import sktime_ts_path; "
            "sktime_ts_path('GunPoint'); print('sktime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- #
# the archive files sktime ships
# --------------------------------------------------------------------------- #
def _plain_parse(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An independent reader for univariate, equal-length, labelled files without '?'."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    rows = [line.replace(":", ",").split(",") for line in lines[start:] if line.strip()]
    return np.array([r[:-1] for r in rows], dtype=float), np.array([r[-1] for r in rows])


@pytest.mark.parametrize("name, shape, classes", [
    ("GunPoint", (50, 150, 1), {"1", "2"}),
    ("ItalyPowerDemand", (67, 24, 1), {"1", "2"}),
    ("ArrowHead", (36, 251, 1), {"0", "1", "2"}),  # its header has no @equalLength
    ("OSULeaf", (200, 427, 1), {"1", "2", "3", "4", "5", "6"}),
])
def test_univariate_archive_problems(name, shape, classes):
    path = _archive(name)
    X, y = load_ts(path)
    assert X.shape == shape and y.shape == (shape[0],)
    assert set(y) == classes
    values, labels = _plain_parse(path)
    np.testing.assert_array_equal(X[:, :, 0], values)
    np.testing.assert_array_equal(y, labels)


def test_gunpoint_first_values():
    X, y = load_ts(_archive("GunPoint"))
    np.testing.assert_array_equal(X[0, :2, 0], [-0.6478854, -0.64199155])
    assert y[0] == "2"
    X_test, y_test = load_ts(_archive("GunPoint", "test"))
    assert X_test.shape == (150, 150, 1) and set(y_test) == {"1", "2"}


def test_japanese_vowels_is_a_list_of_unequal_lengths():
    X, y, meta = load_ts(_archive("JapaneseVowels"), return_meta=True)
    assert isinstance(X, list) and len(X) == 270 and y.shape == (270,)
    assert all(x.ndim == 2 and x.shape[1] == 12 for x in X)
    assert meta["n_dims"] == 12 and meta["class_labels"] == tuple("123456789")
    X_test, _ = load_ts(_archive("JapaneseVowels", "test"))
    lengths = [x.shape[0] for x in X + X_test]
    assert (min(lengths), max(lengths)) == (7, 29)


def test_basic_motions_is_multivariate_with_word_labels():
    X, y, meta = load_ts(_archive("BasicMotions"), return_meta=True)
    assert X.shape == (40, 100, 6)
    assert meta["class_labels"] == ("Standing", "Running", "Walking", "Badminton")
    assert set(y) == set(meta["class_labels"])


def test_regression_archive_problem():
    X, y = load_ts(_archive("Covid3Month"))  # lower-case tags, @targetlabel true
    assert X.shape == (140, 84, 1) and y.dtype == np.float64 and np.isfinite(y).all()
