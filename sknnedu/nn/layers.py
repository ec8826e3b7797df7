"""Layers of a network: each one's forward pass with its backward pass right below.

A network is a list of layers, applied in order (``for layer in layers: a = layer(a)``)
and differentiated in reverse (:mod:`sknnedu.nn.network`).

The layer protocol
------------------
This is the contract that every layer keeps, and all that :class:`~sknnedu.nn.network.Network`,
the optimisers and the training engine know of a layer. A new kind of layer (a
convolution, a recurrent layer, an embedding, one of your own) fits by keeping it, with no
change anywhere else.

``parameters`` : tuple of :class:`Param`
    The arrays it learns, as named records ``Param(name, value, penalized)``, any number
    of them (``()`` for none), in a fixed order, declared once by :meth:`Layer.declare`.
    ``value`` is a *reference* to the estimator's fitted array (``coefs_[l-1]``,
    ``intercepts_[l-1]``, ...), which the optimiser updates in place: the fitted arrays
    are the model. ``penalized`` says whether the L2 penalty ``alpha / 2 ||theta||^2``
    applies to it (weights: yes; biases: no). ``declare`` derives from the records what
    the network and the optimisers read, the list ``params`` (the arrays) and the tuples
    ``param_names`` and ``penalized``, so they cannot disagree.
``grads`` : list of ndarray
    One array per parameter, of its shape and dtype, allocated once and written *in place*
    by ``backward`` (the network may replace them by views of one gradient vector).
``forward(a_prev, training) -> a``
    The layer's output for a batch, keeping (references to) whatever its backward needs,
    per-step state included (a recurrent layer keeps every step's state). ``training``
    switches on what only training does (dropout).
``backward(da, need_input_grad) -> da_prev``
    Given ``da = dJ/da`` of its output (for the last layer of a network, ``dz[L]`` from
    the loss: a network's last layer outputs the pre-activation ``z[L]``), fills
    ``grads`` and returns ``dJ/da_prev``, or None when ``need_input_grad`` is False
    (nothing upstream learns).
``flops`` : float
    Multiply-adds per sample: the layer's cost, from which :mod:`sknnedu.nn.threads`
    decides how many threads the matrix products use. A layer reports its cost; it does
    not decide threading.

Fitted state that gradient descent does not touch: a layer may also keep ``state``, a
list of arrays, with ``state_names``, one name each (default ``[]`` and ``()``). Batch
norm's running mean and variance are the example (:class:`~sknnedu.nn.normalization.BatchNorm`):
references to the estimator's fitted arrays, as ``params`` are, but updated in place by the
layer's own training forward pass, not by an optimiser. They are not in ``params``, so
they have no gradient, no optimiser steps them and no L2 penalty applies to them; an
estimator saves and restores them with its other fitted arrays.

Buffers are reused between batches (:func:`buffer`, :meth:`Layer.buffer`), so a training
step allocates nothing. This module is plain numpy and imports nothing from scikit-learn;
convolution and pooling layers are in :mod:`sknnedu.nn.conv_layers`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .activations import (
    DERIVATIVES,
    HIDDEN_ACTIVATIONS,
    LEAKY_SLOPE,
    bind,
    check_activation,
)


class Param(NamedTuple):
    """One learned array of a layer: its name, the array itself, and whether L2 applies."""

    name: str
    value: np.ndarray
    penalized: bool


def buffer(bufs: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    """A buffer of ``shape`` reused between calls: the one buffer idiom of the core.

    ``bufs`` holds one flat array per ``name``, grown when a call asks for more than it
    holds and otherwise reused, so a short last batch does not shrink it and the next
    epoch's first batch does not allocate again. The result is a view of ``shape`` (its
    content is whatever the last call left).
    """
    size = math.prod(shape)
    buf = bufs.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = bufs[name] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


class Layer:
    """Base class: a layer with no parameters that passes its input through."""

    parameters: tuple[Param, ...] = ()
    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []
    param_names: tuple[str, ...] = ()
    penalized: tuple[bool, ...] = ()
    #: fitted state that gradient descent does not touch (batch norm's running statistics)
    state: list[np.ndarray] = []
    state_names: tuple[str, ...] = ()

    def declare(self, *parameters: Param | tuple) -> None:
        """Declare the layer's learned arrays, ``Param(name, value, penalized)`` each, in
        order; ``params``, ``param_names``, ``penalized`` and ``grads`` (zeros of each
        array's shape and dtype) follow from them."""
        self.parameters = tuple(Param(*p) for p in parameters)
        self.params = [p.value for p in self.parameters]
        self.param_names = tuple(p.name for p in self.parameters)
        self.penalized = tuple(p.penalized for p in self.parameters)
        self.grads = [np.zeros_like(p.value) for p in self.parameters]

    def buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """This layer's buffer ``name`` of ``shape``, reused between batches (:func:`buffer`)."""
        bufs = self.__dict__.get("_bufs")
        if bufs is None:
            bufs = self._bufs = {}
        return buffer(bufs, name, shape, dtype)

    def forward(self, a_prev, training: bool = False):
        """The output of the layer for the batch ``a_prev``."""
        return a_prev

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/da_prev`` from ``dJ/da`` (and ``grads`` filled)."""
        return da if need_input_grad else None

    #: multiply-adds per sample: the cost from which :func:`sknnedu.nn.threads.step_blas`
    #: decides whether BLAS uses threads
    flops: float = 0.0
    #: True for layers that split a batch over Python threads themselves, each running
    #: single-threaded BLAS (:mod:`sknnedu.nn.conv_layers`): the whole step then runs with
    #: single-threaded BLAS (:func:`sknnedu.nn.threads.step_blas`)
    runs_own_threads: bool = False


class Dense(Layer):
    """Fully connected layer: ``z[l] = a[l-1] W[l] + b[l]``, ``a[l] = g[l](z[l])``.

    Parameters
    ----------
    W : ndarray of shape (n[l-1], n[l])
    b : ndarray of shape (n[l],)
    activation : str
        A key of :data:`sknnedu.nn.activations.ACTIVATIONS`. The output layer of a
        network is ``'identity'``: the network applies the output activation ``g[L]``
        and the loss sends back ``dz[L]``.
    slope : float
        gamma of ``'leakyrelu'``.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: str,
                 slope: float = LEAKY_SLOPE) -> None:
        self.declare(Param("W", W, True), Param("b", b, False))
        self.activation = activation
        self.slope = slope
        self.g, self.g_prime = bind(activation, slope)  # an unknown name: a ValueError
        self.flops = float(W.shape[0] * W.shape[1])

    def forward(self, a_prev, training: bool = False) -> np.ndarray:
        """``a = g(a_prev W + b)``, shape (m, n[l]), one BLAS call into a reused buffer."""
        W, b = self.params
        Z = self.buffer("out", (a_prev.shape[0], W.shape[1]), W.dtype)
        if isinstance(a_prev, np.ndarray):
            np.matmul(a_prev, W, out=Z)
        else:  # scipy sparse input
            Z[...] = a_prev @ W
        Z += b
        self.a_prev, self.a = a_prev, self.g(Z)
        return self.a

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dz = da * g'(z)`` (in place, written with ``a = g(z)``), then :meth:`backward_dz`."""
        self.g_prime(self.a, da)
        return self.backward_dz(da, need_input_grad)

    def backward_dz(self, dz: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """From ``dz[l]`` of shape (m, n[l])::

            dW[l]   = a[l-1]^T dz[l]          (n[l-1], n[l])
            db[l]   = sum over samples dz[l]   (n[l],)
            da[l-1] = dz[l] W[l]^T            (m, n[l-1])
        """
        W = self.params[0]
        dW, db = self.grads
        if isinstance(self.a_prev, np.ndarray):
            np.matmul(self.a_prev.T, dz, out=dW)
        else:
            dW[...] = self.a_prev.T @ dz
        np.sum(dz, axis=0, out=db)
        if not need_input_grad:
            return None
        return np.matmul(dz, W.T, out=self.buffer("dx", (dz.shape[0], W.shape[0]), W.dtype))


class Dropout(Layer):
    """Inverted dropout (training only): ``a = a_prev * mask``.

    Each unit is kept with probability ``1 - p`` and survivors are scaled by
    ``1 / (1 - p)``, so ``E[a] = a_prev`` and prediction needs no rescaling.
    Backward: ``da_prev = da * mask``.

    On a :class:`~sknnedu.nn.sequences.SequenceBatch` ``(T, m, c)`` the mask is drawn over
    the data's shape and is 0 at padded steps, which so stay 0 going forward and backward;
    the output is a ``SequenceBatch`` of the same lengths.

    Parameters
    ----------
    p : float in [0, 1)
    rng : numpy.random.Generator
        Draws the masks: uniform float64 numbers, a unit kept where one is >= p, so
        that the masks do not depend on the dtype of the input.
    """

    def __init__(self, p: float, rng: np.random.Generator | None) -> None:
        self.p = p
        self.rng = rng
        self.mask = None

    def forward(self, a_prev, training: bool = False):
        """``a_prev * mask`` when training, ``a_prev`` itself otherwise."""
        if not training or self.p == 0:
            self.mask = None
            return a_prev
        batch, x = _sequence_data(a_prev)
        # drawn in float64 whatever the dtype of a_prev, so that float32 and float64
        # input keep the same units for the same seed
        keep = self.rng.random(x.shape) >= self.p
        if batch is not None and not batch.full.all():
            keep &= batch.mask[:, :, None]
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return _as_input(x * self.mask, batch)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da_prev = da * mask``."""
        if not need_input_grad:
            return None
        if self.mask is not None:
            da *= self.mask
        return da


class Activation(Layer):
    """An activation on its own, elementwise: ``a = g(a_prev)``.

    For ``g`` after a layer that applies none (a normalisation, a residual branch); a
    :class:`Dense` layer applies its own. Backward, as everywhere in the core, with the
    derivative written in terms of the output ``a = g(z)`` (:mod:`sknnedu.nn.activations`)
    and applied to ``da`` in place::

        da_prev = da * g'(a_prev)

    On a :class:`~sknnedu.nn.sequences.SequenceBatch` ``(T, m, c)`` the output is a
    ``SequenceBatch`` whose padded steps are set back to 0 (``g(0)`` need not be 0:
    ``sigmoid(0) = 1/2``), and ``da`` is zeroed there.

    Parameters
    ----------
    activation : str
        A key of :data:`sknnedu.nn.activations.ACTIVATIONS`; training through it needs
        one of :data:`~sknnedu.nn.activations.DERIVATIVES`.
    slope : float
        gamma of ``'leakyrelu'``.
    """

    def __init__(self, activation: str, slope: float = LEAKY_SLOPE) -> None:
        self.activation = check_activation(activation, what="activation of an Activation layer")
        self.slope = slope
        self.g, self.g_prime = bind(self.activation, slope)
        # elementwise: flops stays 0 (no matrix product, so no BLAS threads to decide)

    def forward(self, a_prev, training: bool = False):
        """``g(a_prev)``, the input's shape and dtype, into a buffer reused between batches
        (``a_prev`` itself for ``'identity'``, unless padded steps need zeroing)."""
        batch, x = _sequence_data(a_prev)
        self._padded = None if batch is None or batch.full.all() else ~batch.mask
        if self.activation == "identity" and self._padded is None:
            self.a = x
            return a_prev
        out = self.buffer("out", x.shape, x.dtype)
        np.copyto(out, x)
        self.g(out)
        if self._padded is not None:
            out[self._padded] = 0
        self.a = out
        return _as_input(out, batch)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da * g'``, in place in ``da``, 0 at padded steps."""
        if not need_input_grad:
            return None
        if self.activation not in DERIVATIVES:
            raise ValueError(
                f"The activation {self.activation!r} has no derivative, so nothing can be "
                f"trained through it; use one of {list(HIDDEN_ACTIVATIONS)}.")
        self.g_prime(self.a, da)
        if self._padded is not None:
            da[self._padded] = 0
        return da


def dropout_layers(p: float, rng: np.random.Generator | None) -> list[Layer]:
    """Where a network builder inserts dropout: ``[Dropout(p, rng)]``, or ``[]`` for
    ``p = 0`` (no layer at all, so that a network without dropout has none to pass)."""
    return [Dropout(p, rng)] if p else []


def _sequence_data(a_prev) -> tuple:
    """``(batch, data)``: the :class:`~sknnedu.nn.sequences.SequenceBatch` and its data, or
    ``(None, a_prev)`` for an array. Imported here, not at the top: sequences imports
    this module."""
    from .sequences import SequenceBatch

    if isinstance(a_prev, SequenceBatch):
        return a_prev, a_prev.data
    return None, a_prev


def _as_input(out: np.ndarray, batch):
    """``out`` as a ``SequenceBatch`` of ``batch``'s lengths, or the array itself."""
    return out if batch is None else type(batch)(out, batch.lengths)


class Rescale(Layer):
    """Fixed rescaling of the input, per channel: ``a = x / s``.

    The first layer of a :class:`~sknnedu.CNNClassifier`: ``s`` is the root mean
    square of each channel over the training images (a fitted array, not learned
    by gradient descent), so raw 0-255 pixels and [0, 1] pixels train alike. No
    mean is subtracted: 0 stays 0, the value of the zero padding, so a black
    background meets the border without a false edge. Applied batch by batch into
    a reused buffer, so the data are never copied whole. Nothing upstream learns.

    Parameters
    ----------
    scale : ndarray of shape (c,)
        ``s`` (broadcast over the last axis).
    """

    def __init__(self, scale: np.ndarray) -> None:
        self.inv_scale = (1.0 / scale).astype(scale.dtype)

    def forward(self, a_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """``a_prev / s``, same shape as ``a_prev`` (float32 stays float32)."""
        dtype = np.result_type(a_prev.dtype, self.inv_scale.dtype)
        return np.multiply(a_prev, self.inv_scale, out=self.buffer("out", a_prev.shape, dtype))

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da / s`` (never needed in training: the input does not learn)."""
        return da * self.inv_scale if need_input_grad else None
