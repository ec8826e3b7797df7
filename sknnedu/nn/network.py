"""A network: a list of layers, an output loss, forward and backward through them.

Notation of the notes, row-major (one sample per row), for layers
``l = 1..L`` with ``n[l]`` units and a batch of ``m`` samples::

    a[0] = X                                  (m, n[0])
    z[l] = a[l-1] W[l] + b[l]                 (m, n[l]),  W[l]: (n[l-1], n[l])
    a[l] = g[l](z[l])                         (m, n[l])
    y_hat = a[L]                              softmax, sigmoid, identity or exp

and backwards, from the loss's ``dz[L] = w * dJ_i/dz[L] / sum(w)`` (``w * (a[L] - y) /
sum(w)`` for the canonical pairs, see :mod:`.losses`), each layer in reverse::

    dW[l]    = a[l-1]^T dz[l] + alpha W[l] / sum(w)       (n[l-1], n[l])
    db[l]    = sum over samples of dz[l]                  (n[l],)
    da[l-1]  = dz[l] W[l]^T                               (m, n[l-1])
    dz[l-1]  = da[l-1] * g'[l-1](z[l-1])

The layers (:mod:`.layers`, :mod:`.conv_layers`) do the per-layer work; this
module only chains them and adds what concerns the whole network: the loss, the
L2 penalty ``J += alpha / 2 * sum_l ||W[l]||^2 / sum(w)`` and the packing of all
parameters into one vector for L-BFGS. Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS
from .layers import Layer, buffer
from .losses import OutputLoss, output_loss
from .optimizers import consecutive_views
from .sequences import Sequences


class Network:
    """Layers applied in order, with the loss and its output activation at the end.

    Parameters
    ----------
    layers : list of Layer
        Any layers that keep the protocol of :mod:`sknnedu.nn.layers`. The last one
        outputs ``z[L]``, the pre-activation of the output: the network applies
        ``g[L]``, the output activation of ``loss``, and starts the backward pass by
        handing that layer ``dz[L]`` from the loss.
    loss : str or OutputLoss
        A key of :data:`sknnedu.nn.losses.OUTPUT_LOSSES`, or a loss built by
        :func:`~sknnedu.nn.losses.output_loss`.
    alpha : float, default=0.0
        L2 penalty on every parameter that a layer declares penalised.
    huber_delta : float, default=1.0
        Threshold of the ``'huber'`` loss named by a string, bound into it here.

    Attributes
    ----------
    arrays : list of ndarray
        ``params``, then every layer's ``state``: all the fitted arrays the layers hold.
    params, grads : lists of ndarray
        Every parameter of every layer and its gradient, in one fixed order (what the
        optimisers and :func:`pack` see): first the penalised ones, layer by layer, then
        the others (for dense layers: all ``W[l]``, then all ``b[l]``).
    penalized, penalized_grads : lists of ndarray
        The parameters that the L2 penalty applies to, and their gradients.
    grad_vector : ndarray of shape (n_params,) or None
        All gradients as one vector: ``grads`` (and each layer's ``grads``) are
        consecutive views of it, so that an optimiser steps all parameters with a
        few whole-vector operations. None when the layers' dtypes differ.
    """

    def __init__(self, layers: list[Layer], loss: str | OutputLoss, *, alpha: float = 0.0,
                 huber_delta: float = 1.0) -> None:
        self.layers = layers
        self.loss = output_loss(loss, huber_delta) if isinstance(loss, str) else loss
        self.alpha = float(alpha)
        for layer in layers:
            check_layer(layer)
        slots = _slots(layers)
        self.grad_vector = _gather_grads(slots)
        self.params = [layer.params[i] for layer, i in slots]
        self.grads = [layer.grads[i] for layer, i in slots]
        self.penalized = [layer.params[i] for layer, i in slots if layer.penalized[i]]
        self.penalized_grads = [layer.grads[i] for layer, i in slots if layer.penalized[i]]
        #: every fitted array the layers hold: params, then the layers' state (batch
        #: norm's running statistics), what early stopping keeps of its best epoch
        self.arrays = self.params + [a for layer in layers for a in layer.state]
        #: per learning layer, the gradients whose norm gradient_norms_ reports
        self._norm_groups = [
            [g for g, p in zip(layer.grads, layer.penalized) if p] or list(layer.grads)
            for layer in layers if layer.params]
        self.n_learning_layers = len(self._norm_groups)
        self._first_learning = next((i for i, layer in enumerate(layers) if layer.params), 0)
        self._scratch = None
        self._bufs: dict = {}
        #: layers whose training statistics take the batch's sample weights (BatchNorm)
        self._weighing = [layer for layer in layers if hasattr(layer, "sample_weight")]
        self._input_dtype = getattr(layers[0], "input_dtype", None) if layers else None

    def forward(self, X, training: bool = False) -> np.ndarray:
        """``a[L] = g[L](z[L])`` for the batch X: ``for layer in layers: a = layer.forward(a)``.

        ``g[L]`` is applied to a copy of the last layer's output, so that no layer's
        cache is overwritten; the copy lives in a buffer reused between batches.

        Sequences (:class:`~sknnedu.nn.sequences.Sequences`, a batch of rows of the data
        or the data itself) are padded here, once, into the one buffer every batch of
        a fit reuses, in the dtype the first layer reads (its ``input_dtype``: token ids
        for an embedding, the weights' dtype for a standardisation). A first layer
        without ``input_dtype`` pads them itself.
        """
        a = X
        if isinstance(X, Sequences) and self._input_dtype is not None:
            a = X.pad(self._input_dtype)  # padded once, as the batch enters the network
        for layer in self.layers:
            a = layer.forward(a, training)
        P = buffer(self._bufs, "P", a.shape, a.dtype)
        np.copyto(P, a)
        return ACTIVATIONS[self.loss.activation](P)

    def loss_grad(self, X, Y: np.ndarray, sample_weight: np.ndarray | None = None, *,
                  training: bool = True) -> float:
        """One forward and backward pass: fill every layer's ``grads``, return J.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (m, ...)
        Y : ndarray of shape (m, n[L])
            Targets (one-hot or 0/1 for classifiers) in the dtype of the weights.
        sample_weight : ndarray of shape (m,) or None
        training : bool
            Apply dropout.

        Returns
        -------
        J : float
            Weighted mean loss of the batch plus the L2 penalty.
        """
        sw_sum = float(Y.shape[0] if sample_weight is None else sample_weight.sum())
        if sw_sum <= 0:  # a batch of zero-weight samples teaches nothing
            for g in self.grads:
                g[...] = 0
            return 0.0
        loss = self._data_loss_grad(X, Y, sample_weight, sw_sum, training)
        return loss + self._penalty_grad(sw_sum)

    def loss_grad_in_chunks(self, X, Y: np.ndarray, sample_weight: np.ndarray | None,
                            chunks: list, *, training: bool = False) -> float:
        """:meth:`loss_grad` over all the rows, one chunk of rows at a time.

        ``J = sum_c (sum(w_c) / sum(w)) J_c + alpha / 2 sum_l ||W[l]||^2 / sum(w)``, ``J_c``
        the weighted mean loss of chunk ``c``; each chunk's backward starts from
        ``dz[L] = w dJ_i/dz / sum(w)`` (the whole data's ``sum(w)``), so the chunks'
        gradients add up to the whole batch's, and the penalty's ``alpha W[l] / sum(w)``
        is added once. The same J and ``grads`` as one pass over all the rows, to
        rounding; the layers' buffers hold one chunk.

        Parameters
        ----------
        X : ndarray, sparse matrix or any container indexed by rows, shape (n, ...)
        Y : ndarray of shape (n, n[L])
        sample_weight : ndarray of shape (n,) or None
        chunks : list of slices or ndarrays of int
            Rows of each chunk (together, every row once).
        training : bool, default=False
            Apply dropout.

        Returns
        -------
        J : float
        """
        sw_sum = float(Y.shape[0] if sample_weight is None else sample_weight.sum())
        total = None  # the sum of the chunks' gradients, in the order of self.grads
        loss = 0.0
        for rows in chunks:
            sw = None if sample_weight is None else sample_weight[rows]
            Y_c = Y[rows]
            weight = float(Y_c.shape[0] if sw is None else sw.sum())
            if weight <= 0:  # zero-weight rows add nothing
                continue
            loss += self._data_loss_grad(X[rows], Y_c, sw, sw_sum, training) * (weight / sw_sum)
            grads = [self.grad_vector] if self.grad_vector is not None else self.grads
            if total is None:
                total = [g.copy() for g in grads]
            else:
                for t, g in zip(total, grads):
                    t += g
        if total is None:  # no sample of non-zero weight
            for g in self.grads:
                g[...] = 0
            return 0.0
        for t, g in zip(total, [self.grad_vector] if self.grad_vector is not None
                        else self.grads):
            g[...] = t
        return loss + self._penalty_grad(sw_sum)

    def _data_loss_grad(self, X, Y: np.ndarray, sample_weight: np.ndarray | None,
                        sw_sum: float, training: bool) -> float:
        """Forward and backward without the penalty: the batch's weighted mean loss, and
        ``grads`` from ``dz[L] = w dJ_i/dz / sw_sum``."""
        for layer in self._weighing:  # batch norm weighs its statistics as the loss does
            layer.sample_weight = sample_weight
        P = self.forward(X, training)
        loss = self.loss(Y, P, sample_weight)
        dtype = P.dtype
        dz = self.loss.gradient(Y, P, buffer(self._bufs, "dz", P.shape, dtype))
        # dz[L] = w dJ_i/dz / sum(w); every dz[l] below inherits the 1 / sum(w)
        dz *= dtype.type(1.0 / sw_sum)
        if sample_weight is not None:
            dz *= sample_weight.astype(dtype, copy=False)[:, None]
        da, first_learning = dz, self._first_learning
        for i in range(len(self.layers) - 1, first_learning - 1, -1):
            da = self.layers[i].backward(da, need_input_grad=i > first_learning)
        return loss

    def _penalty_grad(self, sw_sum: float) -> float:
        """``alpha / 2 sum_l ||W[l]||^2 / sum(w)``, and ``dW[l] += alpha W[l] / sum(w)``
        through reused scratch arrays."""
        if not self.alpha:
            return 0.0
        penalty = 0.5 * self.alpha * sum(float(np.vdot(W, W)) for W in self.penalized) / sw_sum
        if self._scratch is None:
            self._scratch = [np.empty_like(W) for W in self.penalized]
        for W, gW, tmp in zip(self.penalized, self.penalized_grads, self._scratch):
            gW += np.multiply(W, gW.dtype.type(self.alpha / sw_sum), out=tmp)
        return penalty

    def grad_norms(self) -> list[float]:
        """Per learning layer, the norm of the gradient of its penalised parameters
        (``||dW[l]||`` for a dense layer; all its parameters' when none is penalised)."""
        return [float(np.sqrt(sum(np.vdot(g, g) for g in group)))
                for group in self._norm_groups]

    def predict(self, X, chunk_size: int = 4096) -> np.ndarray:
        """``a[L]`` for every row of X, computed in chunks of ``chunk_size`` rows
        (:func:`row_chunks`: sequences in order of length), returned in X's order.

        Returns
        -------
        P : ndarray of shape (n_samples, n[L])
        """
        out = None
        for rows in row_chunks(X, chunk_size):
            P = self.forward(X[rows])
            if out is None:
                out = np.empty((X.shape[0],) + P.shape[1:], dtype=P.dtype)
            out[rows] = P
        return out


def row_chunks(X, size: int) -> list:
    """The rows of X in chunks of at most ``size``: slices in order; for a container
    with ``lengths`` (:class:`~sknnedu.nn.sequences.Sequences`), arrays of rows in order
    of length, so that each chunk is padded to about its own sequences' length.

    Parameters
    ----------
    X : ndarray, sparse matrix or any container of rows, shape (n, ...)
    size : int

    Returns
    -------
    chunks : list of slice or ndarray of int
    """
    n = X.shape[0]
    lengths = getattr(X, "lengths", None)
    if lengths is None:
        return [slice(start, min(start + size, n)) for start in range(0, n, size)]
    order = np.argsort(lengths, kind="stable")
    return [order[start:start + size] for start in range(0, n, size)]


def batches(X, order: np.ndarray | None, batch_size: int, buffer: np.ndarray | None = None):
    """An epoch's minibatches: ``(rows, X_batch)`` for each run of ``batch_size`` rows.

    Parameters
    ----------
    X : ndarray, CSR matrix or any container of rows
        Anything else than an ndarray is indexed as ``X[rows]``, ``rows`` a slice
        (no shuffling) or an array of row indices: a sparse matrix, or a container
        whose ``X[rows]`` is the batch its first layer reads.
    order : ndarray of shape (n,) or None
        The rows in the order of this epoch (None: X's own order).
    batch_size : int
    buffer : ndarray of shape (batch_size,) + X.shape[1:] or None
        For an ndarray X taken in ``order``: the rows are gathered into it, so that an
        epoch allocates nothing.

    Yields
    ------
    rows : slice or ndarray of int
        Index Y and the sample weights with it.
    X_batch
    """
    n = X.shape[0]
    for start in range(0, n, batch_size):
        if order is None:
            rows = slice(start, min(start + batch_size, n))
            yield rows, X[rows]
        else:
            rows = order[start:start + batch_size]
            if buffer is None:
                yield rows, X[rows]
            else:  # mode="raise" would copy twice
                yield rows, np.take(X, rows, axis=0, out=buffer[:len(rows)], mode="clip")


def check_layer(layer: Layer) -> None:
    """Check that a layer keeps the protocol: one gradient and one flag per parameter."""
    n = len(layer.params)
    if len(layer.grads) != n or len(layer.penalized) != n:
        raise TypeError(
            f"{type(layer).__name__} has {n} params, {len(layer.grads)} grads and "
            f"{len(layer.penalized)} penalized flags; the layer protocol needs one of each "
            "per parameter."
        )
    for p, g in zip(layer.params, layer.grads):
        if p.shape != g.shape:
            raise TypeError(f"{type(layer).__name__}: a gradient of shape {g.shape} for a "
                            f"parameter of shape {p.shape}.")


def _slots(layers: list[Layer]) -> list[tuple[Layer, int]]:
    """(layer, index) of every parameter: the penalised ones first, then the others,
    each group in layer order (dense layers: all ``W[l]``, then all ``b[l]``)."""
    every = [(layer, i) for layer in layers for i in range(len(layer.params))]
    return ([(layer, i) for layer, i in every if layer.penalized[i]]
            + [(layer, i) for layer, i in every if not layer.penalized[i]])


def _gather_grads(slots: list[tuple[Layer, int]]) -> np.ndarray | None:
    """Move the layers' gradients into one vector, in the order of ``slots``.

    Each layer's ``grads[i]`` is replaced by a view of the vector (its backward
    writes into ``grads[i]`` in place, so it writes into the vector).
    """
    arrays = [layer.grads[i] for layer, i in slots]
    if not arrays or len({a.dtype for a in arrays}) != 1:
        return None
    vector = np.empty(sum(a.size for a in arrays), dtype=arrays[0].dtype)
    for (layer, i), view in zip(slots, consecutive_views(vector, arrays)):
        if not isinstance(layer.grads, list):  # a class-level default: make it the layer's
            layer.grads = list(layer.grads)
        layer.grads[i] = view
    return vector


def pack(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays flattened into one float64 vector, in order (for L-BFGS)."""
    return np.concatenate([a.ravel() for a in arrays]).astype(np.float64, copy=False)


def unpack(theta: np.ndarray, arrays: list[np.ndarray]) -> None:
    """Inverse of :func:`pack`: copy ``theta`` into ``arrays``, in place."""
    for a, view in zip(arrays, consecutive_views(theta, arrays)):
        a[...] = view
