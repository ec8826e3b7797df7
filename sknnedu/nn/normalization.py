"""Normalisation layers: layer norm and batch norm, each forward with its backward below.

Both standardise their input, then rescale and shift it by two learned vectors of one
value per channel::

    x_hat = (x - mu) / sigma,     sigma = sqrt(var + eps)
    a     = gamma * x_hat + beta

They differ in what ``mu`` and ``var`` (the biased variance, divided by ``n``) average
over:

* :class:`LayerNorm` (Ba, Kiros & Hinton 2016): over the ``c`` channels of each row (one
  sample, one pixel, one step). A row's output depends on that row only, so training
  and prediction compute the same function.
* :class:`BatchNorm` (Ioffe & Szegedy 2015): per channel, over the ``n`` values of that
  channel in the batch (every sample, pixel or valid step) while training; over the
  whole training set, estimated by running averages, in prediction.

The input is channels-last: ``(m, c)``, images ``(m, h, w, c)``, or a
:class:`~sknnedu.nn.sequences.SequenceBatch` of data ``(T, m, c)``, whose padded steps
never enter a statistic and come out as exactly 0. The output has the input's shape.

Backward
--------
With ``dx_hat = da * gamma`` and the means taken over the same ``n`` values as ``mu``,
the chain rule through ``mu`` and ``sigma`` simplifies to one line (cs231n's
``batchnorm_backward_alt``; the same algebra for layer norm, over the other axis)::

    dx     = (1 / sigma) (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat))
    dgamma = sum over rows of da * x_hat        (c,)
    dbeta  = sum over rows of da                (c,)

When the statistics are constants (batch norm in prediction), the layer is an affine map
and ``dx = da * gamma / sigma``.

Moving weights to and from torch
--------------------------------
Every fitted array here is a 1-D array of ``c`` values, in the order of the channels,
and copies as it is (``torch.from_numpy(gamma)``, ``layer.weight.detach().numpy()``):

============================== ===================== ==============================
torch                          sknnedu               notes
============================== ===================== ==============================
``nn.LayerNorm(c).weight``     ``gamma``             ``normalized_shape=(c,)``
``nn.LayerNorm(c).bias``       ``beta``
``nn.BatchNorm1d/2d.weight``   ``gamma``
``nn.BatchNorm1d/2d.bias``     ``beta``
``running_mean``               ``running_mean``      a buffer in torch, not learned
``running_var``                ``running_var``       unbiased, as torch's
``num_batches_tracked``        (none)                torch uses it only if momentum=None
============================== ===================== ==============================

torch's defaults ``eps=1e-5`` and ``momentum=0.1`` are ours. torch is channels-first:
``BatchNorm1d`` takes ``(m, c)`` or ``(m, c, T)`` (ours: ``(m, c)`` or ``(T, m, c)``:
``x.permute(1, 2, 0)``), ``BatchNorm2d`` takes ``(m, c, h, w)`` (ours ``(m, h, w, c)``:
``x.permute(0, 3, 1, 2)``). torch knows no padding: its batch statistics over
``(m, c, T)`` include padded steps, so the two agree on batches of equal lengths only.

Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer, Param
from .sequences import SequenceBatch


def _unpack(a_prev) -> tuple[np.ndarray, np.ndarray | None]:
    """``(data, padded)``: ``padded`` the (T m,) bool rows of padded steps of a
    :class:`SequenceBatch` that has some, else None."""
    if isinstance(a_prev, SequenceBatch):
        padded = None if a_prev.full.all() else ~a_prev.mask.reshape(-1)
        return a_prev.data, padded
    return a_prev, None


def _wrap(out: np.ndarray, a_prev):
    """``out`` as the input came: a :class:`SequenceBatch` of the same lengths, or an array."""
    return SequenceBatch(out, a_prev.lengths) if isinstance(a_prev, SequenceBatch) else out


def _check_channels(x: np.ndarray, c: int, name: str) -> None:
    if x.shape[-1] != c:
        raise ValueError(f"{name} has {c} channels (gamma of shape ({c},)); its input has "
                         f"{x.shape[-1]} on its last axis, shape {x.shape}.")


class LayerNorm(Layer):
    """Layer normalisation over the last axis: each row standardised over its ``c`` channels.

    For every row ``x`` of ``c`` values (a sample of ``(m, c)``, a pixel of
    ``(m, h, w, c)``, a step of a sequence batch ``(T, m, c)``)::

        mu    = (1/c) sum_j x_j
        var   = (1/c) sum_j (x_j - mu)^2             biased, as torch's nn.LayerNorm
        x_hat = (x - mu) / sqrt(var + eps)
        a     = gamma * x_hat + beta                 (c,)

    Backward, with ``dx_hat = da * gamma`` and means over the ``c`` channels of a row::

        dx     = (1/sigma) (dx_hat - mean(dx_hat) - x_hat mean(dx_hat x_hat))
        dgamma = sum over valid rows of da * x_hat
        dbeta  = sum over valid rows of da

    Each row's output depends on that row only, so training and prediction agree and a
    sequence's output does not depend on its batch. torch: ``nn.LayerNorm(c)`` with
    ``weight = gamma``, ``bias = beta``.

    Parameters
    ----------
    gamma, beta : ndarray of shape (c,)
        Scale and shift, learned and not penalised (references to the estimator's
        fitted arrays; :func:`init_norm` gives ones and zeros).
    eps : float, default=1e-5
        Added to the variance.
    """

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> None:
        self.declare(Param("gamma", gamma, False), Param("beta", beta, False))
        self.eps = eps
        # no matrix product: flops stays 0 (elementwise work uses no BLAS threads)

    def forward(self, a_prev, training: bool = False):
        """``gamma * x_hat + beta``, the input's shape, in the dtype of ``gamma``.

        An ndarray for an ndarray; a :class:`SequenceBatch` for a ``SequenceBatch``,
        0 at its padded steps.
        """
        gamma, beta = self.params
        x, padded = _unpack(a_prev)
        c, dtype = gamma.shape[0], gamma.dtype
        _check_channels(x, c, "LayerNorm")
        xhat = self.buffer("xhat", x.shape, dtype)
        np.subtract(x, x.mean(axis=-1, keepdims=True, dtype=dtype), out=xhat)
        var = np.einsum("...c,...c->...", xhat, xhat) / dtype.type(c)
        inv = np.reciprocal(np.sqrt(var + dtype.type(self.eps)))[..., None]   # 1 / sigma
        xhat *= inv
        out = self.buffer("out", x.shape, dtype)
        np.multiply(xhat, gamma, out=out)
        out += beta
        if padded is not None:
            xhat.reshape(-1, c)[padded] = 0
            out.reshape(-1, c)[padded] = 0
        self._x_hat, self._inv, self._padded = xhat, inv, padded
        return _wrap(out, a_prev)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dx`` of the input's shape (0 at padded steps); ``dgamma``, ``dbeta`` filled.

        ``da`` is zeroed at padded steps in place.
        """
        gamma = self.params[0]
        dgamma, dbeta = self.grads
        xhat, inv, c = self._x_hat, self._inv, gamma.shape[0]
        da2, xhat2 = da.reshape(-1, c), xhat.reshape(-1, c)
        if self._padded is not None:
            da2[self._padded] = 0
        np.einsum("rc,rc->c", da2, xhat2, out=dgamma)
        np.sum(da2, axis=0, out=dbeta)
        if not need_input_grad:
            return None
        dx = self.buffer("dx", da.shape, gamma.dtype)
        tmp = self.buffer("tmp", da.shape, gamma.dtype)
        np.multiply(da, gamma, out=dx)                                        # dx_hat
        proj = np.einsum("...c,...c->...", dx, xhat)[..., None] / gamma.dtype.type(c)
        dx -= dx.mean(axis=-1, keepdims=True)
        dx -= np.multiply(xhat, proj, out=tmp)
        dx *= inv
        return dx


class BatchNorm(Layer):
    """Batch normalisation: each channel standardised over the batch, with running statistics.

    Training (``training=True``), per channel, over the ``n`` values of that channel in
    the batch: ``(m, c)``: the ``m`` rows; images ``(m, h, w, c)``: ``n = m h w``;
    a :class:`SequenceBatch` ``(T, m, c)``: the valid steps only, ``n = sum_i T_i``
    (padding never enters, and padded steps come out 0)::

        mu    = (1/n) sum x                  (c,)
        var   = (1/n) sum (x - mu)^2         (c,)   biased: what normalises the batch
        x_hat = (x - mu) / sqrt(var + eps)
        a     = gamma * x_hat + beta

    and the running statistics are updated in place, as torch does::

        running_mean = (1 - momentum) running_mean + momentum mu
        running_var  = (1 - momentum) running_var  + momentum var n / (n - 1)   (unbiased)

    (for ``n == 1``, ``var`` itself, 0: torch refuses such a batch). Prediction
    (``training=False``) uses ``running_mean`` and ``running_var`` in place of ``mu`` and
    ``var``: an affine map of each value, the same for any batch.

    Backward (cs231n's ``batchnorm_backward_alt``), with sums over the ``n`` valid values
    of each channel::

        dgamma = sum da * x_hat,     dbeta = sum da                  (c,)
        training:   dx = gamma / sigma (da - dbeta / n - x_hat dgamma / n)
        prediction: dx = gamma / sigma da

    Sample weights are frequency weights, as scikit-learn's ``sample_weight``: with
    ``sample_weight`` set (one ``w_i >= 0`` per sample of the batch; the estimator sets
    it before each training pass), every value of sample ``i`` counts ``w_i`` times in
    the statistics, ``n = sum v`` and ``sum x`` becomes ``sum v x`` (``v`` the weight of
    each value's sample, 0 at padded steps), and the backward's correction terms are
    each value's share::

        training:   dx = gamma / sigma (da - v (dbeta + x_hat dgamma) / n)

    So a sample of weight 2 is the same as that sample twice in the batch, and a sample
    of weight 0 the same as its absence: it does not move the statistics, the other
    samples' outputs or the running statistics (whose unbiased factor is
    ``n / (n - 1)`` with this ``n``, bounded by 2 where ``n < 2``). torch has no sample
    weights; with all weights 1 (or None) this is its batch norm.

    Parameters
    ----------
    gamma, beta : ndarray of shape (c,)
        Scale and shift, learned and not penalised (:func:`init_norm`).
    running_mean, running_var : ndarray of shape (c,)
        The running statistics (:func:`init_running` gives zeros and ones): fitted state
        that gradient descent does not touch. References to the estimator's arrays,
        updated in place by every training forward pass; exposed as ``state``, not
        ``params``, so that no optimiser steps them and no penalty applies.
    momentum : float, default=0.1
        Weight of the batch's statistics in the running ones (torch's meaning).
    eps : float, default=1e-5
        Added to the variance.

    Attributes
    ----------
    state : list of ndarray
        ``[running_mean, running_var]``: the layer protocol's fitted state that gradient
        descent does not touch (:mod:`sknnedu.nn.layers`).
    sample_weight : ndarray of shape (m,) or None
        The frequency weights of the next training batch's samples (None: all 1); set by
        whoever trains the network, read only when ``training``.
    state_names : tuple of str
        ``("running_mean", "running_var")``.

    Notes
    -----
    torch: ``nn.BatchNorm1d(c)`` for ``(m, c)`` and sequences, ``nn.BatchNorm2d(c)`` for
    images, with ``weight = gamma``, ``bias = beta`` and the same ``running_mean``,
    ``running_var``; torch is channels-first (see the module docstring).
    """

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                 running_var: np.ndarray, momentum: float = 0.1, eps: float = 1e-5) -> None:
        self.declare(Param("gamma", gamma, False), Param("beta", beta, False))
        self.state = [running_mean, running_var]
        self.state_names = ("running_mean", "running_var")
        self.momentum, self.eps = momentum, eps
        self.sample_weight = None

    def forward(self, a_prev, training: bool = False):
        """``gamma * x_hat + beta``, the input's shape, in the dtype of ``gamma``.

        Batch statistics (and an update of the running ones) when ``training``, the
        running statistics otherwise. An ndarray for an ndarray; a
        :class:`SequenceBatch` for a ``SequenceBatch``, 0 at its padded steps.
        """
        gamma, beta = self.params
        x, padded = _unpack(a_prev)
        c, dtype = gamma.shape[0], gamma.dtype
        _check_channels(x, c, "BatchNorm")
        x2 = x.reshape(-1, c)
        xhat = self.buffer("xhat", (x.size // c, c), dtype)
        v = None   # the weight of each row, when the samples are weighted
        if training:
            v = self._row_weights(a_prev, x, padded)
            if v is not None:  # frequency weights, 0 at padded steps
                n = float(v.sum(dtype=np.float64))
                mean = (v @ x2).astype(dtype, copy=False) / dtype.type(n)
            elif padded is None:
                n = x2.shape[0]
                mean = x2.mean(axis=0, dtype=dtype)
            else:  # the valid rows only: one product with the 0/1 mask
                valid = (~padded).astype(dtype)
                n = int(np.count_nonzero(~padded))
                mean = (valid @ x2).astype(dtype, copy=False) / dtype.type(n)
            np.subtract(x2, mean, out=xhat)
            if padded is not None:
                xhat[padded] = 0
            if v is None:
                var = np.einsum("rc,rc->c", xhat, xhat) / dtype.type(n)
            else:
                var = np.einsum("r,rc,rc->c", v, xhat, xhat) / dtype.type(n)
            self._update_running(mean, var, n)
        else:
            n = 0
            running_mean, var = self.state
            np.subtract(x2, running_mean, out=xhat)
            if padded is not None:
                xhat[padded] = 0
        inv = np.reciprocal(np.sqrt(var + self.eps)).astype(dtype, copy=False)   # 1 / sigma
        xhat *= inv
        out = self.buffer("out", (x.size // c, c), dtype)
        np.multiply(xhat, gamma, out=out)
        out += beta
        if padded is not None:
            out[padded] = 0
        self._x_hat, self._inv, self._n, self._padded, self._v = xhat, inv, n, padded, v
        self._training, self._shape = training, x.shape
        return _wrap(out.reshape(x.shape), a_prev)

    def _row_weights(self, a_prev, x: np.ndarray, padded) -> np.ndarray | None:
        """``v`` of shape (rows,): the weight of each row of ``x.reshape(-1, c)`` (its
        sample's, 0 at padded steps), or None when the samples are not weighted."""
        w = self.sample_weight
        if w is None:
            return None
        w = np.asarray(w, dtype=self.params[0].dtype)
        m = x.shape[1] if isinstance(a_prev, SequenceBatch) else x.shape[0]
        if w.shape != (m,):
            raise ValueError(f"BatchNorm.sample_weight has shape {w.shape}; the batch has "
                             f"{m} samples.")
        if isinstance(a_prev, SequenceBatch):   # (T, m, c): the samples on axis 1
            v = np.broadcast_to(w[None, :], x.shape[:2])
        else:                                   # (m, c) or (m, h, w, c)
            v = np.broadcast_to(w.reshape((m,) + (1,) * (x.ndim - 2)), x.shape[:-1])
        v = v.reshape(-1)
        return v if padded is None else np.where(padded, 0, v)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, n: float) -> None:
        """``running = (1 - momentum) running + momentum batch_stat``, in place; the
        variance unbiased (``n / (n - 1)``) as torch's, the factor at most 2 (``n < 2``
        happens only with weights, or ``n == 1``, whose variance is 0)."""
        running_mean, running_var = self.state
        momentum = self.momentum
        unbiased = var * (max(n, 1) / max(n - 1, 1))
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * unbiased

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dx`` of the input's shape (0 at padded steps); ``dgamma``, ``dbeta`` filled.

        ``da`` is zeroed at padded steps in place.
        """
        gamma = self.params[0]
        dgamma, dbeta = self.grads
        xhat, c = self._x_hat, gamma.shape[0]
        da2 = da.reshape(-1, c)
        if self._padded is not None:
            da2[self._padded] = 0
        np.einsum("rc,rc->c", da2, xhat, out=dgamma)
        np.sum(da2, axis=0, out=dbeta)
        if not need_input_grad:
            return None
        dx = self.buffer("dx", (da.size // c, c), gamma.dtype)
        scale = gamma * self._inv                                            # gamma / sigma
        if self._training:
            # dx = gamma / sigma (da - v (dbeta + x_hat dgamma) / n), v = 1 unweighted
            inv_n = gamma.dtype.type(1.0 / self._n)
            if self._v is None:
                np.multiply(xhat, dgamma * inv_n, out=dx)
                dx += dbeta * inv_n
            else:
                np.multiply(xhat, dgamma, out=dx)
                dx += dbeta
                dx *= (self._v * inv_n)[:, None]
            np.subtract(da2, dx, out=dx)
            dx *= scale
            if self._padded is not None:
                dx[self._padded] = 0
        else:                # an affine map: dx = gamma / sigma da
            np.multiply(da2, scale, out=dx)
        return dx.reshape(self._shape)


def init_norm(c: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Initial ``gamma, beta`` of shape (c,): ones and zeros (the identity map on ``x_hat``)."""
    return np.ones(c, dtype=dtype), np.zeros(c, dtype=dtype)


def init_running(c: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Initial ``running_mean, running_var`` of shape (c,): zeros and ones, as torch's."""
    return np.zeros(c, dtype=dtype), np.ones(c, dtype=dtype)
