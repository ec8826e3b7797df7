"""Sequences of different lengths as one padded, masked batch.

A data set of ``n`` sequences, the ``i``-th of ``T_i`` steps of ``f`` features, is
:class:`Sequences`: a list of ``(T_i, f)`` arrays (or one ``(n, T, f)`` array when all
lengths are equal) and their lengths. Indexing it with rows gives the sequences of
those rows, without copying a step, so the training engine batches and splits it as
it batches an array.

A recurrent layer reads a batch as :class:`SequenceBatch`: the ``m`` sequences copied
into one zero-padded, **time-major** array ``(T, m, f)``, ``T`` the longest of the batch,
with the mask ``mask[t, i] = t < T_i``::

    sequence 0: x x x x x        mask[:, 0] = 1 1 1 1 1
    sequence 1: x x x 0 0        mask[:, 1] = 1 1 1 0 0
    sequence 2: x x x x 0        mask[:, 2] = 1 1 1 1 0

A padded step leaves the state as it was and receives no gradient
(:mod:`sknnedu.nn.recurrent`), so what a sequence computes never depends on the others
in its batch. Time-major storage makes every step ``x[t]`` one contiguous ``(m, f)``
block. Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import threading

import numpy as np

from .layers import Layer, buffer


class SequenceBatch:
    """A padded batch: ``data`` of shape (T, m, f), time-major, and ``lengths`` (m,).

    Attributes
    ----------
    data : ndarray of shape (T, m, f)
        Step ``t`` of sequence ``i`` is ``data[t, i]``; steps ``t >= lengths[i]`` are 0.
    lengths : ndarray of shape (m,)
    mask : ndarray of bool, shape (T, m)
        ``t < lengths[i]``.
    full : ndarray of bool, shape (T,)
        Steps at which no sequence is padded (the mask can be skipped there).
    scratch : bool
        Whether ``data`` is a buffer that the layer reading it may overwrite: True for
        the batch :meth:`Sequences.pad` makes (nobody else reads it), False otherwise.
    """

    __slots__ = ("data", "lengths", "mask", "full", "scratch")

    def __init__(self, data: np.ndarray, lengths: np.ndarray, scratch: bool = False) -> None:
        self.data = data
        self.lengths = lengths
        self.scratch = scratch
        self.mask = np.arange(data.shape[0])[:, None] < lengths[None, :]
        self.full = self.mask.all(axis=1)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(m, T, f)``: batch first, as the data set's shape."""
        T, m, f = self.data.shape
        return (m, T, f)


class Sequences:
    """``n`` sequences of ``f`` features and lengths ``T_i``, indexable by rows.

    Parameters
    ----------
    data : ndarray of shape (n, T, f) or list of ndarrays of shape (T_i, f)
        Batch first, as torch's ``batch_first=True`` and Keras. A 3-D array is kept as
        it is; a list is stored as its steps one after the other, ``(sum_i T_i, f)``
        (one copy), so that a batch of any rows is padded by one vectorised gather.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.sequences import Sequences
    >>> seqs = Sequences([np.ones((3, 2)), np.ones((5, 2))])
    >>> seqs.shape, seqs.lengths.tolist()
    ((2, 5, 2), [3, 5])
    >>> batch = seqs.pad()
    >>> batch.data.shape, batch.mask[:, 0].tolist()
    ((5, 2, 2), [True, True, True, False, False])
    """

    format = "sequences"  # not "csr": the engine batches it by indexing, as any non-array

    def __init__(self, data) -> None:
        if isinstance(data, np.ndarray):
            self.array, self.steps = data, None
            self.lengths = np.full(data.shape[0], data.shape[1], dtype=np.intp)
            self.starts = None
            self.n_features, self.dtype = data.shape[2], data.dtype
        else:
            self.array = None
            self.lengths = np.array([len(s) for s in data], dtype=np.intp)
            self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.intp)
            self.steps = np.concatenate(data, axis=0)
            self.n_features, self.dtype = self.steps.shape[1], self.steps.dtype
        self.rows = None
        self.shape = self._shape()
        #: padding buffers, shared with every row view of this data (see :meth:`pad`)
        self._bufs: dict = {}

    def _shape(self) -> tuple[int, int, int]:
        """``(n, T_max, f)``, kept as ``shape``."""
        return (len(self.lengths), int(self.lengths.max(initial=0)), self.n_features)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, key) -> Sequences:
        """The sequences of the rows ``key`` (a slice, an int array or a boolean mask),
        sharing this object's data.

        ``X[key, ...]``, as scikit-learn's splitters index, means the same.
        """
        if isinstance(key, tuple):
            if len(key) != 2 or key[1] is not Ellipsis:
                raise IndexError("Sequences are indexed by rows only.")
            key = key[0]
        rows = np.arange(len(self))[key]
        new = object.__new__(Sequences)
        new.__dict__.update(self.__dict__)
        new.rows = rows if self.rows is None else self.rows[rows]
        new.lengths = self.lengths[rows]
        new.shape = new._shape()
        return new

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_bufs": {}}  # a copy shares no buffer

    def take(self, rows) -> Sequences:
        """The sequences of ``rows``, in that order."""
        return self[np.asarray(rows, dtype=np.intp)]

    def sequence(self, i: int) -> np.ndarray:
        """Sequence ``i`` as a ``(T_i, f)`` array (a view)."""
        j = i if self.rows is None else self.rows[i]
        if self.array is not None:
            return self.array[j]
        start = self.starts[j]
        return self.steps[start:start + self.lengths[i]]

    def pad(self, dtype=None) -> SequenceBatch:
        """All the sequences as one zero-padded time-major :class:`SequenceBatch`.

        One vectorised copy, converted to ``dtype`` (default: the data's) on the way, into
        a buffer that this data and all its row views share (one per dtype and thread):
        the training loop's batches are views ``X[rows]``, so every batch of a fit pads
        into the same memory. A padded batch is therefore valid until the next ``pad`` of
        the same dtype on this data or any view of it, in the same thread.
        """
        dtype = np.dtype(self.dtype if dtype is None else dtype)
        n, T, f = self.shape
        out = buffer(self._bufs, f"{dtype.str} {threading.get_ident()}", (T, n, f), dtype)
        if self.array is not None:  # equal lengths: one strided copy
            src = self.array if self.rows is None else self.array[self.rows]
            np.copyto(out, src.transpose(1, 0, 2), casting="unsafe")
        else:  # step t of row i comes from steps[starts[i] + t], for every t < T_i at once
            out[...] = 0
            lengths = self.lengths
            i = np.repeat(np.arange(n), lengths)
            t = np.arange(len(i)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            starts = self.starts if self.rows is None else self.starts[self.rows]
            out[t, i] = self.steps[starts[i] + t]
        return SequenceBatch(out, self.lengths, scratch=True)


class Standardize(Layer):
    """Fixed standardisation of every step: ``x_t <- (x_t - mu) / s``, per feature.

    The first layer of a recurrent estimator on feature sequences: ``mu`` and ``s`` are
    the mean and standard deviation of each feature over every valid step of the
    training sequences (fitted arrays, not learned by gradient descent), so channels of
    different scales start on one footing, which a scikit-learn scaler cannot do for
    3-D or ragged input. Applied batch by batch into a reused buffer; nothing upstream
    learns, so its backward is never needed. Padded steps change too, and stay masked.

    Parameters
    ----------
    mean, scale : ndarray of shape (f,)
        ``mu`` and ``s`` (``s > 0``).
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean = mean
        self.inv_scale = (1.0 / scale).astype(scale.dtype)
        #: the dtype a network pads its batches into for this first layer
        self.input_dtype = mean.dtype

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """The standardised batch, ``(T, m, f)``, in the dtype of ``mean``.

        A batch that :meth:`Sequences.pad` made (a network pads its batches into
        ``input_dtype``, the dtype of ``mean``) is standardised in place: it is nobody
        else's. Any other batch is left as it is, the result going to a buffer of this
        layer's.
        """
        batch = a_prev.pad(self.input_dtype) if isinstance(a_prev, Sequences) else a_prev
        if batch.scratch and batch.data.dtype == self.input_dtype:
            out = batch.data
        else:
            out = self.buffer("out", batch.data.shape, self.input_dtype)
        np.subtract(batch.data, self.mean, out=out)
        out *= self.inv_scale
        return batch if out is batch.data else SequenceBatch(out, batch.lengths)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da / s`` (never needed in training: the input does not learn)."""
        return da * self.inv_scale if need_input_grad else None


def step_moments(X: Sequences, sample_weight: np.ndarray | None = None,
                 block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation of each feature over every valid step.

    Each step weighs its sequence's weight, so a weight of 2 counts as the sequence twice.
    Two passes in float64 over blocks of ``block`` steps (one product each, no temporary
    larger than a block); the second divides by the largest magnitude first, so values
    near the float64 limits neither overflow nor underflow.

    Returns
    -------
    mean, std : ndarrays of shape (f,)
    """
    f = X.n_features
    if X.array is not None:
        data = X.array if X.rows is None else X.array[X.rows]
        steps = data.reshape(-1, f)
        step_w = None if sample_weight is None else np.repeat(sample_weight, data.shape[1])
    else:
        steps = X.steps if X.rows is None else np.concatenate(
            [X.sequence(i) for i in range(len(X))])
        step_w = None if sample_weight is None else np.repeat(sample_weight, X.lengths)

    def blocks():
        for start in range(0, len(steps), block):
            w = (np.ones(min(block, len(steps) - start)) if step_w is None
                 else step_w[start:start + block])
            yield steps[start:start + block].astype(np.float64), w

    weight = 0.0 if step_w is None else float(step_w.sum())
    big = np.zeros(f)
    for chunk, _ in blocks():
        big = np.maximum(big, np.abs(chunk).max(axis=0))
    big[big == 0] = 1.0
    total = np.zeros(f)
    for chunk, w in blocks():
        total += w @ (chunk / big)
        weight += 0.0 if step_w is not None else len(w)
    mean = total / weight
    squares = np.zeros(f)
    for chunk, w in blocks():
        d = chunk / big - mean
        squares += w @ (d * d)
    return mean * big, np.sqrt(squares / weight) * big
