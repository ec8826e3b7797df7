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

The arithmetic is that of the functional core, on one batch at a time and without the
checks of the public functions (the engine calls these thousands of times per fit): the
patch matrix and its adjoint of :mod:`sknnedu.nn.im2col`, the pooling steps of
:mod:`sknnedu.nn.pooling` that write into given buffers.

Threads
-------
Conv2D and Pool2D report their cost (``flops``) and split a batch into the parts
:func:`sknnedu.nn.threads.n_parts` gives (one per thread, at least
:data:`~sknnedu.nn.threads.MIN_PART` samples each), run by
:func:`sknnedu.nn.threads.run_parts` on the process's worker threads, each with
single-threaded BLAS. numpy releases the GIL in copies, ufuncs and products, so the
copies and elementwise work (half the time of a convolution layer) use every core too,
and a core slowed by another program delays only its part.
``sknnedu.nn.threads.N_THREADS = 1`` turns this off.
"""

from __future__ import annotations

import numpy as np

from .activations import DERIVATIVES, LEAKY_SLOPE, bind, check_activation
from .geometry import conv_geometry, pair, pool_geometry
from .im2col import col2im, im2col
from .layers import Layer, Param
from .pooling import (
    avg_pool_backward_into,
    check_pooling,
    max_pool_backward_into,
    max_pool_buffers,
    max_pool_forward_into,
    reduce_windows,
)
from .threads import n_parts, run_parts

__all__ = ["Conv2D", "Flatten", "Pool2D"]

#: Scratch arrays keep room for at most this many samples more than twice the batch:
#: after one big forward (a validation set) the next training batch shrinks them back.
KEEP_SAMPLES = 512


class _Buffers:
    """Named scratch arrays ``(m, *shape)``, reused while ``m`` fits and ``shape`` is unchanged.

    A buffer much larger than the batch (more than ``max(2 m, KEEP_SAMPLES)``
    samples) is replaced by one of the batch's size, so that a one-off big batch
    does not hold its memory for the rest of a fit.
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, m: int, shape: tuple, dtype, fill: float | None = None):
        """A view ``[:m]`` of the buffer ``name``; a new buffer is filled with ``fill``."""
        buf = self._arrays.get(name)
        fits = buf is not None and m <= buf.shape[0] <= max(2 * m, KEEP_SAMPLES)
        if not fits or buf.shape[1:] != shape or buf.dtype != dtype:
            buf = np.empty((max(m, 1), *shape), dtype=dtype)
            if fill is not None:
                buf.fill(fill)
            self._arrays[name] = buf
        return buf[:m]


def _slices(bufs: dict, start: int, stop: int) -> dict:
    """The samples ``start:stop`` of every buffer in ``bufs``."""
    return {name: buf[start:stop] for name, buf in bufs.items()}


def _check_images(a_prev, layer: str) -> np.ndarray:
    if not isinstance(a_prev, np.ndarray) or a_prev.ndim != 4:
        shape = np.shape(a_prev)
        raise ValueError(f"{layer} expects images of shape (m, h, w, c), got shape {shape}.")
    return a_prev


class Conv2D(Layer):
    """A convolutional layer: ``z = conv2d(a_prev, K) + b``, ``a = g(z)``.

    ::

        z[n, i, j, k] = sum_{u, v, ch} ap[n, i s + u, j s + v, ch] K[k, u, v, ch] + b[k]
        a = g(z)

    with ``ap`` the zero-padded input. As matrices: ``Z = P W^T + b`` with ``P``
    ``(m oh ow, fh fw c)`` the patches of the batch (im2col, one copy of a
    ``sliding_window_view``) and ``W = K.reshape(k, fh fw c)``: channels-last
    kernels flatten in the same ``(u, v, ch)`` order as a patch. The bias rides
    along as a last column of ones in ``P``, so one product gives ``z`` and one
    gives both ``dK`` and ``db``::

        [P 1] [W^T; b] = P W^T + b,        dZ^T [P 1] = [dZ^T P | dZ^T 1] = [dK | db]

    Parameters
    ----------
    kernels : ndarray of shape (k, fh, fw, c)
        ``K``, held by reference (the optimiser updates it in place).
    bias : ndarray of shape (k,)
        ``b``, held by reference.
    stride : int or (sh, sw), default=1
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default='same'
        As in :func:`sknnedu.nn.conv.conv2d`.
    activation : str, default='relu'
        ``g``, a key of :data:`sknnedu.nn.activations.DERIVATIVES`.
    slope : float, default=0.01
        gamma of ``'leakyrelu'``.
    input_hw : (h, w) or None, default=None
        The image size, if known: sets :attr:`flops` before the first forward
        (:func:`sknnedu.nn.threads.step_blas` reads it). Otherwise set by forward.

    Attributes
    ----------
    params : [kernels, bias]
    grads : [dK, db]
        ``dK`` (k, fh, fw, c) and ``db`` (k,), written by :meth:`backward`.
    flops : float
        Multiply-adds per sample of the forward, ``oh ow k fh fw c``.
    """

    #: splits its batches over threads itself (see "Threads"), each part on one BLAS
    #: thread: :func:`sknnedu.nn.threads.step_blas` runs such a network's step single-threaded
    runs_own_threads = True

    def __init__(
        self,
        kernels: np.ndarray,
        bias: np.ndarray,
        *,
        stride=1,
        padding="same",
        activation: str = "relu",
        slope: float = LEAKY_SLOPE,
        input_hw: tuple[int, int] | None = None,
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
        self.declare(Param("K", kernels, True), Param("b", bias, False))
        self.stride = pair(stride, "stride")
        self.padding = padding
        self.activation = check_activation(activation, DERIVATIVES)
        self.slope = slope
        self.g, self.g_prime = bind(self.activation, slope)
        self._geometry: dict = {}  # (h, w) -> (pads, (oh, ow))
        self._scratch = _Buffers()
        self._cache: tuple | None = None
        self.flops = 0.0
        if input_hw is not None:
            self._plan(*input_hw)

    def _plan(self, h: int, w: int):
        """``((top, bottom), (left, right)), (oh, ow)`` for ``h x w`` images; sets flops."""
        if (h, w) not in self._geometry:
            k, fh, fw, c = self.params[0].shape
            self._geometry[(h, w)] = conv_geometry((h, w), (fh, fw), self.stride, self.padding)
            oh, ow = self._geometry[(h, w)][1]
            self.flops = float(oh * ow * k * fh * fw * c)
        return self._geometry[(h, w)]

    def forward(self, a_prev: np.ndarray, training: bool = False) -> np.ndarray:
        """``a = g(P W^T + b)`` for a batch ``a_prev`` (m, h, w, c) -> ``a`` (m, oh, ow, k).

        Caches ``[P 1]`` (m oh ow, fh fw c + 1) and ``a`` for :meth:`backward`. ``a`` is a
        scratch array of the layer, overwritten by the next forward.
        """
        x = _check_images(a_prev, "Conv2D")
        kernels, bias = self.params
        k, fh, fw, c = kernels.shape
        m, h, w, xc = x.shape
        if xc != c:
            raise ValueError(f"Conv2D has kernels for {c} channel(s), the input has {xc}.")
        ((t, bottom), (l, right)), (oh, ow) = self._plan(h, w)
        dtype, rows, depth = kernels.dtype, oh * ow, fh * fw * c
        direct = (t, bottom, l, right) == (0, 0, 0, 0) and x.dtype == dtype
        direct = direct and x.flags.c_contiguous
        # the border of "padded" is 0 since it was made; only the inside is written
        hwc = (h + t + bottom, w + l + right, c)
        xp = x if direct else self._scratch.get("padded", m, hwc, dtype, fill=0)
        # [P 1]: im2col writes the first depth columns; the last stays 1
        patches = self._scratch.get("patches", m, (rows, depth + 1), dtype, fill=1)
        a = self._scratch.get("a", m, (oh, ow, k), dtype)
        weights = self._scratch.get("weights", 1, (depth + 1, k), dtype)[0]
        weights[:depth] = kernels.reshape(k, depth).T  # [W^T; b]
        weights[depth] = bias

        def part(start, stop, _):
            if not direct:
                xp[start:stop, t : t + h, l : l + w] = x[start:stop]
            p = patches[start:stop].reshape(-1, depth + 1)
            im2col(xp[start:stop], (fh, fw), self.stride, (oh, ow), p[:, :depth])
            z = a[start:stop]
            np.matmul(p, weights, out=z.reshape(-1, k))  # Z = P W^T + b
            self.g(z)

        parts = n_parts(m)
        run_parts(m, parts, part)
        self._cache = (patches, a, (h, w), parts)
        return a

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Gradients from ``da`` = dJ/da (m, oh, ow, k); returns dJ/da_prev (m, h, w, c).

        ::

            dz = da * g'(z)           (in place in da, g' written with a = g(z))
            [dK | db] = dZ^T [P 1]   (dK reshaped to (k, fh, fw, c), db = sum of dZ's rows)
            da_prev = col2im(dZ W)    (the full correlation of dz with the flipped kernel)

        with ``dZ`` = ``dz`` as ``(m oh ow, k)``. ``dK`` and ``db`` go into
        :attr:`grads`; ``da_prev`` is skipped (None) when ``need_input_grad`` is
        False (the first layer). ``col2im(dZ W)`` is computed one kernel offset
        ``(u, v)`` at a time: the product ``dZ K[:, u, v, :]`` (m oh ow, c), a
        contiguous block, is added to the pixels ``(i s + u, j s + v)``; adding the
        strided column blocks of one big ``dZ W`` instead is ~1.5x slower.
        """
        if self._cache is None:
            raise RuntimeError("Conv2D.backward called before forward.")
        patches, a, (h, w), parts = self._cache
        if da.shape != a.shape:
            raise ValueError(f"da must have the shape of the output {a.shape}, got {da.shape}.")
        kernels = self.params[0]
        k, fh, fw, c = kernels.shape
        m, oh, ow, _ = a.shape
        depth = fh * fw * c
        if not da.flags.c_contiguous or da.dtype != a.dtype:
            copy = self._scratch.get("da", m, a.shape[1:], a.dtype)
            copy[...] = da
            da = copy
        dkbs = self._scratch.get("dkb", parts, (k, depth + 1), a.dtype)  # [dK | db] per part
        if need_input_grad:
            ((t, bottom), (l, right)), _ = self._plan(h, w)
            dxp = self._scratch.get("dpadded", m, (h + t + bottom, w + l + right, c), a.dtype)
            dpatch = self._scratch.get("dpatch", m, (oh * ow, c), a.dtype)

        def part(start, stop, p):
            dz = da[start:stop]
            self.g_prime(a[start:stop], dz)  # da is now dz
            dZ = dz.reshape(-1, k)
            np.matmul(dZ.T, patches[start:stop].reshape(-1, depth + 1), out=dkbs[p])
            if not need_input_grad:
                return
            d = dpatch[start:stop]

            def dpatches(u, v):  # dP's columns of offset (u, v): dZ K[:, u, v, :]
                np.matmul(dZ, kernels[:, u, v, :], out=d.reshape(-1, c))
                return d.reshape(stop - start, oh, ow, c)

            col2im(dpatches, (fh, fw), self.stride, (oh, ow), dxp[start:stop])

        run_parts(m, parts, part)
        dkb = dkbs[0] if parts == 1 else np.sum(dkbs, axis=0, out=dkbs[0])
        self.grads[0].reshape(k, depth)[...] = dkb[:, :depth]
        self.grads[1][...] = dkb[:, depth]
        if not need_input_grad:
            return None
        return dxp[:, t : t + h, l : l + w]


class Pool2D(Layer):
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

    runs_own_threads = True  # as Conv2D

    def __init__(self, kind: str = "max", size=2, stride=None):
        self.kind = check_pooling(kind, none=False)
        self.size = pair(size, "pool size")
        if max(self.size) > 255:
            raise ValueError(f"pool size must be at most 255, got {self.size}.")
        self.stride = self.size if stride is None else pair(stride, "pool stride")
        self._scratch = _Buffers()
        self._cache: tuple | None = None

    def _buffers(self, shape: tuple, dtype) -> dict:
        specs = max_pool_buffers(shape, self.size, self.stride, dtype, dtype)
        return {name: self._scratch.get(name, s[0], s[1:], dt) for name, (s, dt) in specs.items()}

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
        size, stride, dtype = self.size, self.stride, x.dtype
        if self.kind == "max":
            bufs = self._buffers(x.shape, dtype)
            a = bufs["out"]
        else:
            bufs = {
                "scaled": self._scratch.get("scaled", m, (h, w, c), dtype),
                "rows": self._scratch.get("rows", m, (oh, w, c), dtype),
                "rtmp": self._scratch.get("tmp", m, (oh, ow, c), dtype),
            }
            a = self._scratch.get("a", m, (oh, ow, c), dtype)
        scale = dtype.type(1.0 / (size[0] * size[1]))

        def part(start, stop, _):
            if self.kind == "max":
                max_pool_forward_into(x[start:stop], size, stride, _slices(bufs, start, stop))
                return
            # the mean as a sum of a_prev / (ph pw), which cannot overflow
            scaled = np.multiply(x[start:stop], scale, out=bufs["scaled"][start:stop])
            reduce_windows(scaled, size, stride, a[start:stop], np.add, bufs["rows"][start:stop])

        run_parts(m, n_parts(m), part)
        self._cache = (x.shape, dtype, bufs)
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
        m = in_shape[0]
        dx = self._scratch.get("dx", m, in_shape[1:], dtype)

        def part(start, stop, _):
            if self.kind == "max":
                b = _slices(bufs, start, stop)
                max_pool_backward_into(da[start:stop], self.size, self.stride, b, dx[start:stop])
            else:
                scaled = bufs["rtmp"][start:stop]
                avg_pool_backward_into(da[start:stop], self.size, self.stride, dx[start:stop],
                                       scaled)

        run_parts(m, n_parts(m), part)
        return dx


class Flatten(Layer):
    """``(m, h, w, c) -> (m, h w c)`` in C order (a view when the input is contiguous).

    ``a[n, (i w + j) c + ch] = a_prev[n, i, j, ch]``; the backward reshapes back.
    """

    def __init__(self):
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
