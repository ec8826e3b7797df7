"""The dense network: forward propagation, backpropagation, packing for L-BFGS.

Notation of the notes, row-major (one sample per row), for layers
``l = 1..L`` with ``n[l]`` units and a batch of ``m`` samples::

    a[0] = X                                  (m, n[0])
    z[l] = a[l-1] W[l] + b[l]                 (m, n[l]),  W[l]: (n[l-1], n[l])
    a[l] = g[l](z[l])                         (m, n[l])
    y_hat = a[L]                              softmax or sigmoid

and backwards, with ``dz[L] = w * (a[L] - y) / sum(w)`` (see :mod:`.losses`)::

    dW[l]    = a[l-1]^T dz[l] + alpha W[l] / sum(w)       (n[l-1], n[l])
    db[l]    = sum over samples of dz[l]                  (n[l],)
    da[l-1]  = dz[l] W[l]^T                               (m, n[l-1])
    dz[l-1]  = da[l-1] * g'[l-1](z[l-1])

Each product is one BLAS call into a preallocated buffer. ``dz[0]`` is never
computed: nothing upstream of the inputs learns. This module is plain numpy
and imports nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES, LEAKY_SLOPE
from .losses import LOSSES


def _matmul_into(A, W, out: np.ndarray) -> np.ndarray:
    """out = A @ W, with one BLAS call when A is dense."""
    if isinstance(A, np.ndarray):
        return np.matmul(A, W, out=out)
    out[...] = A @ W  # scipy sparse input
    return out


def _buffer(buffers: list | None, l: int, m: int, n: int, dtype) -> np.ndarray:
    """A C-contiguous (m, n) view of buffers[l], grown when too small."""
    if buffers is None:
        return np.empty((m, n), dtype=dtype)
    if buffers[l] is None or buffers[l].shape[0] < m or buffers[l].dtype != dtype:
        buffers[l] = np.empty((m, n), dtype=dtype)
    return buffers[l][:m]


def forward(X, coefs: list[np.ndarray], intercepts: list[np.ndarray],
            hidden_activations: list[str], out_activation: str, *,
            slope: float = LEAKY_SLOPE, dropout: float = 0.0,
            rng: np.random.Generator | None = None, buffers: list | None = None,
            ) -> tuple[list, list, list]:
    """Forward propagation ``a[l] = g[l](a[l-1] W[l] + b[l])``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (m, n[0])
    coefs : list of L ndarrays, ``coefs[l-1]`` of shape (n[l-1], n[l])
    intercepts : list of L ndarrays, ``intercepts[l-1]`` of shape (n[l],)
    hidden_activations : list of L-1 names from ``ACTIVATIONS``
    out_activation : {'softmax', 'logistic'}
    slope : float
        gamma of ``'leakyrelu'``.
    dropout : float in [0, 1)
        Inverted dropout on hidden layers: each unit is zeroed with probability
        ``p`` and survivors are scaled by ``1 / (1 - p)``, so no rescaling is
        needed at prediction time. Needs ``rng``.
    buffers : list or None
        Reused storage, one slot per layer (training keeps it between batches).

    Returns
    -------
    A : list of L+1 arrays
        ``A[0] = X`` and ``A[l] = a[l]`` (after dropout, as the next layer sees it).
    pre : list of L+1 arrays
        ``a[l]`` before dropout (the same objects as ``A`` when dropout is 0),
        which backpropagation needs for ``g'``.
    masks : list of L+1 arrays or None
        ``masks[l]`` is the dropout mask ``keep / (1 - p)`` of hidden layer l, so
        that ``A[l] = pre[l] * masks[l]``; None where no dropout was applied.
    """
    m = X.shape[0]
    A, pre, masks = [X], [X], [None]
    L = len(coefs)
    for l in range(1, L + 1):
        W, b = coefs[l - 1], intercepts[l - 1]
        Z = _matmul_into(A[l - 1], W, _buffer(buffers, l, m, W.shape[1], W.dtype))
        Z += b
        name = out_activation if l == L else hidden_activations[l - 1]
        a = ACTIVATIONS[name](Z, slope)
        pre.append(a)
        mask = None
        if dropout > 0 and l < L:
            mask = rng.random(a.shape, dtype=a.dtype) >= dropout
            mask = mask * a.dtype.type(1.0 / (1.0 - dropout))
            a = a * mask
        masks.append(mask)
        A.append(a)
    return A, pre, masks


def backward(A: list, pre: list, masks: list, Y: np.ndarray, coefs: list[np.ndarray],
             hidden_activations: list[str], out_activation: str, *,
             alpha: float = 0.0, sample_weight: np.ndarray | None = None,
             slope: float = LEAKY_SLOPE, coef_grads: list[np.ndarray],
             intercept_grads: list[np.ndarray], buffers: list | None = None,
             scratch: list | None = None) -> float:
    """Backpropagation: fill ``coef_grads`` and ``intercept_grads``, return the loss.

    Parameters
    ----------
    A, pre, masks : lists returned by :func:`forward`
    Y : ndarray of shape (m, n[L])
        0/1 targets in the dtype of the weights.
    coefs : list of L ndarrays
    hidden_activations, out_activation : as in :func:`forward`
    alpha : float
        L2 penalty: ``J += alpha / 2 * sum_l ||W[l]||^2 / sum(w)``.
    sample_weight : ndarray of shape (m,) or None
    coef_grads, intercept_grads : lists of arrays shaped like the weights
        Written in place: ``dJ/dW[l]`` and ``dJ/db[l]``.
    buffers : list or None
        Reused storage for the ``dz[l]``.
    scratch : list or None
        Reused storage shaped like the weights, for the penalty term.

    Returns
    -------
    J : float
        Loss of the batch, penalty included.
    """
    m = Y.shape[0]
    L = len(coefs)
    sw_sum = float(m if sample_weight is None else sample_weight.sum())
    if sw_sum <= 0:  # a batch of zero-weight samples teaches nothing
        for g in coef_grads + intercept_grads:
            g[...] = 0
        return 0.0
    loss = LOSSES[out_activation](Y, A[L], sample_weight)
    if alpha:
        loss += 0.5 * alpha * sum(float(np.vdot(W, W)) for W in coefs) / sw_sum

    dtype = coefs[0].dtype
    delta = _buffer(buffers, L, m, Y.shape[1], dtype)
    np.subtract(A[L], Y, out=delta)
    # dz[L] = w (a[L] - y) / sum(w); every dz[l] below inherits the 1 / sum(w)
    delta *= dtype.type(1.0 / sw_sum)
    if sample_weight is not None:
        delta *= sample_weight.astype(dtype, copy=False)[:, None]
    for l in range(L, 0, -1):
        gW = coef_grads[l - 1]
        if isinstance(A[l - 1], np.ndarray):
            np.matmul(A[l - 1].T, delta, out=gW)
        else:
            gW[...] = A[l - 1].T @ delta
        if alpha:  # gW += alpha / sum(w) * W
            W = coefs[l - 1]
            penalty = None if scratch is None else _buffer(scratch, l - 1, *W.shape, dtype)
            gW += np.multiply(W, dtype.type(alpha / sw_sum), out=penalty)
        np.sum(delta, axis=0, out=intercept_grads[l - 1])
        if l > 1:
            W = coefs[l - 1]
            da = np.matmul(delta, W.T, out=_buffer(buffers, l - 1, m, W.shape[0], dtype))
            if masks[l - 1] is not None:  # inverted dropout: a = pre * mask
                da *= masks[l - 1]
            DERIVATIVES[hidden_activations[l - 2]](pre[l - 1], da, slope)
            delta = da
    return loss


def predict_proba(X, coefs, intercepts, hidden_activations, out_activation, *,
                  slope: float = LEAKY_SLOPE, chunk_size: int = 4096) -> np.ndarray:
    """``a[L]`` for every row of X, computed in chunks of ``chunk_size`` rows.

    Returns
    -------
    P : ndarray of shape (n_samples, n[L])
    """
    n = X.shape[0]
    out = np.empty((n, coefs[-1].shape[1]), dtype=coefs[-1].dtype)
    buffers = [None] * (len(coefs) + 1)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        A, _, _ = forward(X[start:stop], coefs, intercepts, hidden_activations, out_activation,
                       slope=slope, buffers=buffers)
        out[start:stop] = A[-1]
    return out


def pack(coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> np.ndarray:
    """All weights then all biases, flattened into one vector (for L-BFGS)."""
    return np.concatenate([w.ravel() for w in coefs + intercepts])


def unpack(theta: np.ndarray, coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> None:
    """Inverse of :func:`pack`: copy ``theta`` into the arrays of coefs and intercepts."""
    start = 0
    for w in coefs + intercepts:
        w[...] = theta[start:start + w.size].reshape(w.shape)
        start += w.size
