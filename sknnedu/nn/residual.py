"""Residual connections (He, Zhang, Ren & Sun 2016) as a pair of flat layers.

A residual block adds its input back to what a branch of layers ``F`` makes of it::

    a = g(F(x) + P x)

``P`` is the identity when ``F`` keeps the number of channels, and otherwise a 1x1
projection ``P x = x W`` (``W`` of shape ``(c_in, c_out)``, learned and penalised); ``g``
is the activation after the sum (ReLU in the paper, ``'identity'`` for the "pre-activation"
form of He et al.'s follow-up, *Identity mappings in deep residual networks*, 2016).

So that a network stays a flat list (``for layer in layers: a = layer(a)``), a block is
two layers around its branch::

    [..., fork, *branch, Join(fork), ...]

:class:`Fork` keeps (a reference to) ``x`` and passes it on unchanged; :class:`Join`
reads it back and computes ``a``. Backward, the layers run in reverse as always: the
join sends ``dz = da * g'`` both into the branch and, through ``P``, straight to its fork,
which adds it to what comes out of the branch::

    dJ/dx = dJ/dx through F  +  dz P^T          (P^T = identity, or W^T)

**Why the gradient gets through.** In a plain stack, ``dJ/dx`` is ``dJ/da`` multiplied by
the Jacobian of every layer in between, and a product of many factors smaller than one
vanishes with depth. Through the identity path, ``dz`` reaches ``x`` untouched and the
branch only *adds* to it: for ``g = identity``, ``dJ/dx = dJ/da (I + dF/dx)``, and across
``L`` stacked blocks ``dJ/dx_l = dJ/dx_L (I + d/dx_l sum_i F_i)``, so depth does not shrink
the gradient at the first block (with ``g = relu`` it passes wherever the unit is active).

Works on ``(m, c)``, images ``(m, h, w, c)`` (``P`` a 1x1 convolution) and a
:class:`~sknnedu.nn.sequences.SequenceBatch` ``(T, m, c)`` (padded steps stay 0 forward
and backward). Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .activations import DERIVATIVES, LEAKY_SLOPE, bind, check_activation
from .layers import Layer, Param
from .sequences import SequenceBatch


def _data(a) -> np.ndarray:
    return a.data if isinstance(a, SequenceBatch) else a


class Fork(Layer):
    """The start of a residual block: keeps its input ``x`` and passes it on.

    Forward: ``a = x`` (keeping a reference to ``x`` for its :class:`Join`). Backward::

        da_prev = da + skip_grad

    ``da`` coming back out of the branch, ``skip_grad`` (``dz P^T``) set by the join
    during the same backward pass. No parameters.

    Attributes
    ----------
    x : ndarray or SequenceBatch
        The input of the last forward pass, what the join adds back.
    skip_grad : ndarray of the shape of ``x``'s data
        The gradient along the skip path, set by the join.
    """

    def __init__(self) -> None:
        self.x = self.skip_grad = None

    def forward(self, a_prev, training: bool = False):
        """``a_prev`` itself, remembered for the join."""
        self.x = a_prev
        return a_prev

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da + skip_grad``, in place in ``da``."""
        if not need_input_grad:
            return None
        if self.skip_grad is None:
            raise RuntimeError("Fork.backward before its Join's: a Join(fork) must follow "
                               "the fork's branch in the list of layers.")
        da += self.skip_grad
        self.skip_grad = None
        return da


class Join(Layer):
    """The end of a residual block: ``a = g(F + P x)``.

    ``F`` is the join's input (the branch's output), ``x`` the input of its fork, both
    channels-last with the same leading axes: ``(..., c_out)`` and ``(..., c_in)``::

        z = F + x              P the identity (c_in == c_out)
        z = F + x W            P a 1x1 projection, W: (c_in, c_out)
        a = g(z)

    Backward, with ``dz = da * g'`` (written with ``a = g(z)``, in place in ``da``)::

        dW             = x^T dz              (c_in, c_out)  one product over all rows
        fork.skip_grad = dz   or   dz W^T    (..., c_in)
        da_prev        = dz                  (..., c_out)   into the branch

    Parameters
    ----------
    fork : Fork
        The block's fork, earlier in the list of layers.
    activation : str, default='identity'
        ``g``, a key of :data:`sknnedu.nn.activations.DERIVATIVES`.
    W : ndarray of shape (c_in, c_out) or None, default=None
        The projection, when the branch changes the number of channels; penalised by L2
        (``param_names`` ``("W",)``). None: ``P`` is the identity and the join learns
        nothing.
    slope : float
        gamma of ``'leakyrelu'``.
    """

    def __init__(self, fork: Fork, activation: str = "identity", W: np.ndarray | None = None,
                 slope: float = LEAKY_SLOPE) -> None:
        self.fork = fork
        self.activation = check_activation(activation, DERIVATIVES,
                                           what="activation of a residual Join")
        self.slope = slope
        self.g, self.g_prime = bind(self.activation, slope)
        if W is not None:
            self.declare(Param("W", W, True))
            self.flops = float(W.shape[0] * W.shape[1])

    def forward(self, a_prev, training: bool = False):
        """``g(F + P x)`` of ``F``'s shape; a :class:`SequenceBatch` for one, 0 at its
        padded steps."""
        F, x = _data(a_prev), _data(self.fork.x)
        self._check(F, x)
        dtype = self.params[0].dtype if self.params else F.dtype
        out = self.buffer("out", F.shape, dtype)
        if self.params:                                   # x W: one product over all rows
            W = self.params[0]
            self._x2 = x.reshape(-1, W.shape[0])
            np.matmul(self._x2, W, out=out.reshape(-1, W.shape[1]))
            out += F
        else:
            np.add(F, x, out=out)
        self.g(out)
        self._padded = None
        if isinstance(a_prev, SequenceBatch):
            if not a_prev.full.all():
                self._padded = ~a_prev.mask
                out[self._padded] = 0
            self.a = out
            return SequenceBatch(out, a_prev.lengths)
        self.a = out
        return out

    def _check(self, F: np.ndarray, x: np.ndarray) -> None:
        if x is None:
            raise RuntimeError("Join.forward before its Fork's: the fork must come first.")
        if F.shape[:-1] != x.shape[:-1]:
            raise ValueError(f"The branch's output {F.shape} and the fork's input {x.shape} "
                             "must have the same leading axes (samples, pixels, steps).")
        c_in, c_out = x.shape[-1], F.shape[-1]
        if not self.params and c_in != c_out:
            raise ValueError(f"The branch turns {c_in} channels into {c_out}: give the Join "
                             f"a projection W of shape ({c_in}, {c_out}).")
        if self.params and self.params[0].shape != (c_in, c_out):
            raise ValueError(f"The projection W has shape {self.params[0].shape}; the fork's "
                             f"input has {c_in} channels and the branch's output {c_out}: "
                             f"W must be ({c_in}, {c_out}).")

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dz = da * g'`` (in place, 0 at padded steps) into the branch; ``dz P^T`` to
        the fork; ``dW`` filled."""
        self.g_prime(self.a, da)   # dz, written with a = g(z)
        if self._padded is not None:
            da[self._padded] = 0
        if self.params:
            W = self.params[0]
            dz2 = da.reshape(-1, W.shape[1])
            np.matmul(self._x2.T, dz2, out=self.grads[0])
        if not need_input_grad:
            return None
        x = _data(self.fork.x)
        skip = self.buffer("skip", x.shape, da.dtype)
        if self.params:
            np.matmul(dz2, W.T, out=skip.reshape(-1, W.shape[0]))
        else:  # a copy: the branch may overwrite dz in place
            np.copyto(skip, da)
        self.fork.skip_grad = skip
        return da
