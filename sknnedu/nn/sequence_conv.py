"""1-D convolution over padded, masked sequence batches, and global pooling.

A :class:`Conv1D` layer slides ``k`` kernel offsets along time, the same weights at every
step, as a 2-D convolution slides over pixels. With dilation ``d`` and ``'same'`` padding
(torch's ``padding='same'``: ``d (k - 1)`` zero steps in all, ``p_left = d (k - 1) // 2``
before, the rest after) the output has as many steps as the input::

    z[t] = sum_{j=0}^{k-1} x[t + j d - p_left] W[j] + b       (cross-correlation)
    a[t] = g(z[t])

Each sequence of a :class:`~sknnedu.nn.sequences.SequenceBatch` is convolved as if it
were alone: its padded steps (``t >= T_i``) read as 0, as the zero padding beyond its
ends does, and its output there is 0. So a sequence's output never depends on the rest
of its batch.

**im2col over time.** Time-major storage makes a shift along time a contiguous block:
the patch matrix ``cols`` of shape ``(T, m, k c_in)`` holds, in its ``j``-th block of
``c_in`` columns, the input shifted by ``j d - p_left`` steps (one slice copy per kernel
offset), and the whole layer is one product::

    Z = cols W + b      (T m, k c_in) (k c_in, c_out)

because ``W`` of shape ``(k, c_in, c_out)`` reshaped to ``(k c_in, c_out)`` stacks the
offsets' ``(c_in, c_out)`` blocks in the same order. Backward is two more products and
col2im, a loop over the ``k`` offsets that adds each block of ``dcols`` back, shifted.

:class:`GlobalPool` reduces every sequence (or image) to one vector, the mean or the
maximum over its own valid steps (or pixels), for a dense head; after mean pooling the
inputs it kept give a class activation map (Zhou et al. 2016). Plain numpy; nothing from
scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .activations import DERIVATIVES, LEAKY_SLOPE, bind, check_activation
from .initializers import RELU_FAMILY
from .layers import Layer, Param
from .pooling import is_pooling
from .sequences import SequenceBatch, Sequences


def same_padding(k: int, dilation: int = 1) -> tuple[int, int]:
    """``(p_left, p_right)`` of ``'same'`` padding, as torch's ``padding='same'``.

    ``d (k - 1)`` steps in all, the smaller half before: an even kernel pads one step
    more after the sequence than before it.

    >>> same_padding(3), same_padding(4), same_padding(3, dilation=2)
    ((1, 1), (1, 2), (2, 2))
    """
    total = dilation * (k - 1)
    return total // 2, total - total // 2


def _shifts(k: int, dilation: int, T: int):
    """For each kernel offset ``j``: ``(j, lo, hi, s)``, the output steps ``lo <= t < hi``
    whose input step ``t + s`` (``s = j d - p_left``) lies inside ``[0, T)``."""
    p_left = same_padding(k, dilation)[0]
    for j in range(k):
        s = j * dilation - p_left
        lo, hi = max(0, -s), min(T, T - s)
        yield j, lo, max(lo, hi), s


class Conv1D(Layer):
    """1-D convolution along time: ``z[t] = sum_j x[t + j d - p_left] W[j] + b``, ``a = g(z)``.

    Cross-correlation (no kernel flip), as torch's ``Conv1d`` and the notes, with ``'same'``
    padding (:func:`same_padding`), so the output has the length of the input.

    Parameters
    ----------
    W : ndarray of shape (k, c_in, c_out)
        Kernel offsets first: ``W.reshape(k * c_in, c_out)`` matches the patch matrix,
        whose columns are the ``k`` shifted copies of the input side by side. Held by
        reference (the estimator's fitted array, updated in place by the optimiser).
        From torch: ``W = conv.weight.permute(2, 1, 0)`` (torch's weight is
        ``(c_out, c_in, k)``), ``b = conv.bias``; torch's ``Conv1d`` reads its input
        channels-first, ``(m, c_in, T)``, where this layer reads ``(T, m, c_in)``.
    b : ndarray of shape (c_out,)
    dilation : int, default=1
        ``d``: the steps between two kernel offsets.
    activation : str, default='identity'
        ``g``, a key of :data:`sknnedu.nn.activations.DERIVATIVES`.
    slope : float, default=0.01
        gamma of ``'leakyrelu'``.

    The input is a :class:`~sknnedu.nn.sequences.SequenceBatch` with ``data`` of shape
    ``(T, m, c_in)`` (or :class:`~sknnedu.nn.sequences.Sequences`, padded first); its
    padded steps may hold anything (a recurrent layer copies its state through them):
    they are masked to 0. The output is a ``SequenceBatch`` of ``(T, m, c_out)``, 0 at
    padded steps, in the dtype of ``W``.

    Attributes
    ----------
    params : [W, b]
    grads : [dW, db]
        Of the shapes of ``W`` and ``b``, written by :meth:`backward`.
    flops : float
        Multiply-adds per sample **and step**, ``k c_in c_out``, as a recurrent layer
        reports its cost per step: the batch's length ``T`` is not known in advance, and
        the product of a batch is ``T m flops`` (a caller that wants the cost per sample
        multiplies by ``T``).
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, dilation: int = 1,
                 activation: str = "identity", slope: float = LEAKY_SLOPE) -> None:
        if not isinstance(W, np.ndarray) or W.ndim != 3 or W.dtype.kind != "f":
            raise ValueError(
                f"W must be a float ndarray of shape (k, c_in, c_out), got {np.shape(W)}.")
        k, c_in, c_out = W.shape
        if not isinstance(b, np.ndarray) or b.shape != (c_out,):
            raise ValueError(f"b must be an ndarray of shape ({c_out},), got {np.shape(b)}.")
        if not W.flags.c_contiguous:
            raise ValueError("W must be C-contiguous (it is reshaped and updated in place).")
        if int(dilation) != dilation or dilation < 1:
            raise ValueError(f"dilation must be an integer >= 1, got {dilation!r}.")
        self.declare(Param("W", W, True), Param("b", b, False))
        self.dilation = int(dilation)
        self.activation = check_activation(activation, DERIVATIVES)
        self.slope = slope
        self.g, self.g_prime = bind(self.activation, slope)
        self.flops = float(k * c_in * c_out)

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """``a = g(cols W + b)``, ``(T, m, c_out)``, 0 at padded steps.

        ``cols`` (T, m, k c_in): block ``j`` holds the masked input shifted by
        ``j d - p_left`` steps, 0 where that leaves the sequence; kept for backward.
        """
        W, b = self.params
        k, c_in, c_out = W.shape
        batch = a_prev.pad(W.dtype) if isinstance(a_prev, Sequences) else a_prev
        X = batch.data
        T, m, _ = X.shape
        if X.shape[2] != c_in:
            raise ValueError(f"Conv1D expects {c_in} input channels; the batch has {X.shape[2]}.")
        pad = None if batch.full.all() else ~batch.mask    # (T, m): padded steps
        if pad is not None or X.dtype != W.dtype:  # padded steps read as 0, whatever they hold
            x = self.buffer("x", X.shape, W.dtype)
            np.copyto(x, X, casting="same_kind")
            X = x
            if pad is not None:
                X[pad] = 0
        cols = self.buffer("cols", (T, m, k, c_in), W.dtype)
        for j, lo, hi, s in _shifts(k, self.dilation, T):
            block = cols[:, :, j]
            block[:lo] = 0
            block[lo:hi] = X[lo + s:hi + s]
            block[hi:] = 0
        cols = cols.reshape(T * m, k * c_in)
        Z = self.buffer("out", (T, m, c_out), W.dtype)
        np.matmul(cols, W.reshape(k * c_in, c_out), out=Z.reshape(T * m, c_out))
        Z += b
        A = self.g(Z)
        if pad is not None:
            A[pad] = 0
        self._cols, self._A, self._pad = cols, A, pad
        return SequenceBatch(A, batch.lengths)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dx`` (T, m, c_in) from ``dJ/da`` (T, m, c_out); fills ``grads``::

            dZ    = da * g'(z)       masked to valid steps       (T m, c_out)
            dW    = cols^T dZ                                     (k c_in, c_out)
            db    = sum over steps and samples of dZ              (c_out,)
            dcols = dZ W^T                                        (T m, k c_in)
            dx[t + j d - p_left] += dcols[t, block j]             col2im, a loop over j

        ``dx`` is 0 at padded steps (``da`` at padded steps is ignored).
        """
        W = self.params[0]
        k, c_in, c_out = W.shape
        dW, db = self.grads
        A, pad = self._A, self._pad
        T, m, _ = A.shape
        dZ = self.buffer("dZ", (T, m, c_out), W.dtype)
        np.copyto(dZ, da, casting="same_kind")
        if pad is not None:
            dZ[pad] = 0
        self.g_prime(A, dZ)
        dZ = dZ.reshape(T * m, c_out)
        np.matmul(self._cols.T, dZ, out=dW.reshape(k * c_in, c_out))
        np.sum(dZ, axis=0, out=db)
        if not need_input_grad:
            return None
        dcols = self.buffer("dcols", (T * m, k * c_in), W.dtype)
        np.matmul(dZ, W.reshape(k * c_in, c_out).T, out=dcols)
        dcols = dcols.reshape(T, m, k, c_in)
        dX = self.buffer("dX", (T, m, c_in), W.dtype)
        dX[...] = 0
        for j, lo, hi, s in _shifts(k, self.dilation, T):
            dX[lo + s:hi + s] += dcols[lo:hi, :, j]
        if pad is not None:
            dX[pad] = 0
        return dX


def init_conv1d(k: int, c_in: int, c_out: int, rng, dtype=np.float64,
                activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """Initial ``(W, b)`` of a :class:`Conv1D` layer.

    ``W ~ U(-r, r)``: He-uniform, ``r = sqrt(6 / fan_in)``, for the ReLU family
    (:data:`sknnedu.nn.initializers.RELU_FAMILY`), Glorot-uniform,
    ``r = sqrt(6 / (fan_in + fan_out))``, otherwise, with ``fan_in = k c_in`` and
    ``fan_out = k c_out`` (the inputs and outputs one weight joins, as torch and Keras
    count them for a convolution); ``b = 0``.

    Parameters
    ----------
    k, c_in, c_out : int
        Kernel size and channels.
    rng : numpy.random.RandomState or numpy.random.Generator
    dtype : numpy dtype
    activation : str, default='relu'

    Returns
    -------
    W : ndarray of shape (k, c_in, c_out)
    b : ndarray of shape (c_out,)
    """
    fan_in, fan_out = k * c_in, k * c_out
    if activation in RELU_FAMILY:
        r = np.sqrt(6.0 / fan_in)
    else:
        r = np.sqrt(6.0 / (fan_in + fan_out))
    W = np.ascontiguousarray(rng.uniform(-r, r, (k, c_in, c_out)), dtype=dtype)
    return W, np.zeros(c_out, dtype=dtype)


class GlobalPool(Layer):
    """Global average or max pooling: one vector per sequence (or image).

    On a :class:`~sknnedu.nn.sequences.SequenceBatch` ``a`` of shape ``(T, m, c)``, over
    each sequence's own valid steps ``t < T_i``::

        'avg':  p_i = sum_t mask[t, i] a[t, i] / T_i
        'max':  p_i = max_{t < T_i} a[t, i]          (per channel; padded steps never win)

    On images ``a`` of shape ``(m, h, w, c)``, the mean or maximum over the ``h w`` pixels.
    The output is an ndarray ``(m, c)``, in the dtype of the input: the input of a dense
    head. What padded steps hold does not matter (they are masked, not multiplied by 0).
    A sequence of length 0 pools to 0, and sends no gradient back.

    Backward scatters ``dJ/dp`` back: ``'avg'`` sends ``dp_i / T_i`` to every valid step,
    ``'max'`` sends ``dp_i`` to the step that won (the first one, in a tie).

    **Class activation maps** (Zhou et al. 2016). After ``'avg'`` pooling, a dense layer
    ``y = p W + b`` with ``W`` of shape ``(c, n_classes)`` scores class ``k`` as
    ``y_k = sum_t a[t] . W[:, k] / T_i + b_k``, the mean over the steps of::

        cam[t, i, k] = a[t, i] . W[:, k]

    so ``cam`` shows which steps (or pixels) speak for class ``k``. The layer keeps its
    input as :attr:`last_input` after each forward, and :meth:`class_activation_map`
    computes ``cam`` from it (before the next forward: a layer below may reuse the
    buffer that holds it).

    Parameters
    ----------
    mode : {'avg', 'max'}, default='avg'

    Attributes
    ----------
    last_input : SequenceBatch or ndarray
        The input of the last forward (a reference, not a copy).
    """

    def __init__(self, mode: str = "avg") -> None:
        if not is_pooling(mode, none=False):
            raise ValueError(f"GlobalPool mode must be 'avg' or 'max'; got {mode!r}.")
        self.mode = mode
        self.last_input = None

    @staticmethod
    def _steps(a_prev):
        """``(X, pad, lengths)``: the input as steps ``(S, m, c)`` (images: a view of their
        ``h w`` pixels as steps), its padded steps ``(S, m)`` or None, and the counts ``(m,)``."""
        if isinstance(a_prev, SequenceBatch):
            X = a_prev.data
            pad = None if a_prev.full.all() else ~a_prev.mask
            return X, pad, np.asarray(a_prev.lengths)
        if not isinstance(a_prev, np.ndarray) or a_prev.ndim != 4:
            raise ValueError("GlobalPool expects a SequenceBatch (T, m, c) or images "
                             f"(m, h, w, c); got {type(a_prev).__name__} "
                             f"of shape {np.shape(a_prev)}.")
        m, h, w, c = a_prev.shape
        return a_prev.reshape(m, h * w, c).transpose(1, 0, 2), None, np.full(m, h * w)

    def forward(self, a_prev, training: bool = False) -> np.ndarray:
        """``p`` of shape (m, c) from ``a_prev`` (T, m, c) or (m, h, w, c)."""
        self.last_input = a_prev
        X, pad, lengths = self._steps(a_prev)
        S, m, c = X.shape
        if pad is not None:  # padded steps: 0 for the sum, -inf for the max
            x = self.buffer("x", X.shape, X.dtype)
            np.copyto(x, X)
            x[pad] = 0 if self.mode == "avg" else -np.inf
            X = x
        out = self.buffer("out", (m, c), X.dtype)
        self._empty = lengths == 0
        if self.mode == "avg":
            np.sum(X, axis=0, out=out)
            out /= np.maximum(lengths, 1)[:, None].astype(X.dtype)
        else:
            self._argmax = np.argmax(X, axis=0) if S else np.zeros((m, c), dtype=np.intp)
            if S:
                out[...] = np.take_along_axis(X, self._argmax[None], axis=0)[0]
            out[self._empty] = 0
        self._shape, self._pad, self._lengths = X.shape, pad, lengths
        return out

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/da_prev`` of the input's shape from ``dJ/dp`` (m, c); 0 at padded steps.

        ``'avg'``: ``da_prev[t, i] = dp_i / T_i`` at valid steps; ``'max'``:
        ``da_prev[t, i, j] = dp_ij`` where ``t`` is the step that won channel ``j``.
        """
        if not need_input_grad:
            return None
        S, m, c = self._shape
        images = not isinstance(self.last_input, SequenceBatch)
        if images:  # written through the (pixels, m, c) view of an (m, h, w, c) buffer
            dx = self.buffer("dx", self.last_input.shape, da.dtype)
            dX = dx.reshape(m, S, c).transpose(1, 0, 2)
        else:
            dx = dX = self.buffer("dx", (S, m, c), da.dtype)
        if self.mode == "avg":
            np.divide(da[None], np.maximum(self._lengths, 1)[None, :, None].astype(da.dtype),
                      out=dX)
            if self._pad is not None:
                dX[self._pad] = 0
        else:
            dX[...] = 0
            if S:
                dp = np.where(self._empty[:, None], 0, da)
                dX[self._argmax, np.arange(m)[:, None], np.arange(c)[None, :]] = dp
        return dx

    def class_activation_map(self, W: np.ndarray) -> np.ndarray:
        """``cam = a W`` for the last forward's input ``a`` and a dense layer's ``W``.

        Parameters
        ----------
        W : ndarray of shape (c, n_classes)
            The weights of the dense layer that reads the pooled vector.

        Returns
        -------
        cam : ndarray of shape (T, m, n_classes) or (m, h, w, n_classes)
            ``cam[t, i, k] = a[t, i] . W[:, k]``, 0 at padded steps; for each sequence,
            ``mean_{t < T_i} cam[t, i] + b`` is the dense layer's output.
        """
        if self.mode != "avg":
            raise ValueError("A class activation map needs mode='avg' (Zhou et al. 2016).")
        if self.last_input is None:
            raise ValueError("No input yet: call forward first.")
        a = self.last_input
        X = a.data if isinstance(a, SequenceBatch) else a
        cam = X @ W
        if isinstance(a, SequenceBatch) and not a.full.all():
            cam[~a.mask] = 0
        return cam
