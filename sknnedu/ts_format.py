"""Read the ``.ts`` files of the UCR/UEA time-series archive into numpy arrays.

A ``.ts`` file (the format of timeseriesclassification.com, aeon and sktime) is a
header of ``@`` tags, then one series per line after ``@data``::

    # comments start with '#'
    @problemName  Toy
    @timeStamps   false
    @missing      true
    @univariate   false
    @dimensions   2
    @equalLength  false
    @classLabel   true walk run
    @data
    0.1,0.2,0.3:1.0,1.1,1.2:walk
    0.5,?,0.7,0.8:2.0,2.1,2.2,2.3:run

On a data line ``:`` separates the dimensions (channels) and ``,`` the values of
one dimension; the last field is the label when the header declares one. Every
dimension of one series has the same length, and with ``@equalLength false``
series may differ in length. ``?`` (or ``NaN``) marks a missing value.

=================== ===========================================================
tag                 what :func:`load_ts` does with it
=================== ===========================================================
``@problemName``    returned in ``meta['problem_name']``
``@timeStamps``     ``true``: every value is a ``(timestamp,value)`` tuple; the
                    values are kept in file order, the timestamps dropped
``@missing``        informative only: ``?`` is handled as ``missing=`` says
``@univariate``     ``true``: every line must have one dimension
``@dimensions``     every line must have this many dimensions
``@equalLength``    ``true``: every series must have the same length
``@seriesLength``   with ``@equalLength`` not ``false``: that length
``@classLabel``     ``true l1 l2 ...``: each line ends with one of these labels
``@targetLabel``    ``true``: each line ends with a number (regression target)
``@data``           ends the header
=================== ===========================================================

Tags and ``true``/``false`` are case-insensitive (the archive writes both
``@problemName`` and ``@problemname``); class labels are kept as written. Tags
this reader does not know are ignored, and so are lines before ``@data`` that do
not start with ``@`` (some files start with ``%`` comments), as aeon and sktime
do. Every malformed line is a ``ValueError`` that names the file and the line.

:func:`sktime_ts_path` finds the few archive problems that the ``sktime`` wheel
ships (GunPoint, ItalyPowerDemand, JapaneseVowels, BasicMotions, ArrowHead,
OSULeaf, ...), without importing sktime.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_ts", "sktime_ts_path"]

_MISSING = ("raise", "nan")
_BOOLEAN_TAGS = {
    "timestamps": "timeStamps",
    "missing": "missing",
    "univariate": "univariate",
    "equallength": "equalLength",
    "targetlabel": "targetLabel",
}
_COUNT_TAGS = {"dimensions": "dimensions", "serieslength": "seriesLength"}
_TUPLE = re.compile(r"\(([^()]*)\)")


@dataclass
class _Header:
    """The tags of one file's header, as read (None: the tag is absent)."""

    problem_name: str | None = None
    timestamps: bool | None = None
    missing: bool | None = None
    univariate: bool | None = None
    dimensions: int | None = None
    equallength: bool | None = None
    serieslength: int | None = None
    classlabel: bool | None = None
    class_labels: tuple[str, ...] = ()
    targetlabel: bool | None = None
    seen: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------- #
# the header
# --------------------------------------------------------------------------- #
def _boolean(value: list[str], tag: str, where: str) -> bool:
    if len(value) != 1 or value[0].lower() not in ("true", "false"):
        raise ValueError(f"{where}: @{tag} takes true or false, got {' '.join(value)!r}.")
    return value[0].lower() == "true"


def _read_tag(header: _Header, line: str, where: str) -> bool:
    """Record one ``@tag value...`` line in ``header``; True if it is ``@data``."""
    tag, *value = line.split()
    name = tag[1:].lower()
    # A tag repeated with the same value is harmless; with another value it is
    # ambiguous, except the name (the archive's UnitTest_TEST.ts has two; the last wins).
    if name in header.seen and header.seen[name] != value and name != "problemname":
        raise ValueError(f"{where}: {tag} appears twice in the header, with different values "
                         f"{' '.join(header.seen[name])!r} and {' '.join(value)!r}.")
    header.seen[name] = value
    if name == "data":
        if value:
            raise ValueError(f"{where}: @data takes no value, got {' '.join(value)!r}.")
        return True
    if name == "problemname":
        if not value:
            raise ValueError(f"{where}: @problemName needs a name.")
        header.problem_name = " ".join(value)
    elif name in _BOOLEAN_TAGS:
        setattr(header, name, _boolean(value, _BOOLEAN_TAGS[name], where))
    elif name in _COUNT_TAGS:
        if len(value) != 1 or not value[0].isdigit() or int(value[0]) < 1:
            raise ValueError(f"{where}: @{_COUNT_TAGS[name]} takes one integer >= 1, "
                             f"got {' '.join(value)!r}.")
        setattr(header, name, int(value[0]))
    elif name == "classlabel":
        header.classlabel = _boolean(value[:1], "classLabel", where)
        header.class_labels = tuple(value[1:])
        if header.classlabel and not header.class_labels:
            raise ValueError(f"{where}: '@classLabel true' must list the class labels, "
                             "e.g. '@classLabel true 1 2'.")
        if not header.classlabel and header.class_labels:
            raise ValueError(f"{where}: '@classLabel false' lists labels "
                             f"{list(header.class_labels)}; did you mean true?")
        if len(set(header.class_labels)) != len(header.class_labels):
            raise ValueError(f"{where}: @classLabel lists a label twice: "
                             f"{list(header.class_labels)}.")
    return False  # a tag this reader does not know: ignored


def _check_header(header: _Header, name: str) -> None:
    """Contradictions between tags, found once the whole header is read."""
    if header.classlabel is None and header.targetlabel is None:
        raise ValueError(
            f"{name}: the header declares neither @classLabel nor @targetLabel; add "
            "'@classLabel false' if the series have no labels."
        )
    if header.classlabel and header.targetlabel:
        raise ValueError(f"{name}: the header sets both @classLabel and @targetLabel to true; "
                         "a file holds class labels or regression targets, not both.")
    if header.univariate and header.dimensions not in (None, 1):
        raise ValueError(f"{name}: '@univariate true' contradicts "
                         f"'@dimensions {header.dimensions}'.")


# --------------------------------------------------------------------------- #
# one data line
# --------------------------------------------------------------------------- #
def _split_fields(line: str, timestamps: bool, where: str) -> list[str]:
    """Split at the ``:`` outside parentheses (a timestamp may contain ``:``)."""
    if not timestamps:
        return line.split(":")
    fields, depth, start = [], 0, 0
    for i, char in enumerate(line):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ":" and depth == 0:
            fields.append(line[start:i])
            start = i + 1
        if depth not in (0, 1):
            raise ValueError(f"{where}: unbalanced or nested parentheses.")
    if depth:
        raise ValueError(f"{where}: a '(' is never closed.")
    fields.append(line[start:])
    return fields


def _tuple_values(text: str, where: str) -> list[str]:
    """The values of ``(t1,v1),(t2,v2),...``: the text after each tuple's last comma."""
    tuples = _TUPLE.findall(text)
    if _TUPLE.sub("", text).replace(",", "").strip():
        raise ValueError(
            f"{where}: with '@timeStamps true' a dimension is a list of (timestamp,value) "
            f"tuples separated by ',', got {text.strip()[:60]!r}."
        )
    for t in tuples:
        if "," not in t:
            raise ValueError(f"{where}: the tuple ({t}) has no ',' between timestamp and value.")
    return [t.rsplit(",", 1)[1] for t in tuples]


def _floats(tokens: list[str], where: str) -> np.ndarray:
    """``tokens`` as float64; ``?`` and ``NaN`` become NaN, other non-numbers are errors."""
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = np.empty(len(tokens))
        for i, token in enumerate(tokens):
            token = token.strip()
            if token == "?":
                values[i] = np.nan
                continue
            try:
                values[i] = float(token)
            except ValueError:
                what = "an empty value (',,' or a trailing ',')" if not token else repr(token)
                raise ValueError(f"{where}, value {i + 1}: {what} is not a number.") from None
    if np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise ValueError(f"{where}, value {i + 1}: {tokens[i].strip()!r} is infinite.")
    return values


def _read_case(fields: list[str], header: _Header, where: str) -> np.ndarray:
    """One series, shape (T, f), from its dimension fields."""
    dims = []
    for d, text in enumerate(fields):
        at = f"{where}, dimension {d + 1}"
        if not text.strip():
            raise ValueError(f"{at}: the dimension has no values.")
        tokens = _tuple_values(text, at) if header.timestamps else text.split(",")
        dims.append(_floats(tokens, at))
    lengths = [v.size for v in dims]
    if len(set(lengths)) > 1:
        raise ValueError(f"{where}: the dimensions of one series must have the same length, "
                         f"got lengths {lengths}.")
    return np.stack(dims, axis=1)


def _read_label(text: str, header: _Header, where: str) -> str | float:
    label = text.strip()
    if not label:
        raise ValueError(f"{where}: the label after the last ':' is empty.")
    if header.targetlabel:
        try:
            target = float(label)
        except ValueError:
            raise ValueError(f"{where}: the target {label!r} is not a number "
                             "(the header says @targetLabel true).") from None
        if not np.isfinite(target):
            raise ValueError(f"{where}: the target {label!r} is not finite.")
        return target
    if label not in header.class_labels:
        raise ValueError(f"{where}: the class label {label!r} is not among those of "
                         f"@classLabel: {list(header.class_labels)}.")
    return label


def _expected_dims(header: _Header, first: int | None) -> tuple[int | None, str]:
    """How many dimensions every line must have, and why (for the error)."""
    if header.dimensions is not None:
        return header.dimensions, f"the header says @dimensions {header.dimensions}"
    if header.univariate:
        return 1, "the header says @univariate true"
    return first, "as on the first data line"


# --------------------------------------------------------------------------- #
# the file
# --------------------------------------------------------------------------- #
def _check_utf8(line: str, where: str) -> None:
    """Refuse a line read with ``errors='surrogateescape'`` that held bytes not UTF-8.

    Such a byte ``b`` is read as the lone surrogate ``U+DC00 + b``, which no UTF-8 text
    holds, so encoding the line back finds the first one.
    """
    if line.isascii():
        return
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(line[exc.start]) - 0xDC00
        raise ValueError(
            f"{where}: byte 0x{byte:02x} at column {exc.start + 1} is not UTF-8; a .ts file "
            "is UTF-8 text. Convert the file to UTF-8 first (from Latin-1, for example: "
            "iconv -f latin1 -t utf-8, or Path(p).write_text(Path(p).read_text("
            "encoding='latin-1'), encoding='utf-8')).") from None


def load_ts(
    path: str | os.PathLike,
    *,
    missing: str = "raise",
    return_meta: bool = False,
) -> tuple[Any, ...]:
    """Read a ``.ts`` file of the UCR/UEA archive: series and their labels.

    Series are returned **batch first, then time, then features**, ``(n, T, f)``,
    the layout of a recurrent network's input (and of Keras and PyTorch with
    ``batch_first=True``). aeon's and sktime's ``load_from_tsfile`` return
    ``(n, f, T)`` (channels before time): ``np.swapaxes(X, 1, 2)`` converts.

    Parameters
    ----------
    path : str or path-like
        The ``.ts`` file (UTF-8; a byte-order mark is skipped).
    missing : {'raise', 'nan'}, default='raise'
        What a missing value (``?`` or ``NaN`` in the file) does: ``'raise'``, a
        ValueError naming its line; ``'nan'``, read as NaN, with one
        UserWarning that counts them.
    return_meta : bool, default=False
        Also return a dict of what the header and the data say.

    Returns
    -------
    X : ndarray of shape (n, T, f) or list of n ndarrays of shape (T_i, f)
        Float64 series: one 3-D array when every series has the same length
        ``T`` (whatever ``@equalLength`` says), else a list. ``f`` is the number
        of dimensions (1 for a univariate problem).
    y : ndarray of shape (n,) or None
        Class labels as strings, exactly as written (``@classLabel true``);
        float64 targets (``@targetLabel true``); None when the series have no
        labels.
    meta : dict, only with ``return_meta=True``
        ``problem_name`` (str or None), ``class_labels`` (tuple of str in the
        header's order, or None), ``target`` (bool), ``n_dims`` (int),
        ``lengths`` (ndarray of shape (n,)), ``timestamps`` (bool) and
        ``n_missing`` (int).

    Raises
    ------
    ValueError
        For a malformed file, with the file and line: bytes that are not UTF-8
        (with the byte and its column), no ``@data``, a bad or
        repeated tag, a line with the wrong number of dimensions, dimensions of
        different lengths within a series, a value that is not a number, a
        class label not listed by ``@classLabel``, a missing value with
        ``missing='raise'``, unequal lengths under ``@equalLength true``.
    FileNotFoundError
        If ``path`` does not exist.

    See Also
    --------
    sktime_ts_path : where the sktime wheel keeps a few archive problems.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sknnedu.datasets import load_ts
    >>> path = Path(tempfile.mkdtemp()) / "Toy_TRAIN.ts"
    >>> _ = path.write_text(
    ...     "@problemName Toy\\n@univariate false\\n@dimensions 2\\n"
    ...     "@classLabel true walk run\\n@data\\n"
    ...     "1,2,3:4,5,6:walk\\n7,8,9:0,0,1:run\\n")
    >>> X, y = load_ts(path)
    >>> X.shape                       # (n, T, f): 2 series, 3 steps, 2 dimensions
    (2, 3, 2)
    >>> X[0]
    array([[1., 4.],
           [2., 5.],
           [3., 6.]])
    >>> y
    array(['walk', 'run'], dtype='<U4')
    """
    if missing not in _MISSING:
        raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}.")
    path = Path(path)
    header = _Header()
    cases: list[np.ndarray] = []
    labels: list[Any] = []
    missing_lines: list[int] = []
    n_dims: int | None = None
    in_data = False
    # bytes that are not UTF-8 are escaped, then refused with their line (_check_utf8)
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as file:
        for lineno, raw in enumerate(file, start=1):
            where = f"{path}, line {lineno}"
            _check_utf8(raw, where)
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    continue  # free text before @data (e.g. '%' comments), as aeon and sktime
                if _read_tag(header, line, where):
                    _check_header(header, str(path))
                    in_data = True
                continue
            if line.startswith("@"):
                raise ValueError(f"{where}: the header tag {line.split()[0]} comes after @data.")
            fields = _split_fields(line, bool(header.timestamps), where)
            labelled = bool(header.classlabel or header.targetlabel)
            if labelled:
                if len(fields) < 2:
                    raise ValueError(f"{where}: no ':' before a label; the header says every "
                                     "series ends with ':' and its label.")
                labels.append(_read_label(fields[-1], header, where))
                fields = fields[:-1]
            expected, why = _expected_dims(header, n_dims)
            if expected is not None and len(fields) != expected:
                raise ValueError(f"{where}: {len(fields)} dimension(s) (fields separated by "
                                 f"':'), expected {expected} ({why}).")
            n_dims = len(fields)
            case = _read_case(fields, header, where)
            if np.isnan(case).any():
                if missing == "raise":
                    raise ValueError(f"{where}: a missing value ('?' or NaN); pass "
                                     "missing='nan' to read missing values as NaN.")
                missing_lines.append(lineno)
            cases.append(case)
            _check_length(case, cases[0], header, where)
    if not in_data:
        raise ValueError(f"{path}: no @data line; a .ts file is a header of @tags, then "
                         "@data, then one series per line.")
    if not cases:
        raise ValueError(f"{path}: no series after @data.")
    n_missing = int(sum(np.isnan(c).sum() for c in cases)) if missing_lines else 0
    if n_missing:
        warnings.warn(f"{path}: {n_missing} missing value(s) on {len(missing_lines)} line(s) "
                      f"(first: line {missing_lines[0]}) read as NaN.", UserWarning,
                      stacklevel=2)
    lengths = np.array([c.shape[0] for c in cases])
    X: Any = np.stack(cases) if (lengths == lengths[0]).all() else cases
    y = None
    if header.targetlabel:
        y = np.array(labels, dtype=np.float64)
    elif header.classlabel:
        y = np.array(labels, dtype=str)
    if not return_meta:
        return X, y
    meta = {
        "problem_name": header.problem_name,
        "class_labels": header.class_labels if header.classlabel else None,
        "target": bool(header.targetlabel),
        "n_dims": n_dims,
        "lengths": lengths,
        "timestamps": bool(header.timestamps),
        "n_missing": n_missing,
    }
    return X, y, meta


def _check_length(case: np.ndarray, first: np.ndarray, header: _Header, where: str) -> None:
    """``@equalLength true`` and ``@seriesLength`` hold for this series."""
    T = case.shape[0]
    if header.equallength is False:
        return
    if header.serieslength is not None and T != header.serieslength:
        raise ValueError(f"{where}: the series has {T} values per dimension, the header says "
                         f"@seriesLength {header.serieslength}.")
    if header.equallength and T != first.shape[0]:
        raise ValueError(f"{where}: the series has {T} values per dimension, the first has "
                         f"{first.shape[0]}, and the header says @equalLength true.")


def sktime_ts_path(name: str, split: str = "train") -> Path:
    """Where the installed ``sktime`` wheel keeps the ``.ts`` file of an archive problem.

    sktime ships a few problems of the UCR/UEA archive inside its wheel, as
    ``sktime/datasets/data/<name>/<name>_TRAIN.ts`` and ``_TEST.ts`` (GunPoint,
    ItalyPowerDemand, JapaneseVowels, BasicMotions, ArrowHead, OSULeaf, ACSF1,
    PLAID, ...). This finds the file with :func:`importlib.util.find_spec`,
    which locates the package without importing it (importing sktime takes
    seconds).

    Parameters
    ----------
    name : str
        The problem's name, as spelled in the archive (``'GunPoint'``).
    split : {'train', 'test'}, default='train'
        Which file (case-insensitive).

    Returns
    -------
    path : Path
        An existing file, to pass to :func:`load_ts`.

    Raises
    ------
    ModuleNotFoundError
        If sktime is not installed (``pip install sktime``, or ``sknnedu[test]``).
    FileNotFoundError
        If this sktime ships no such file; the message lists the problems it has.
    ValueError
        For a ``split`` other than 'train' or 'test'.
    """
    if not isinstance(split, str) or split.lower() not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "sktime_ts_path needs the sktime package, whose wheel ships the archive "
            "files: pip install sktime (it is in sknnedu's 'test' extra)."
        )
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    path = data / name / f"{name}_{split.upper()}.ts"
    if not path.is_file():
        have = sorted(p.parent.name for p in data.glob("*/*_TRAIN.ts"))
        version = importlib.metadata.version("sktime")
        raise FileNotFoundError(f"sktime {version} ships no {path.name} (looked in {data}); "
                                f"it has {have}.")
    return path
