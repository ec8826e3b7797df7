"""Validation of sequence input for the recurrent estimators.

What :class:`~sknnedu.RNNClassifier` and :class:`~sknnedu.RNNRegressor` accept as ``X``:

- a 3-D array ``(n, T, f)``: ``n`` sequences of ``T`` steps of ``f`` features, batch first
  (torch's ``batch_first=True``, Keras);
- a 2-D array ``(n, T)`` (or DataFrame): ``n`` univariate series, read as scikit-learn reads
  a table, so its width ``T`` is ``n_features_in_``;
- a list of 2-D arrays ``(T_i, f)`` (1-D arrays: univariate), used as they are: a list of
  arrays is a list of sequences whatever their lengths (all equal or not), never a table,
  and no padding or truncation by the user. Only a nested list of plain Python lists of
  numbers of one length, ``[[1, 2, 3], [4, 5, 6]]``, is the 2-D table it spells, as
  scikit-learn reads it (what ``X.tolist()`` gives of a table);
- a pandas Series of such arrays, and sktime's ``nested_univ`` DataFrame (one column per
  channel, each cell a pandas Series): row ``i`` becomes the ``(T_i, channels)`` array of
  its cells side by side.

aeon and sktime store series as ``(n, channels, T)``: pass ``X.transpose(0, 2, 1)``, or a
list of ``x.T``. Numbers of object dtype (a DataFrame with a bool column) are read as
float64. Everything ends as a :class:`~sknnedu.nn.sequences.Sequences` in float64 or
float32 (float32 stays float32). Raw texts are refused with a pointer to
:class:`~sknnedu.TextSequencer`, whatever their container.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from .nn.embedding import PAD
from .nn.geometry import check_finite, float_dtype, nonfinite_rows
from .nn.sequences import Sequences

_EXPECTED = ("a 3-D array (n_sequences, n_steps, n_features), a 2-D array (n_sequences, "
             "n_steps) of univariate series, or a list of 2-D arrays (n_steps_i, n_features)")


_NOT_FINITE = ("{what} contains NaN or infinity; fill or drop missing steps first "
               "(sknnedu.datasets.load_ts(missing='nan') marks them as NaN).")


def _check_values(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` as float32/float64, refusing complex, non-numeric and non-finite values.

    Numbers of any other dtype, object included (a DataFrame with a bool column), are
    converted to float64.
    """
    a = _numbers(a, what)
    a = a.astype(float_dtype(a.dtype), copy=False)
    check_finite(a, what, _NOT_FINITE.format(what=what))
    return a


def _numbers(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` itself when it holds real numbers, object numbers as float64; else an error."""
    if a.dtype.kind == "c":
        raise ValueError(f"Complex data not supported; {what} is complex.")
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{what} must hold numbers; got dtype {a.dtype} with values that are not "
                f"numbers ({exc}). Pass each sequence as an array of numbers, one row of "
                "n_features per step.") from None
    return a


# ------------------------------------------------------------------------------------------
# containers: texts, pandas
# ------------------------------------------------------------------------------------------
def _holds_texts(X) -> bool:
    """Whether ``X`` is a container of raw texts: a list, tuple, array or Series of str."""
    if isinstance(X, (list, tuple)):
        return bool(len(X)) and isinstance(X[0], (str, bytes))
    if hasattr(X, "iloc") and getattr(X, "ndim", 0) == 1:  # a pandas Series
        X = X.to_numpy()
    if not isinstance(X, np.ndarray):
        return False
    if X.dtype.kind in "UST":  # numpy's str, bytes and StringDType
        return True
    return X.dtype == object and X.ndim == 1 and bool(X.size) and isinstance(X[0], (str, bytes))


def _refuse_texts(estimator, X, reads: str) -> None:
    """The TextSequencer hint for raw texts, whatever their container and ``embedding_dim``."""
    if _holds_texts(X):
        name = type(estimator).__name__
        raise ValueError(
            f"X holds texts (str), but {name} reads {reads}. Turn the texts into sequences "
            "of token ids with sknnedu.TextSequencer and give the network an embedding "
            "layer: make_pipeline(TextSequencer(analyzer='char'), "
            f"{name}(embedding_dim=16)).")


def _from_pandas(X):
    """A pandas Series of sequences as a list; sktime's ``nested_univ`` DataFrame as a list of
    ``(T_i, channels)`` arrays. Anything else is returned as it is."""
    if not hasattr(X, "iloc") or not len(X):
        return X
    if X.ndim == 1:  # a Series whose cells are sequences, not numbers
        return X.tolist() if X.dtype == object and np.ndim(X.iloc[0]) >= 1 else X
    if not all(dtype.kind == "O" for dtype in X.dtypes) or np.ndim(X.iloc[0, 0]) != 1:
        return X  # a table of numbers (or of anything else: check_array says what)
    cells = X.to_numpy()
    out = []
    for i, row in enumerate(cells):  # nested_univ: one cell per channel
        channels = [np.asarray(c) for c in row]
        lengths = [len(c) if c.ndim == 1 else -1 for c in channels]
        if len(set(lengths)) != 1 or lengths[0] < 0:
            raise ValueError(
                f"Row {i} of the nested DataFrame X has channels of lengths {lengths}; every "
                "cell must be a 1-D series, and the channels of one sequence have one length.")
        out.append(np.stack(channels, axis=1))
    return out


# ------------------------------------------------------------------------------------------
# feature sequences
# ------------------------------------------------------------------------------------------
def _list_of_sequences(X, what: str = "X") -> Sequences:
    """:class:`Sequences` of float arrays (T_i, f) from a list of 1-D or 2-D array-likes.

    Each sequence's shape and kind of numbers is checked on its own; the dtype (float32
    when every sequence is float32, else float64) and the values (NaN, infinity) are
    checked once, over all the steps together.
    """
    seqs = []
    for i, s in enumerate(X):
        if sp.issparse(s):
            raise TypeError(f"{what}[{i}] is a sparse matrix; sequences must be dense.")
        try:
            a = np.asarray(s)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{what}[{i}] is not an array of numbers: {exc}") from None
        if a.ndim not in (1, 2):
            raise ValueError(
                f"{what}[{i}] must be a 2-D array (n_steps, n_features) or a 1-D univariate "
                f"sequence; got {type(s).__name__} of shape {a.shape}. {what} must be "
                f"{_EXPECTED}.")
        a = _numbers(a, f"{what}[{i}]")  # numbers of object dtype become float64
        if a.ndim == 1:
            a = a[:, None]  # a univariate sequence
        if a.shape[0] == 0:
            raise ValueError(f"{what}[{i}] has length 0; every sequence needs at least one step.")
        seqs.append(a)
    if not seqs:
        raise ValueError(f"{what} holds 0 sequences; expected at least 1.")
    counts = {a.shape[1] for a in seqs}
    if len(counts) > 1:
        first = next(i for i, a in enumerate(seqs) if a.shape[1] != seqs[0].shape[1])
        raise ValueError(
            f"The sequences of {what} have different numbers of features: {what}[0] has "
            f"{seqs[0].shape[1]}, {what}[{first}] has {seqs[first].shape[1]}.")
    dtypes = {a.dtype for a in seqs}
    dtype = float_dtype(dtypes.pop()) if len(dtypes) == 1 else np.dtype(np.float64)
    out = Sequences([a.astype(dtype, copy=False) for a in seqs])
    bad = np.flatnonzero(nonfinite_rows(out.steps))
    if len(bad):  # the sequence of the first bad step
        i = int(np.searchsorted(out.starts, bad[0], side="right")) - 1
        raise ValueError(_NOT_FINITE.format(what=f"{what}[{i}]"))
    return out


def validate_sequences(estimator, X, *, reset: bool) -> Sequences:
    """``X`` as :class:`Sequences`, checked, with ``n_features_in_`` set (``reset``) or
    compared with the fitted model's.

    A list of arrays (or a tuple, 1-D object array, pandas Series of arrays) is a list of
    sequences whatever their lengths: ``n_features_in_`` is then the features per step.
    A 2-D array or DataFrame is a table of univariate series, whose width is
    ``n_features_in_``, and so is a nested list of Python lists of numbers of one length
    (scikit-learn's reading of ``X.tolist()``).

    Sets (``reset``) or checks ``n_step_features_``, the features of one step, and
    ``_table_input``, whether fit saw a 2-D table (whose width then is the number of
    steps that predict's tables must have too, as for any scikit-learn estimator).

    Raises
    ------
    ValueError
        For anything that is not sequences of numbers: raw texts (with a pointer to
        :class:`~sknnedu.TextSequencer`), 4-D input, object arrays of non-numbers,
        sequences of length 0, different feature counts, NaN or infinity, or a feature
        count that differs from fit's.
    """
    name = type(estimator).__name__
    if isinstance(X, (str, bytes)) or isinstance(X, numbers.Number) or X is None:
        raise ValueError(f"X must be {_EXPECTED}; got {type(X).__name__} {X!r:.60}.")
    _refuse_texts(estimator, X, "sequences of numbers")
    X = _from_pandas(X)
    if isinstance(X, (list, tuple)) and len(X) and all(isinstance(v, (list, tuple)) for v in X):
        try:  # plain nested lists of one length: the array they spell, as scikit-learn reads
            dense = np.asarray(X)
        except ValueError:  # ragged
            dense = None
        if dense is not None and dense.dtype.kind in "biuf" and dense.ndim in (2, 3):
            X = dense
    if isinstance(X, Sequences):
        seqs = X
        table = False
    elif isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object
                                          and X.ndim == 1):
        if len(X) and all(isinstance(v, numbers.Number) for v in X):
            raise ValueError(
                f"X must be {_EXPECTED}; got a flat list of {len(X)} numbers. For one "
                "univariate sequence pass [values]; for n samples of one value each, "
                "a 2-D array of shape (n, 1).")
        seqs = _list_of_sequences(X)
        table = False
    elif hasattr(X, "ndim") and not sp.issparse(X) and getattr(X, "ndim", 0) >= 3:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"X must be {_EXPECTED}; got a {X.ndim}-D array of shape "
                             f"{X.shape}.")
        if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(f"X of shape {X.shape} is empty; expected at least one sequence "
                             "of at least one step of at least one feature.")
        seqs = Sequences(_check_values(X, "X"))
        table = False
    else:  # a 2-D table of univariate series, checked as scikit-learn checks a table
        table = True
        if reset or getattr(estimator, "_table_input", False):
            Xt = validate_data(estimator, X, dtype=(np.float64, np.float32), reset=reset)
        else:
            Xt = check_array(X, dtype=(np.float64, np.float32))
        seqs = Sequences(Xt[:, :, None])
    f = seqs.n_features
    if reset:
        estimator.n_step_features_ = f
        estimator._table_input = table
        if not table:
            estimator.n_features_in_ = f
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
    elif f != estimator.n_step_features_:
        raise ValueError(
            f"X has {f} features per step, but {name} is expecting "
            f"{estimator.n_step_features_} features per step as input.")
    return seqs


# ------------------------------------------------------------------------------------------
# token ids, for the estimators' embedding_dim
# ------------------------------------------------------------------------------------------
_EXPECTED_IDS = ("a list of 1-D int arrays of token ids, one per sequence, or a 2-D int array "
                 "(n_sequences, n_steps) padded at the end with 0")
#: the id of any token unseen in fit; 0 is padding (:data:`~sknnedu.nn.embedding.PAD`, whose
#: row of the embedding never learns), known tokens start at 2
UNKNOWN = 1
#: the largest id an index can hold; larger ids (>= 2**63 on 64-bit) are never a row
_LARGEST_ID = int(np.iinfo(np.intp).max)


def _value(a: np.ndarray, k: int):
    """``a[k]`` as a Python number, for messages."""
    v = a[k]
    return v.item() if isinstance(v, np.generic) else v


def _ids_array(a: np.ndarray, name: Callable[[int], str], *, reset: bool) -> np.ndarray:
    """The 1-D ids ``a`` (all sequences' steps one after the other) as intp, checked.

    ``name(k)`` names the sequence of position ``k`` in messages. Refuses strings,
    booleans, non-numbers, non-integers (``-1.7``), NaN and negative ids. An id beyond
    what an index can hold (``>= 2**63``: ``1e20``, ``2**70``, uint64 ``2**64 - 1``) is
    refused in fit (``reset``), and read as :data:`_LARGEST_ID` after it, which the caller
    turns into the unseen id 1 as any id beyond the fitted table.
    """
    if a.dtype.kind in "UST" or (a.dtype == object and any(isinstance(v, str) for v in a)):
        raise ValueError(
            "X holds strings, not token ids; turn texts into ids first with "
            "sknnedu.TextSequencer, e.g. make_pipeline(TextSequencer(analyzer='char'), "
            "RNNClassifier(embedding_dim=16)).")
    if a.dtype.kind not in "iufO":
        raise ValueError(f"X must hold integer token ids; got dtype {a.dtype}. Ids are whole "
                         "numbers: 0 padding, 1 unseen, known tokens from 2.")
    if a.dtype.kind in "iu":
        values = a
        huge = a > _LARGEST_ID if a.dtype.kind == "u" and a.dtype.itemsize >= 8 else None
    else:  # floats, or objects that should be numbers
        try:
            values = a.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            k = next(k for k, v in enumerate(a) if not isinstance(v, numbers.Real))
            raise ValueError(f"{name(k)} must hold integer token ids; got {a[k]!r:.40}, which "
                             "is not a number.") from None
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            k = int(np.argmax(bad))
            value = _value(a, k) if a.dtype == object else float(values[k])
            raise ValueError(
                f"{name(k)} must hold integer token ids; got {value!r:.40}. Ids are "
                "whole numbers (0 padding, 1 unseen, known tokens from 2), as TextSequencer "
                "writes them; for feature vectors per step, leave embedding_dim=None.")
        huge = values >= 2.0**63
    if a.size and values.min() < 0:
        k = int(np.argmin(values))
        raise ValueError(f"{name(k)} holds the negative id {int(values[k])}; token ids are >= 0 "
                         "(0 is padding, 1 an unseen token, known tokens from 2).")
    if huge is None or not huge.any():
        return a.astype(np.intp, copy=False)  # exact, Python ints of an object array too
    k = int(np.argmax(huge))
    if reset:
        raise ValueError(
            f"{name(k)} holds the id {_value(a, k)!r}, beyond the largest id an index can "
            f"hold ({_LARGEST_ID}); an id is a row of the embedding table. Number the tokens "
            "2, 3, ... first (TextSequencer does, or np.unique(ids, return_inverse=True) + 2).")
    ids = np.where(huge, 0, values).astype(np.intp)
    ids[huge] = _LARGEST_ID  # beyond any fitted table: read as unseen by the caller
    return ids


def _without_padding(ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sequence's trailing 0s dropped, and a sequence left with no id made one 0.

    ``ids`` holds the sequences one after the other, ``lengths`` (n,) their lengths.
    Returns the new ids and lengths, the same rule for every sequence: no loop over them.
    """
    ends = np.cumsum(lengths)
    starts = ends - lengths
    if lengths.all() and (ids[ends - 1] != PAD).all():
        return ids, lengths  # no trailing 0, no empty sequence (TextSequencer's output)
    tokens = np.flatnonzero(ids != PAD)  # positions of the non-zero ids, in order
    last = np.searchsorted(tokens, ends) - 1  # each sequence's last token, if it has one
    last_pos = tokens[np.maximum(last, 0)] if tokens.size else np.zeros_like(ends)
    kept = np.where((last >= 0) & (last_pos >= starts), last_pos - starts + 1, 0)
    out = ids[np.arange(ids.size) < np.repeat(starts + kept, lengths)]  # kept: p < start + kept
    empty = kept == 0
    if empty.any():  # no tokens: one padding step, inserted where the sequence starts
        out = np.insert(out, (np.cumsum(kept) - kept)[empty], PAD)
    return out, np.maximum(kept, 1)


def validate_token_ids(estimator, X, *, reset: bool) -> Sequences:
    """``X``, sequences of token ids, as :class:`Sequences` of ``(T_i, 1)`` intp arrays.

    What the recurrent estimators read when ``embedding_dim`` is set:

    - a list of 1-D int arrays (or lists), one per sequence, of any lengths, as
      :class:`~sknnedu.TextSequencer` writes them (a pandas Series of them too);
    - a 2-D int array ``(n, T)`` padded **at the end** with 0 (torch's ``pad_sequence``;
      Keras' ``pad_sequences(..., padding='post')``).

    Ids are integers (floats with integer values are accepted): 0 is padding, 1 a token
    unseen in fit, known tokens from 2. **Id 0 is never a token, whatever the
    container:** the 0s after a sequence's last non-zero id are padding and are dropped,
    in a list as in a 2-D array, so each sequence keeps its own length and its prediction
    never depends on the other sequences of ``X``; a 0 before a token reads as the
    padding vector (``E[0] = 0``, frozen), a zero step. A sequence with no tokens (an
    empty string, a row of zeros, ``[]``, even a whole batch of them) reads as one padding
    step: the zero vector, the same for every empty text.

    Without ``reset``, an id beyond what fit saw (``>= vocabulary_size_``) counts as
    unseen and becomes 1, with no error; so does an id beyond what an index can hold
    (``>= 2**63``, such as ``1e20`` or uint64 ``2**64 - 1``), which fit (``reset``)
    refuses. The number of such ids is ``n_unseen_ids`` of the result. Sets (``reset``)
    ``n_features_in_`` and ``n_step_features_`` to 1, one id per step.

    Raises
    ------
    ValueError
        For negative, non-integer (``-1.7``) or non-numeric ids, ids ``>= 2**63`` in fit,
        strings (with a pointer to TextSequencer), 3-D arrays, sparse matrices, or no
        sequences at all.
    """
    if isinstance(X, (str, bytes)) or isinstance(X, numbers.Number) or X is None:
        raise ValueError(f"X must be {_EXPECTED_IDS}; got {type(X).__name__} {X!r:.60}.")
    if sp.issparse(X):
        raise ValueError(f"X must be {_EXPECTED_IDS}; got a sparse matrix.")
    _refuse_texts(estimator, X, "token ids")
    X = _from_pandas(X)
    if isinstance(X, Sequences):
        if X.n_features != 1:
            raise ValueError(f"X holds {X.n_features} features per step; token ids are one "
                             "per step.")
        X = [X.sequence(i)[:, 0] for i in range(len(X))]
    if isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object
                                        and X.ndim == 1):
        if len(X) and all(isinstance(v, numbers.Number) for v in X):
            raise ValueError(f"X must be {_EXPECTED_IDS}; got a flat list of {len(X)} numbers. "
                             "For one sequence pass [ids].")
        arrays = []
        for i, s in enumerate(X):  # a loop over sequences only to look at each one's shape
            if sp.issparse(s):
                raise ValueError(f"X[{i}] is a sparse matrix; token ids must be dense.")
            try:
                a = np.asarray(s)
            except ValueError as exc:  # ragged nested lists
                raise ValueError(f"X[{i}] is not a 1-D sequence of token ids: {exc}") from None
            if a.ndim != 1:
                raise ValueError(
                    f"X[{i}] must be a 1-D sequence of token ids; got shape {a.shape}. X must "
                    f"be {_EXPECTED_IDS}. For feature vectors per step, leave embedding_dim="
                    "None.")
            arrays.append(a)
        lengths = np.array([len(a) for a in arrays], dtype=np.intp)
        ids = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.intp)
    else:
        A = np.asarray(X)
        if A.ndim != 2:
            hint = (" For one sequence, pass [ids]." if A.ndim == 1 else
                    " For feature vectors per step, leave embedding_dim=None.")
            raise ValueError(f"X must be {_EXPECTED_IDS}; got a {A.ndim}-D array of shape "
                             f"{A.shape}.{hint}")
        lengths = np.full(A.shape[0], A.shape[1], dtype=np.intp)
        ids = A.reshape(-1)
    if not len(lengths):
        raise ValueError(f"X holds 0 sequences; expected at least 1. X must be {_EXPECTED_IDS}.")
    ends = np.cumsum(lengths)

    def name(k: int) -> str:  # the sequence of position k
        return f"X[{int(np.searchsorted(ends, k, side='right'))}]"

    ids, lengths = _without_padding(_ids_array(ids, name, reset=reset), lengths)
    seqs = Sequences(np.split(ids[:, None], np.cumsum(lengths)[:-1]))
    if reset:
        estimator.n_features_in_ = estimator.n_step_features_ = 1
        estimator._table_input = False
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    else:  # ids beyond fit's vocabulary are unseen tokens (the steps are this call's copy)
        steps = seqs.steps
        unseen = steps >= estimator.vocabulary_size_
        seqs.n_unseen_ids = int(unseen.sum())  # warm_start / partial_fit warn about them
        steps[unseen] = UNKNOWN
    return seqs
