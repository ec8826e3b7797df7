"""Where a step is: positional encodings, and a class token read out at step 0.

Attention (:mod:`sknnedu.nn.attention`) computes a weighted *sum* over the steps, so it
cannot tell ``x_1 x_2 x_3`` from ``x_3 x_1 x_2``: permute the steps and every output is
permuted the same way. The order goes in with the input, as one vector per position added
to each step (Vaswani et al. 2017, section 3.5)::

    a_t = x_t + PE[t]                       (d,) at each step t = 0 .. T-1

``'sinusoidal'``: fixed, nothing learned, any length::

    PE[t, 2i]     = sin(t / 10000^(2i / d))
    PE[t, 2i + 1] = cos(t / 10000^(2i / d))

Each pair of features is a clock turning at its own speed, from one turn per ``2 pi``
steps (``i = 0``) to one per ``2 pi 10^4`` steps, so near positions have near codes and
``PE[t + k]`` is a rotation of ``PE[t]`` by an angle that depends on ``k`` only.

``'learned'``: a table ``P`` of shape ``(max_len, d)`` learned by gradient like any weight,
``a_t = x_t + P[t]``, ``dP[t] = sum_i da[t, i]`` over the sequences with a step ``t``. It
knows no position beyond ``max_len``, the longest sequence of the training set.

**A class token.** To classify a whole sequence, :class:`ClassToken` puts a learned
vector ``c`` before the first step (BERT's ``[CLS]``, ViT's class token); after the
attention layers, step 0 has read every step, and :class:`FirstStep` hands it to the
output layer.

Padded steps stay 0 and send no gradient. Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer, Param
from .sequences import SequenceBatch, Sequences


def sinusoidal_table(T: int, d: int) -> np.ndarray:
    """``PE`` of shape (T, d) in float64: sines in the even features, cosines in the odd."""
    t = np.arange(T)[:, None]
    angle = t / 10000.0 ** (np.arange(0, d, 2) / d)       # (T, ceil(d / 2)), 2i = 0, 2, ...
    PE = np.empty((T, d))
    PE[:, 0::2] = np.sin(angle)
    PE[:, 1::2] = np.cos(angle[:, : d // 2])
    return PE


class PositionalEncoding(Layer):
    """Adds a vector per position to every valid step: ``a[t, i] = x[t, i] + PE[t]``.

    Parameters
    ----------
    kind : {'sinusoidal', 'learned'}, default='sinusoidal'
        Fixed sines and cosines (no parameters), or the learned table ``P``.
    P : ndarray of shape (max_len, d), optional
        The learned positions (``kind='learned'`` only): a reference to the estimator's
        fitted array, **not penalised** by L2 (as an embedding table).

    Input and output are :class:`~sknnedu.nn.sequences.SequenceBatch` of shape
    ``(T, m, d)``; padded steps stay 0. Backward: ``dX = da`` at valid steps (0 at padded
    ones); ``dP[t] = sum_i da[t, i]`` over valid steps, 0 for ``t >= T``.
    """

    def __init__(self, kind: str = "sinusoidal", P: np.ndarray | None = None) -> None:
        if kind not in ("sinusoidal", "learned"):
            raise ValueError(f"kind must be 'sinusoidal' or 'learned'; got {kind!r}.")
        if (kind == "learned") != (P is not None):
            raise ValueError("kind='learned' needs P of shape (max_len, d); 'sinusoidal' "
                             "takes none.")
        if P is not None and P.ndim != 2:
            raise ValueError(f"P must be a 2-D array (max_len, d); got shape {P.shape}.")
        self.kind = kind
        if P is not None:
            self.declare(Param("P", P, False))
        self._table = np.empty((0, 0))

    def _positions(self, T: int, d: int, dtype) -> np.ndarray:
        """``PE[:T]`` (or ``P[:T]``) of shape (T, d), in ``dtype``."""
        if self.kind == "learned":
            return self.params[0][:T]
        if self._table.shape[0] < T or self._table.shape[1] != d or self._table.dtype != dtype:
            self._table = sinusoidal_table(max(T, self._table.shape[0]), d).astype(dtype)
        return self._table[:T]

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """``x + PE[:T]`` at valid steps, (T, m, d); padded steps 0."""
        dtype = self.params[0].dtype if self.params else None
        batch = a_prev.pad(dtype) if isinstance(a_prev, Sequences) else a_prev
        X = batch.data
        T, m, d = X.shape
        dtype = X.dtype if dtype is None else dtype
        if self.kind == "learned":
            max_len, d_P = self.params[0].shape
            longest = int(batch.lengths.max(initial=0))
            if longest > max_len:
                raise ValueError(
                    f"A sequence of {longest} steps came, but the learned positions cover "
                    f"{max_len} steps, the longest sequence seen in fit. Fit on longer "
                    "sequences, cut these, or use kind='sinusoidal'.")
            if d_P != d:
                raise ValueError(f"P has {d_P} features per position; the steps have {d}.")
            T_used = min(T, max_len)  # steps beyond max_len can only be padding
        else:
            T_used = T
        out = self.buffer("out", (T, m, d), dtype)
        np.copyto(out, X)
        out[:T_used] += self._positions(T_used, d, dtype)[:, None, :]
        if not batch.full.all():
            np.copyto(out, 0, where=~batch.mask[:, :, None])
        self._batch = batch
        return SequenceBatch(out, batch.lengths)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dX = da * mask``; learned: ``dP[t] = sum_i dX[t, i]``."""
        batch = self._batch
        T, m, d = batch.data.shape
        dX = self.buffer("dX", (T, m, d), da.dtype)
        np.multiply(da, batch.mask[:, :, None], out=dX)
        if self.kind == "learned":
            dP = self.grads[0]
            T_used = min(T, dP.shape[0])
            np.sum(dX[:T_used], axis=1, out=dP[:T_used])
            dP[T_used:] = 0
        return dX if need_input_grad else None


def init_positions(max_len: int, d: int, rng, dtype) -> np.ndarray:
    """Initial learned positions ``P`` of shape (max_len, d): ``P[t, j] ~ N(0, 0.02^2)``.

    The scale of BERT's and ViT's position tables (which truncate at 2 standard
    deviations; here the normal is not truncated): small beside unit-scale inputs, so
    the positions start as a faint mark that training strengthens where it helps.
    """
    return np.ascontiguousarray(0.02 * rng.normal(size=(max_len, d)), dtype=dtype)


class ClassToken(Layer):
    """A learned vector ``c`` put before every sequence, as its step 0.

    ::

        a[0, i]     = c                  (d,)
        a[t + 1, i] = x[t, i]            t = 0 .. T-1; lengths + 1

    Output ``(T + 1, m, d)``, a new :class:`~sknnedu.nn.sequences.SequenceBatch` with
    lengths ``T_i + 1`` (a sequence of length 0 becomes ``[c]``). Backward:
    ``dc = sum_i da[0, i]``, ``dX = da[1:]`` (0 at padded steps).

    Parameters
    ----------
    c : ndarray of shape (d,)
        Not penalised by L2.
    """

    def __init__(self, c: np.ndarray) -> None:
        if c.ndim != 1:
            raise ValueError(f"c must be a 1-D array (d,); got shape {c.shape}.")
        self.declare(Param("c", c, False))

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """``[c, x_1 .. x_T]`` of shape (T + 1, m, d)."""
        c = self.params[0]
        batch = a_prev.pad(c.dtype) if isinstance(a_prev, Sequences) else a_prev
        T, m, d = batch.data.shape
        out = self.buffer("out", (T + 1, m, d), c.dtype)
        out[0] = c
        np.copyto(out[1:], batch.data)
        if not batch.full.all():
            np.copyto(out[1:], 0, where=~batch.mask[:, :, None])
        self._batch = batch
        return SequenceBatch(out, batch.lengths + 1)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dc = sum_i da[0, i]``; ``dX = da[1:]`` at valid steps, 0 at padded ones."""
        np.sum(da[0], axis=0, out=self.grads[0])
        if not need_input_grad:
            return None
        batch = self._batch
        dX = self.buffer("dX", batch.data.shape, da.dtype)
        np.multiply(da[1:], batch.mask[:, :, None], out=dX)
        return dX


def init_class_token(d: int, rng, dtype) -> np.ndarray:
    """Initial class token ``c`` of shape (d,): ``c_j ~ N(0, 0.02^2)``, as the positions."""
    return np.ascontiguousarray(0.02 * rng.normal(size=d), dtype=dtype)


class FirstStep(Layer):
    """The readout of a class token: step 0 of every sequence, ``a[i] = x[0, i]``.

    ``(T, m, d) -> (m, d)``; backward puts ``da`` at step 0 and 0 elsewhere (a sequence
    of length 0 has no step 0: its output and its gradient are 0).
    """

    def forward(self, a_prev: SequenceBatch, training: bool = False) -> np.ndarray:
        """``x[0]`` of shape (m, d): a view, or 0 for the sequences of length 0."""
        self._batch = a_prev
        if a_prev.full[0]:
            return a_prev.data[0]
        out = self.buffer("out", a_prev.data.shape[1:], a_prev.data.dtype)
        return np.multiply(a_prev.data[0], a_prev.mask[0][:, None], out=out)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dX`` of shape (T, m, d): ``da`` at step 0 of the non-empty sequences."""
        if not need_input_grad:
            return None
        batch = self._batch
        dX = self.buffer("dX", batch.data.shape, da.dtype)
        dX[1:] = 0
        np.multiply(da, batch.mask[0][:, None], out=dX[0])
        return dX
