"""Convolutional layers for the training engine: Conv2D, Pool2D and Flatten.

Every layer follows the engine's protocol (plain numpy, nothing from scikit-learn)::

    params : list of ndarray    # references to the estimator's fitted arrays ([] if none)
    grads  : list of ndarray    # same shapes, preallocated, written by backward
    forward(a_prev, training=False) -> a
    backward(da, need_input_grad=True) -> da_prev (or None)

where ``da = dJ/da`` is the gradient of the loss with respect to the layer's
output and the return value is ``dJ/da_prev``. Images are channels-last,
``(m, h, w, c)`` for a batch of ``m``.

A layer caches only what its backward needs (Conv2D: the patch matrix ``P`` and
its output ``a``; max Pool2D: the argmax of each window; Flatten: the input
shape) and keeps its scratch arrays between batches: they are allocated on the
first batch and again only when a batch is bigger or the image size changes.
So an output returned by ``forward`` (and a gradient returned by ``backward``)
is overwritten by the next call of the same kind.

The arithmetic is that of :mod:`sknnedu.conv` (im2col, col2im, the window loops
of the pooling backward), on one batch at a time and without the checks of the
public functions: the engine calls these thousands of times per fit.
"""

from __future__ import annotations

import numpy as np

from sknnedu.activations import ACTIVATIONS, DERIVATIVES, LEAKY_SLOPE
from sknnedu.conv import (
    _avg_pool_backward,
    _col2im,
    _im2col,
    _max_pool_backward,
    _max_pool_buffers,
    _max_pool_forward,
    _pair,
    _reduce_chunk,
    conv_geometry,
    pool_geometry,
)

__all__ = ["Conv2D", "Flatten", "Pool2D"]


class _Buffers:
    """Named scratch arrays ``(m, *shape)``, reused while ``m`` fits and ``shape`` is unchanged."""

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, m: int, shape: tuple, dtype, zeros: bool = False) -> np.ndarray:
        """A view ``[:m]`` of the buffer ``name``; ``zeros``: a new buffer starts at 0."""
        buf = self._arrays.get(name)
        if buf is None or buf.shape[1:] != shape or buf.shape[0] < m or buf.dtype != dtype:
            buf = (np.zeros if zeros else np.empty)((max(m, 1), *shape), dtype=dtype)
            self._arrays[name] = buf
        return buf[:m]


def _check_activation(activation) -> str:
    if not isinstance(activation, str) or activation not in DERIVATIVES:
        raise ValueError(
            f"Unknown activation {activation!r} for a trainable layer; expected one of "
            f"{sorted(DERIVATIVES)}."
        )
    return activation


def _check_images(a_prev, layer: str) -> np.ndarray:
    if not isinstance(a_prev, np.ndarray) or a_prev.ndim != 4:
        shape = np.shape(a_prev)
        raise ValueError(f"{layer} expects images of shape (m, h, w, c), got shape {shape}.")
    return a_prev


class Conv2D:
    """A convolutional layer: ``z = conv2d(a_prev, K) + b``, ``a = g(z)``.

    ::

        z[n, i, j, k] = sum_{u, v, ch} ap[n, i s + u, j s + v, ch] K[k, u, v, ch] + b[k]
        a = g(z)

    with ``ap`` the zero-padded input. As matrices: ``Z = P W^T + b`` with ``P``
    ``(m oh ow, fh fw c)`` the patches of the batch (im2col, one copy of a
    ``sliding_window_view``) and ``W = K.reshape(k, fh fw c)``: channels-last
    kernels flatten in the same ``(u, v, ch)`` order as a patch.

    Parameters
    ----------
    kernels : ndarray of shape (k, fh, fw, c)
        ``K``, held by reference (the optimiser updates it in place).
    bias : ndarray of shape (k,)
        ``b``, held by reference.
    stride : int or (sh, sw), default=1
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default='same'
        As in :func:`sknnedu.conv.conv2d`.
    activation : str, default='relu'
        ``g``, a key of :data:`sknnedu.activations.DERIVATIVES`.
    slope : float, default=0.01
        gamma of ``'leakyrelu'``.

    Attributes
    ----------
    params : [kernels, bias]
    grads : [dK, db]
        ``dK`` (k, fh, fw, c) and ``db`` (k,), written by :meth:`backward`.
    """

    def __init__(
        self,
        kernels: np.ndarray,
        bias: np.ndarray,
        *,
        stride=1,
        padding="same",
        activation: str = "relu",
        slope: float = LEAKY_SLOPE,
    ):
        if not isinstance(kernels, np.ndarray) or kernels.ndim != 4 or kernels.dtype.kind != "f":
            raise ValueError(
                f"kernels must be a float ndarray of shape (k, fh, fw, c), got {np.shape(kernels)}."
            )
        k = kernels.shape[0]
        if not isinstance(bias, np.ndarray) or bias.shape != (k,):
            raise ValueError(f"bias must be an ndarray of shape ({k},), got {np.shape(bias)}.")
        if not kernels.flags.c_contiguous:
            raise ValueError("kernels must be C-contiguous (they are updated in place).")
        self.kernels, self.bias = kernels, bias
        self.params = [kernels, bias]
        self.grads = [np.zeros_like(kernels), np.zeros_like(bias)]
        self.stride = _pair(stride, "stride")
        self.padding = padding
        self.activation = _check_activation(activation)
        self.slope = slope
        self._geometry: dict = {}  # (h, w) -> (pads, (oh, ow))
        self._bufs = _Buffers()
        self._cache: tuple | None = None

    def _plan(self, h: int, w: int):
        if (h, w) not in self._geometry:
            fh, fw = self.kernels.shape[1:3]
            self._geometry[(h, w)] = conv_geometry((h, w), (fh, fw), self.stride, self.padding)
        return self._geometry[(h, w)]

    def forward(self, a_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """``a = g(P W^T + b)`` for a batch ``a_prev`` (m, h, w, c) -> ``a`` (m, oh, ow, k).

        Caches ``P`` (m oh ow, fh fw c) and ``a`` for :meth:`backward`. ``a`` is a
        scratch array of the layer, overwritten by the next forward.
        """
        x = _check_images(a_prev, "Conv2D")
        k, fh, fw, c = self.kernels.shape
        m, h, w, xc = x.shape
        if xc != c:
            raise ValueError(f"Conv2D has kernels for {c} channel(s), the input has {xc}.")
        ((t, bottom), (l, right)), (oh, ow) = self._plan(h, w)
        dtype = self.kernels.dtype
        if (t, bottom, l, right) == (0, 0, 0, 0) and x.dtype == dtype and x.flags.c_contiguous:
            xp = x
        else:  # the border of this buffer is 0 since it was made; only the inside changes
            xp = self._bufs.get("padded", m, (h + t + bottom, w + l + right, c), dtype, zeros=True)
            xp[:, t : t + h, l : l + w] = x
        patches = self._bufs.get("patches", m, (oh * ow, fh * fw * c), dtype)
        patches = patches.reshape(m * oh * ow, fh * fw * c)
        _im2col(xp, (fh, fw), self.stride, (oh, ow), patches)
        a = self._bufs.get("a", m, (oh, ow, k), dtype)
        np.matmul(patches, self.kernels.reshape(k, -1).T, out=a.reshape(-1, k))  # Z = P W^T
        a += self.bias
        ACTIVATIONS[self.activation](a, self.slope)
        self._cache = (patches, a, (h, w))
        return a

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Gradients from ``da`` = dJ/da (m, oh, ow, k); returns dJ/da_prev (m, h, w, c).

        ::

            dz = da * g'(z)           (in place in da, g' written with a = g(z))
            dK = (dZ^T P).reshape(k, fh, fw, c),    db = sum of dZ over its rows
            da_prev = col2im(dZ W)    (the full correlation of dz with the flipped kernel)

        with ``dZ`` = ``dz`` as ``(m oh ow, k)``. ``dK`` and ``db`` go into
        :attr:`grads`; ``da_prev`` is skipped (None) when ``need_input_grad`` is
        False (the first layer).
        """
        if self._cache is None:
            raise RuntimeError("Conv2D.backward called before forward.")
        patches, a, (h, w) = self._cache
        if da.shape != a.shape:
            raise ValueError(f"da must have the shape of the output {a.shape}, got {da.shape}.")
        k, fh, fw, c = self.kernels.shape
        DERIVATIVES[self.activation](a, da, self.slope)  # da is now dz
        if not da.flags.c_contiguous or da.dtype != a.dtype:
            dz = self._bufs.get("dz", a.shape[0], a.shape[1:], a.dtype)
            dz[...] = da
            da = dz
        dZ = da.reshape(-1, k)
        np.matmul(dZ.T, patches, out=self.grads[0].reshape(k, -1))  # dK = dZ^T P
        np.sum(dZ, axis=0, out=self.grads[1])
        if not need_input_grad:
            return None
        m, oh, ow, _ = a.shape
        ((t, bottom), (l, right)), _ = self._plan(h, w)
        dpatches = self._bufs.get("dpatches", m, (oh * ow, fh * fw * c), a.dtype)
        dpatches = dpatches.reshape(m * oh * ow, fh * fw * c)
        np.matmul(dZ, self.kernels.reshape(k, -1), out=dpatches)  # dP = dZ W
        dxp = self._bufs.get("dpadded", m, (h + t + bottom, w + l + right, c), a.dtype)
        _col2im(dpatches, (fh, fw), self.stride, (oh, ow), dxp)
        return dxp[:, t : t + h, l : l + w]


class Pool2D:
    """Max or average pooling over ``ph x pw`` windows with stride ``(sh, sw)``, per channel.

    ::

        a[n, i, j, ch] = max (mean)_{u < ph, v < pw} a_prev[n, i sh + u, j sw + v, ch]

    Parameters
    ----------
    kind : {'max', 'avg'}, default='max'
    size : int or (ph, pw), default=2
        At most 255 (the argmax is kept in uint8).
    stride : int or (sh, sw), default=None
        None means ``size`` (disjoint windows).

    Attributes
    ----------
    params, grads : []
        No parameters.
    """

    def __init__(self, kind: str = "max", size=2, stride=None):
        if kind not in ("max", "avg"):
            raise ValueError(f"Unknown pooling {kind!r}; expected 'max' or 'avg'.")
        self.kind = kind
        self.size = _pair(size, "pool size")
        if max(self.size) > 255:
            raise ValueError(f"pool size must be at most 255, got {self.size}.")
        self.stride = self.size if stride is None else _pair(stride, "pool stride")
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self._bufs = _Buffers()
        self._cache: tuple | None = None

    def _buffers(self, shape: tuple, dtype) -> dict:
        specs = _max_pool_buffers(shape, self.size, self.stride, dtype, dtype)
        return {name: self._bufs.get(name, s[0], s[1:], dt) for name, (s, dt) in specs.items()}

    def forward(self, a_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """``a`` (m, oh, ow, c) from ``a_prev`` (m, h, w, c), ``oh = (h - ph) // sh + 1``.

        Max pooling is separable: the maximum over the ``pw`` columns of each window
        in each row, then over its ``ph`` rows; it caches the winning column and row
        offset of each window (the first maximum in row-major order, so a tie sends
        the gradient to one pixel). Average pooling sums ``a_prev / (ph pw)`` (scaled
        first, so the mean cannot overflow) and caches only the input shape.
        """
        x = _check_images(a_prev, "Pool2D")
        m, h, w, c = x.shape
        oh, ow = pool_geometry((h, w), self.size, self.stride)
        if self.kind == "max":
            bufs = self._buffers(x.shape, x.dtype)
            a = _max_pool_forward(x, self.size, self.stride, bufs)
        else:  # the mean as a sum of a_prev / (ph pw), which cannot overflow
            scaled = self._bufs.get("scaled", m, (h, w, c), x.dtype)
            np.multiply(x, x.dtype.type(1.0 / (self.size[0] * self.size[1])), out=scaled)
            a = self._bufs.get("a", m, (oh, ow, c), x.dtype)
            rows = self._bufs.get("rows", m, (oh, w, c), x.dtype)
            _reduce_chunk(scaled, self.size, self.stride, a, np.add, rows)
            bufs = {"rtmp": self._bufs.get("tmp", m, (oh, ow, c), x.dtype)}
        self._cache = (x.shape, x.dtype, bufs)
        return a

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dJ/da_prev (m, h, w, c) from ``da`` = dJ/da (m, oh, ow, c).

        Max: ``da_prev[n, i sh + u*, j sw + v*, ch] = da[n, i, j, ch]`` at the cached
        argmax ``(u*, v*)`` of each window, 0 elsewhere. Average: every pixel of a
        window gets ``da / (ph pw)``. Overlapping windows add up.
        """
        if self._cache is None:
            raise RuntimeError("Pool2D.backward called before forward.")
        if not need_input_grad:
            return None
        in_shape, dtype, bufs = self._cache
        dx = self._bufs.get("dx", in_shape[0], in_shape[1:], dtype)
        if self.kind == "max":
            _max_pool_backward(da, self.size, self.stride, bufs, dx)
        else:
            _avg_pool_backward(da, self.size, self.stride, dx, bufs["rtmp"])
        return dx


class Flatten:
    """``(m, h, w, c) -> (m, h w c)`` in C order (a view when the input is contiguous).

    ``a[n, (i w + j) c + ch] = a_prev[n, i, j, ch]``; the backward reshapes back.
    """

    def __init__(self):
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self._shape: tuple | None = None

    def forward(self, a_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """``a`` (m, h w c), the rows of ``a_prev`` (m, h, w, c) flattened."""
        self._shape = a_prev.shape
        return a_prev.reshape(a_prev.shape[0], -1)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``da`` (m, h w c) reshaped to the input's shape (m, h, w, c)."""
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward.")
        return da.reshape(self._shape) if need_input_grad else None
