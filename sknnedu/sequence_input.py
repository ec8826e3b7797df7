"""Validation of sequence input for the recurrent estimators.

What :class:`~sknnedu.RNNClassifier` and :class:`~sknnedu.RNNRegressor` accept as ``X``:

- a 3-D array ``(n, T, f)``: ``n`` sequences of ``T`` steps of ``f`` features, batch first
  (torch's ``batch_first=True``, Keras);
- a 2-D array ``(n, T)`` (or DataFrame): ``n`` univariate series, read as scikit-learn reads
  a table, so its width ``T`` is ``n_features_in_``;
- a list of 2-D arrays ``(T_i, f)`` of any lengths (1-D arrays: univariate), used as they
  are: no padding or truncation by the user.

aeon and sktime store series as ``(n, channels, T)``: pass ``X.transpose(0, 2, 1)``, or a
list of ``x.T``. Everything ends as a :class:`~sknnedu.nn.sequences.Sequences` in
float64 or float32 (float32 stays float32).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from .nn.sequences import Sequences

_EXPECTED = ("a 3-D array (n_sequences, n_steps, n_features), a 2-D array (n_sequences, "
             "n_steps) of univariate series, or a list of 2-D arrays (n_steps_i, n_features)")


def _float_dtype(dtype) -> np.dtype:
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _check_values(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` as float32/float64, refusing complex, non-numeric and non-finite values."""
    if a.dtype.kind == "c":
        raise ValueError(f"Complex data not supported; {what} is complex.")
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what} must hold numbers; got dtype {a.dtype}: {exc}") from None
    a = a.astype(_float_dtype(a.dtype), copy=False)
    # in blocks of rows: the check's boolean temporary stays small whatever n is
    step = max(1, 2**20 // max(1, a[:1].size))
    if not all(np.isfinite(a[i:i + step]).all() for i in range(0, len(a), step)):
        raise ValueError(
            f"{what} contains NaN or infinity; fill or drop missing steps first "
            "(sknnedu.datasets.load_ts(missing='nan') marks them as NaN)."
        )
    return a


def _list_of_sequences(X, what: str = "X") -> list[np.ndarray]:
    """A list of (T_i, f) float arrays from a list of 1-D or 2-D array-likes."""
    seqs = []
    for i, s in enumerate(X):
        if sp.issparse(s):
            raise TypeError(f"{what}[{i}] is a sparse matrix; sequences must be dense.")
        try:
            a = np.asarray(s)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{what}[{i}] is not an array of numbers: {exc}") from None
        if a.ndim == 1 and a.dtype != object:
            a = a[:, None]  # a univariate sequence
        if a.ndim != 2 or a.dtype == object:
            raise ValueError(
                f"{what}[{i}] must be a 2-D array (n_steps, n_features) or a 1-D univariate "
                f"sequence; got {type(s).__name__} of shape {np.shape(a)}. {what} must be "
                f"{_EXPECTED}."
            )
        if a.shape[0] == 0:
            raise ValueError(f"{what}[{i}] has length 0; every sequence needs at least one step.")
        seqs.append(_check_values(a, f"{what}[{i}]"))
    if not seqs:
        raise ValueError(f"{what} holds 0 sequences; expected at least 1.")
    counts = {a.shape[1] for a in seqs}
    if len(counts) > 1:
        first = next(i for i, a in enumerate(seqs) if a.shape[1] != seqs[0].shape[1])
        raise ValueError(
            f"The sequences of {what} have different numbers of features: {what}[0] has "
            f"{seqs[0].shape[1]}, {what}[{first}] has {seqs[first].shape[1]}."
        )
    dtypes = {a.dtype for a in seqs}
    if len(dtypes) > 1:
        seqs = [a.astype(np.float64) for a in seqs]
    return seqs


def validate_sequences(estimator, X, *, reset: bool) -> Sequences:
    """``X`` as :class:`Sequences`, checked, with ``n_features_in_`` set (``reset``) or
    compared with the fitted model's.

    Sets (``reset``) or checks ``n_step_features_``, the features of one step, and
    ``_table_input``, whether fit saw a 2-D table (whose width then is the number of
    steps that predict's tables must have too, as for any scikit-learn estimator).

    Raises
    ------
    ValueError
        For anything that is not sequences of numbers: 4-D input, object arrays of
        non-sequences, sequences of length 0, different feature counts, NaN or
        infinity, or a feature count that differs from fit's.
    """
    name = type(estimator).__name__
    if isinstance(X, (str, bytes)) or isinstance(X, numbers.Number) or X is None:
        raise ValueError(f"X must be {_EXPECTED}; got {type(X).__name__} {X!r:.60}.")
    if isinstance(X, (list, tuple)) and len(X) and not any(sp.issparse(v) for v in X):
        try:  # equal lengths: a nested list is the array it spells, as scikit-learn reads it
            dense = np.asarray(X)
        except ValueError:  # ragged
            dense = None
        if dense is not None and dense.dtype != object and dense.ndim in (2, 3):
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
                "a 2-D array of shape (n, 1)."
            )
        seqs = Sequences(_list_of_sequences(X))
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
            f"{estimator.n_step_features_} features per step as input."
        )
    return seqs


# ------------------------------------------------------------------------------------------
# token ids, for the estimators' embedding_dim
# ------------------------------------------------------------------------------------------
_EXPECTED_IDS = ("a list of 1-D int arrays of token ids, one per sequence, or a 2-D int array "
                 "(n_sequences, n_steps) padded at the end with 0")
#: ids: 0 is padding, 1 stands for any token unseen in fit, known tokens start at 2
PAD, UNKNOWN = 0, 1


def _ids_array(a, what: str) -> np.ndarray:
    """``a`` as an intp array, refusing non-integer, negative and non-numeric ids."""
    if a.dtype.kind in "US" or (a.dtype == object and any(isinstance(v, str) for v in a.flat)):
        raise ValueError(
            f"{what} holds strings, not token ids; turn texts into ids first with "
            "sknnedu.TextSequencer, e.g. make_pipeline(TextSequencer(analyzer='char'), "
            "RNNClassifier(embedding_dim=16)).")
    if a.dtype.kind == "b" or (a.dtype.kind not in "iuf" and a.dtype != object):
        raise ValueError(f"{what} must hold integer token ids; got dtype {a.dtype}.")
    if a.dtype.kind not in "iu":
        try:
            f = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must hold integer token ids; got {a.dtype} values that "
                             "are not numbers.") from None
        bad = ~np.isfinite(f) | (f != np.round(f))
        if bad.any():
            raise ValueError(f"{what} must hold integer token ids; got {float(f[bad].flat[0])!r}.")
        a = f
    if a.size and a.min() < 0:
        raise ValueError(f"{what} holds the negative id {a.min()}; token ids are >= 0 (0 is "
                         "padding, 1 an unseen token, known tokens from 2).")
    return a.astype(np.intp)


def validate_token_ids(estimator, X, *, reset: bool) -> Sequences:
    """``X``, sequences of token ids, as :class:`Sequences` of ``(T_i, 1)`` intp arrays.

    What the recurrent estimators read when ``embedding_dim`` is set:

    - a list of 1-D int arrays (or lists), one per sequence, of any lengths, as
      :class:`~sknnedu.TextSequencer` writes them;
    - a 2-D int array ``(n, T)`` padded **at the end** with 0 (torch's ``pad_sequence``;
      Keras' ``pad_sequences(..., padding='post')``): the zeros after a row's last non-zero
      id are padding and are dropped, so each row keeps its own length.

    Ids are integers (floats with integer values are accepted): 0 is padding, 1 a token
    unseen in fit, known tokens from 2. A sequence with no tokens (an empty string, a row
    of zeros) reads as one padding step: the zero vector, the same for every empty text.
    Without ``reset``, an id beyond what fit saw (``>= vocabulary_size_``) counts as
    unseen and becomes 1, with no error. Sets (``reset``) ``n_features_in_`` and
    ``n_step_features_`` to 1, one id per step.

    Raises
    ------
    ValueError
        For negative, non-integer or non-numeric ids, strings (with a pointer to
        TextSequencer), 3-D arrays, sparse matrices, or no sequences at all.
    """
    if isinstance(X, (str, bytes)) or isinstance(X, numbers.Number) or X is None:
        raise ValueError(f"X must be {_EXPECTED_IDS}; got {type(X).__name__} {X!r:.60}.")
    if sp.issparse(X):
        raise ValueError(f"X must be {_EXPECTED_IDS}; got a sparse matrix.")
    if isinstance(X, Sequences):
        if X.n_features != 1:
            raise ValueError(f"X holds {X.n_features} features per step; token ids are one "
                             "per step.")
        seqs = [X.sequence(i)[:, 0] for i in range(len(X))]
    elif isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object
                                          and X.ndim == 1):
        if len(X) and all(isinstance(v, str) for v in X):
            _ids_array(np.asarray(X[:1]), "X")  # raw texts: the TextSequencer message
        if len(X) and all(isinstance(v, numbers.Number) for v in X):
            raise ValueError(f"X must be {_EXPECTED_IDS}; got a flat list of {len(X)} numbers. "
                             "For one sequence pass [ids].")
        dense = None
        if len(X) and not any(sp.issparse(v) for v in X):
            try:  # equal lengths: a nested list is the 2-D array it spells
                dense = np.asarray(X)
            except ValueError:  # ragged
                dense = None
        if dense is not None and dense.dtype != object and dense.ndim == 2:
            return validate_token_ids(estimator, dense, reset=reset)
        seqs = []
        for i, s in enumerate(X):
            if sp.issparse(s):
                raise ValueError(f"X[{i}] is a sparse matrix; token ids must be dense.")
            a = np.asarray(s)
            if a.ndim != 1:
                raise ValueError(
                    f"X[{i}] must be a 1-D sequence of token ids; got shape {a.shape}. X must "
                    f"be {_EXPECTED_IDS}. For feature vectors per step, leave embedding_dim="
                    "None.")
            seqs.append(_ids_array(a, f"X[{i}]"))
    else:
        A = np.asarray(X)
        if A.ndim != 2:
            raise ValueError(
                f"X must be {_EXPECTED_IDS}; got a {A.ndim}-D array of shape {A.shape}. For "
                "feature vectors per step, leave embedding_dim=None.")
        A = _ids_array(A, "X")
        # a row's length: one past its last non-zero id (the zeros after it are padding)
        nonzero = A != PAD
        lengths = np.where(nonzero.any(axis=1), A.shape[1] - np.argmax(nonzero[:, ::-1], 1), 0)
        seqs = np.split(A[np.arange(A.shape[1]) < lengths[:, None]], np.cumsum(lengths)[:-1])
    if not len(seqs):
        raise ValueError(f"X holds 0 sequences; expected at least 1. X must be {_EXPECTED_IDS}.")
    empty = np.zeros(1, dtype=np.intp)  # no tokens: one padding step
    seqs = Sequences([(s if len(s) else empty)[:, None] for s in seqs])
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
