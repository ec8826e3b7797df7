"""2-D convolution of batches of images, forward and backward, with im2col, in plain numpy.

The notes define the convolution of an image ``M`` with an ``f x f`` filter ``F`` as the
``(n_h - f + 1) x (n_w - f + 1)`` matrix::

    (M * F)[a, b] = sum_{u, v = 0 .. f-1} M[a + u, b + v] F[u, v]

This is a *cross-correlation* (the filter is not flipped), the convention of every
deep-learning library. Here it is generalised to a batch of ``n`` channels-last images
``x`` of shape ``(n, h, w, c)``, a bank of ``k`` kernels ``K`` of shape ``(k, fh, fw, c)``,
a stride ``s`` and zero padding::

    out[n, i, j, k] = sum_{u < fh, v < fw, ch < c} xp[n, i*s + u, j*s + v, ch] K[k, u, v, ch]

where ``xp`` is ``x`` padded with zeros; the output size and ``'same'`` padding are those
of :func:`~sknnedu.nn.geometry.conv_geometry`.

How it is computed (im2col)
---------------------------
For a chunk of ``m`` images, every ``fh x fw x c`` receptive field is copied into one row
of a patch matrix ``P`` of shape ``(m * oh * ow, fh * fw * c)`` (:func:`im2col`); the
kernels, flattened to ``W`` of shape ``(fh * fw * c, k)``, then give all outputs in one
BLAS matrix product ``Z = P @ W`` of shape ``(m * oh * ow, k)``, which is
``(m, oh, ow, k)`` after a free reshape. Because the images are channels-last, the
``fw * c`` values of one kernel row are contiguous in memory, so ``P`` is a
``sliding_window_view`` of the padded chunk viewed as ``(m, hp, wp * c)``, and building
it is one copy. Chunks are sized so that ``P`` stays near
:data:`~sknnedu.nn.threads.CHUNK_BYTES` (small enough for the CPU cache), so extra memory
does not grow with ``n``, and run on the threads of :mod:`sknnedu.nn.threads`.
:func:`conv_pool2d` also applies the activation and pooling to each chunk, so the
``(n, oh, ow, k)`` feature maps are never all in memory.

Blocks of output columns
------------------------
Neighbouring receptive fields overlap, so ``P`` repeats most of its values, and the copy,
not the product, is the slow part. One row of ``P`` may instead hold the input of ``B``
neighbouring outputs of a row: ``fh`` rows of ``span = (B - 1) s + fw`` columns,
``fh * span * c`` values instead of ``B * fh * fw * c`` (:func:`im2col` with ``block=B``).
The kernels then become a ``(fh * span * c, B * k)`` matrix with zeros where a kernel
does not reach::

    W_B[(u, x, ch), (b, k)] = K[k, u, x - b s, ch]   if 0 <= x - b s < fw, else 0

and ``P @ W_B`` holds the ``B`` outputs side by side, ``(m, oh, ow / B, B * k)``, which is
``(m, oh, ow, k)`` in memory. ``B`` (see :data:`BLOCK_WIDTH`) is chosen so that
``span < 2 fw``: the copy shrinks by ``B fw / span`` for at most twice the multiply-adds,
which BLAS does faster than numpy copies small pieces. Inference uses blocks; training
keeps ``B = 1``, whose ``P`` also gives ``dK = dZ^T P``.

Backward
--------
:func:`conv2d_backward` gives ``dx``, ``dK`` and ``db`` from ``dz = dJ/dz`` with the same
patch matrix: ``dK = dZ^T P`` (one product) and ``dx = col2im(dZ W)`` (one product, then
each patch's gradient added back where it was read, a loop over the ``fh fw`` kernel
offsets: :func:`col2im`, the adjoint of :func:`im2col`), which is the full correlation of
``dz`` with the flipped kernel.

dtypes: float32 stays float32, float64 stays float64, anything else is computed in
float64, converted one chunk at a time (a uint8 batch is never copied whole).
"""

from __future__ import annotations

import threading

import numpy as np

from .activations import ACTIVATIONS, check_activation
from .geometry import (
    PadWidths,
    Pair,
    as_images,
    check_dout,
    check_finite,
    conv_geometry,
    float_dtype,
    pair,
    pool_geometry,
)
from .im2col import col2im, im2col
from .pooling import check_pooling, pool_into
from .threads import chunk_size, run_chunks

__all__ = [
    "BLOCK_WIDTH",
    "MAP_ACTIVATIONS",
    "MONOTONE_ACTIVATIONS",
    "check_kernels",
    "conv2d",
    "conv2d_backward",
    "conv_pool2d",
]

#: Output columns per im2col row (see "Blocks of output columns"); None picks it from
#: the kernel width and stride.
BLOCK_WIDTH: int | None = None

#: Activations a feature map may take: every elementwise one (all but softmax).
MAP_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")

#: Activations that are non-decreasing, so that ``max(g(z)) = g(max(z))``: with max
#: pooling they are applied after pooling, to fewer values.
MONOTONE_ACTIVATIONS = frozenset({"identity", "logistic", "sigmoid", "tanh", "relu", "leakyrelu"})


def check_kernels(kernels, n_channels: int, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """Kernels as ``(k, fh, fw, c')`` in ``dtype``, and ``shared``: 3-D kernels on c > 1 channels.

    A 3-D bank ``(k, fh, fw)`` becomes ``(k, fh, fw, 1)``; it is shared across the
    channels (each kernel applied to every channel and the responses summed).
    """
    kern = np.asarray(kernels)
    if kern.ndim not in (3, 4) or kern.dtype.kind not in "biuf":
        raise ValueError(
            f"kernels must be a numeric array of shape (k, fh, fw, {n_channels}) or "
            f"(k, fh, fw), got {kern.dtype} array of shape {kern.shape}."
        )
    if 0 in kern.shape:
        raise ValueError(f"kernels must not be empty, got shape {kern.shape}.")
    if kern.ndim == 4 and kern.shape[3] != n_channels:
        raise ValueError(
            f"kernels have {kern.shape[3]} channel(s) but the images have {n_channels}: "
            f"expected kernels of shape (k, fh, fw, {n_channels}) or (k, fh, fw), "
            f"got {kern.shape}."
        )
    kern = kern.astype(dtype, copy=False)
    check_finite(kern, "kernels")
    shared = kern.ndim == 3
    return (kern[..., None] if shared else kern), shared and n_channels > 1


# ----------------------------------------------------------------------------------------
# forward, in chunks of images, with blocks of output columns
# ----------------------------------------------------------------------------------------
def _block_width(fw: int, sw: int, ow: int) -> int:
    """Output columns ``B`` per im2col row: the block's input span ``(B - 1) sw + fw``
    stays below ``2 fw`` (at most twice the flops) and ``B <= 4``."""
    if BLOCK_WIDTH is not None:
        return max(1, min(BLOCK_WIDTH, ow))
    return max(1, min(1 + (fw - 1) // sw, 4, ow))


def _block_weights(kern: np.ndarray, block: int, sw: int) -> np.ndarray:
    """``W_B[(u, x, ch), (b, k)] = K[k, u, x - b sw, ch]`` (0 outside the kernel).

    Shape ``(fh * span * c, B * k)`` with ``span = (B - 1) sw + fw``: the kernels
    flattened for ``B`` output columns that share one block of input columns.
    """
    k, fh, fw, kc = kern.shape
    span = (block - 1) * sw + fw
    weights = np.zeros((fh, span, kc, block, k), dtype=kern.dtype)
    for b in range(block):
        weights[:, b * sw : b * sw + fw, :, b, :] = kern.transpose(1, 2, 3, 0)
    return weights.reshape(fh * span * kc, block * k)


class _ConvPlan:
    """Geometry, block weights and per-worker buffers of a chunked im2col convolution.

    ``shared``: sum each image over its channels first (3-D kernels, by linearity).
    """

    def __init__(self, x, kern, shared, stride, pads, out_hw, extra_bytes_per_image=0):
        self.x, self.shared = x, shared
        self.dtype = kern.dtype  # the float dtype computed in; x may be integer
        n, self.h, self.w, _ = x.shape
        self.k, self.fh, self.fw, self.kc = kern.shape
        (self.t, b), (self.l, r) = pads
        self.stride = stride
        sw = stride[1]
        self.oh, self.ow = out_hw
        self.block = _block_width(self.fw, sw, self.ow)
        self.n_blocks = -(-self.ow // self.block)  # blocks of output columns per row
        span = (self.block - 1) * sw + self.fw  # input columns seen by one block
        # padded width: the image, its padding and room for the last (partial) block
        self.hp = self.h + self.t + b
        self.wp = max(self.w + self.l + r, (self.n_blocks * self.block - 1) * sw + self.fw)
        self.rows = self.oh * self.n_blocks  # im2col rows per image
        self.depth = self.fh * span * self.kc  # values per im2col row
        per_image = self.rows * (self.depth + self.block * self.k)
        per_image = (per_image + self.hp * self.wp * self.kc) * self.dtype.itemsize
        self.chunk = chunk_size(n, per_image + extra_bytes_per_image)
        self.direct = (  # no padding to add: read the images in place
            not shared
            and (self.t, b, self.l) == (0, 0, 0)
            and self.wp == self.w
            and x.flags.c_contiguous
            and x.dtype == self.dtype
        )
        self.exact = self.n_blocks * self.block == self.ow  # no partial block to drop
        self.weights = _block_weights(kern, self.block, sw)

    def buffers(self) -> dict:
        """Scratch arrays for one worker."""
        dtype, chunk = self.dtype, self.chunk
        return {
            "padded": None
            if self.direct
            else np.zeros((chunk, self.hp, self.wp, self.kc), dtype=dtype),
            "patches": np.empty((chunk * self.rows, self.depth), dtype=dtype),
            "z": np.empty((chunk * self.rows, self.block * self.k), dtype=dtype),
        }

    def conv(self, start: int, stop: int, bufs: dict, out: np.ndarray | None = None):
        """``z`` ``(m, oh, ow, k)``, the convolution of ``x[start:stop]``: ``P_B @ W_B``.

        ``z`` is ``out[start:stop]`` if ``out`` is given, else a view of ``bufs``.
        """
        x, m = self.x, stop - start
        if self.direct:
            xp = x[start:stop]
        else:
            # the padding is zero since the buffer was made; only the image changes.
            # Integer images become float here, one chunk at a time.
            xp = bufs["padded"][:m]
            inner = xp[:, self.t : self.t + self.h, self.l : self.l + self.w]
            if self.shared:
                np.sum(x[start:stop], axis=3, out=inner[..., 0], dtype=self.dtype)
            else:
                inner[...] = x[start:stop]
        patches = bufs["patches"][: m * self.rows]
        im2col(xp, (self.fh, self.fw), self.stride, (self.oh, self.ow), patches, self.block)
        if out is not None and self.exact:
            z = out[start:stop].reshape(m * self.rows, -1)
        else:
            z = bufs["z"][: m * self.rows]
        np.matmul(patches, self.weights, out=z)
        z = z.reshape(m, self.oh, self.n_blocks * self.block, self.k)[:, :, : self.ow]
        if out is not None and not self.exact:
            out[start:stop] = z
            z = out[start:stop]
        return z


def conv_pool2d(
    images,
    kernels,
    *,
    stride: int | Pair = 1,
    padding: int | str | PadWidths = 0,
    activation: str | None = None,
    pooling: str | None = None,
    pool_size: int | Pair = 2,
    pool_stride: int | Pair | None = None,
) -> np.ndarray:
    """Convolution, activation and pooling fused: ``pool(g(conv2d(x, K)))``.

    The layer of a convolutional network (without bias)::

        z = conv2d(x, K, stride, padding)        # (n, oh, ow, k)
        a = g(z)                                 # elementwise activation
        out = pool(a, pool_size, pool_stride)    # (n, oph, opw, k)

    computed chunk by chunk, so the ``(n, oh, ow, k)`` maps ``z`` are never all in
    memory. With max pooling and a non-decreasing ``g`` (all but ``'abs'``),
    ``max(g(z)) = g(max(z))`` and ``g`` is applied after pooling, to fewer values.

    Parameters
    ----------
    images : array-like of shape (n, h, w, c) or (n, h, w)
    kernels : array-like of shape (k, fh, fw, c) or (k, fh, fw)
        See :func:`conv2d`.
    stride : int or (sh, sw), default=1
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default=0
    activation : str or None, default=None
        A name in :data:`sknnedu.nn.activations.ACTIVATIONS` except ``'softmax'``;
        None is the identity.
    pooling : {'max', 'avg'} or None, default=None
    pool_size : int or (ph, pw), default=2
    pool_stride : int or (sh, sw), default=None
        None means ``pool_size`` (non-overlapping windows).

    Returns
    -------
    out : ndarray of shape (n, oph, opw, k)
        ``(oph, opw) = (oh, ow)`` without pooling, else ``((oh - ph) // sh + 1, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import conv_pool2d
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> conv_pool2d(x, np.ones((1, 1, 1)), activation="relu", pooling="max")[..., 0]
    array([[[ 5.,  7.],
            [13., 15.]]])
    """
    x, _ = as_images(images)
    dtype = float_dtype(x.dtype)
    kern, shared = check_kernels(kernels, x.shape[3], dtype)
    n, h, w, _ = x.shape
    k, fh, fw, _ = kern.shape
    conv_stride = pair(stride, "stride")
    pads, (oh, ow) = conv_geometry((h, w), (fh, fw), conv_stride, padding)
    check_activation(activation, MAP_ACTIVATIONS, none=True)
    act = None if activation is None else ACTIVATIONS[activation]
    check_pooling(pooling)

    if pooling is None:
        out = np.empty((n, oh, ow, k), dtype=dtype)
        plan = _ConvPlan(x, kern, shared, conv_stride, pads, (oh, ow))

        def work(start, stop, bufs):
            z = plan.conv(start, stop, bufs, out=out)
            if act is not None:
                act(z)

        run_chunks(n, plan.chunk, work, plan.buffers)
        return out

    psize = pair(pool_size, "pool_size")
    pstride = psize if pool_stride is None else pair(pool_stride, "pool_stride")
    oph, opw = pool_geometry((oh, ow), psize, pstride)
    out = np.empty((n, oph, opw, k), dtype=dtype)
    late = pooling == "max" and activation in MONOTONE_ACTIVATIONS
    tmp_shape = (oph, ow, k) if psize[0] > 1 else None  # rows pooled, columns not yet
    extra = np.prod(tmp_shape) * dtype.itemsize if tmp_shape else 0
    plan = _ConvPlan(x, kern, shared, conv_stride, pads, (oh, ow), int(extra))

    def buffers():
        bufs = plan.buffers()
        bufs["pool"] = np.empty((plan.chunk, *tmp_shape), dtype) if tmp_shape else None
        return bufs

    def work(start, stop, bufs):
        z = plan.conv(start, stop, bufs)
        if act is not None and not late:
            act(z)
        o = out[start:stop]
        tmp = None if bufs["pool"] is None else bufs["pool"][: stop - start]
        pool_into(z, psize, pstride, pooling, o, tmp)
        if act is not None and late:
            act(o)

    run_chunks(n, plan.chunk, work, buffers)
    return out


def conv2d(
    images, kernels, *, stride: int | Pair = 1, padding: int | str | PadWidths = 0
) -> np.ndarray:
    """2-D cross-correlation of a batch of images with a bank of kernels (the notes' ``conv2D``).

    ::

        out[n, i, j, k] = sum_{u < fh, v < fw, ch < c} xp[n, i*s + u, j*s + v, ch] K[k, u, v, ch]

    with ``xp`` the zero-padded images (see the module docstring for ``'same'``).
    Computed chunk by chunk with im2col and one matrix product per chunk.

    Parameters
    ----------
    images : array-like of shape (n, h, w, c) or (n, h, w)
        Channels-last images; 3-D input is grayscale (``c = 1``). Must be finite.
    kernels : array-like of shape (k, fh, fw, c) or (k, fh, fw)
        ``k`` kernels. A 3-D bank is shared across channels: each kernel is
        applied to every channel and the responses summed (the same as
        convolving ``x.sum(axis=-1)``).
    stride : int or (sh, sw), default=1
        Step ``s >= 1`` between receptive fields (an int: the same in both directions).
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default=0
        Zero padding. ``'valid'`` is 0; ``'same'`` gives ``ceil(h / s) x ceil(w / s)``
        outputs.

    Returns
    -------
    out : ndarray of shape (n, oh, ow, k)
        ``oh = (h + top + bottom - fh) // s + 1``, ``ow`` likewise. float32 input
        gives float32, float64 gives float64, anything else float64.

    Raises
    ------
    ValueError
        For arrays of the wrong dimension, kernel channels that differ from image
        channels, a kernel larger than the padded image, ``stride < 1``, an unknown
        padding, or NaN/inf in the images.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import conv2d
    >>> x = np.arange(9.0).reshape(1, 3, 3)
    >>> conv2d(x, np.ones((1, 2, 2)))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    >>> conv2d(np.ones((2, 5, 5, 3)), np.ones((4, 3, 3, 3)), padding="same").shape
    (2, 5, 5, 4)
    """
    return conv_pool2d(images, kernels, stride=stride, padding=padding)



def conv2d_backward(
    dout, images, kernels, *, stride: int | Pair = 1, padding: int | str | PadWidths = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a convolution ``z = conv2d(x, K, stride, padding) + b``.

    Given ``dz = dJ/dz`` (``dout``), backpropagation through
    ``z[n, i, j, k] = sum_{u, v, ch} xp[n, i s + u, j s + v, ch] K[k, u, v, ch] + b[k]``
    (``xp``: ``x`` zero-padded) gives::

        dK[k, u, v, ch] = sum_{n, i, j} dz[n, i, j, k] xp[n, i s + u, j s + v, ch]
        db[k]           = sum_{n, i, j} dz[n, i, j, k]
        dxp[n, y, x, ch] = sum_{i s + u = y, j s + v = x} sum_k dz[n, i, j, k] K[k, u, v, ch]

    and ``dx`` is ``dxp`` without its padding. With the patch matrix ``P``
    ``(n oh ow, fh fw c)`` of the forward (im2col), ``dZ = dz`` as
    ``(n oh ow, k)`` and ``W = K.reshape(k, fh fw c)`` (so that ``Z = P W^T``):

    - ``dK = dZ^T P``, one matrix product, reshaped to ``(k, fh, fw, c)``;
    - ``dP = dZ W``, one matrix product, and ``dxp = col2im(dP)``: each row of
      ``dP`` is added back onto the pixels its patch was read from, a loop over
      the ``fh fw`` kernel offsets.

    Where the flipped kernel comes from: for ``s = 1`` the last formula is
    ``dxp[n, y, x, ch] = sum_{u, v, k} dz[n, y - u, x - v, k] K[k, u, v, ch]``, which,
    with ``u' = fh - 1 - u``, is the *full* cross-correlation of ``dz`` (zero-padded
    by ``fh - 1``, ``fw - 1``) with the kernel flipped in both spatial axes, input
    and output channels swapped, ``K'[ch, u', v', k] = K[k, fh-1-u', fw-1-v', ch]``
    (for ``s > 1``: of ``dz`` with ``s - 1`` zeros between its values). The forward
    cross-correlation reads pixel ``y`` through kernel row ``u`` from output
    ``y - u``; going back, output ``y - u`` is reached through row ``u``, i.e. the
    kernel is walked the other way. ``col2im(dZ W)`` computes exactly this sum
    without building the flipped kernel or the dilated, padded ``dz``.

    Computed chunk by chunk (as :func:`conv2d`), so the extra memory is bounded by
    the chunk, not by ``n``.

    Parameters
    ----------
    dout : array-like of shape (n, oh, ow, k)
        ``dJ/dz``, the gradient of the loss with respect to the convolution's output.
    images : array-like of shape (n, h, w, c) or (n, h, w)
        The input ``x`` of the forward pass.
    kernels : array-like of shape (k, fh, fw, c) or (k, fh, fw)
        The kernels ``K`` of the forward pass (3-D: shared across channels).
    stride : int or (sh, sw), default=1
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default=0
        As in :func:`conv2d`.

    Returns
    -------
    dx : ndarray of the shape of ``images``
        ``dJ/dx``.
    dK : ndarray of the shape of ``kernels``
        ``dJ/dK``.
    db : ndarray of shape (k,)
        ``dJ/db`` for a bias ``b`` added to every output of kernel ``k``.

    All three are in the dtype :func:`conv2d` computes in (float32 images give float32).

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import conv2d_backward
    >>> x, kernels = np.arange(9.0).reshape(1, 3, 3), np.ones((1, 2, 2))
    >>> dx, dK, db = conv2d_backward(np.ones((1, 2, 2, 1)), x, kernels)
    >>> dx[0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dK[0], db
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    x, grayscale = as_images(images)
    dtype = float_dtype(x.dtype)
    n, h, w, c = x.shape
    kern, shared = check_kernels(kernels, c, dtype)
    kernels_3d = np.ndim(kernels) == 3
    k, fh, fw, _ = kern.shape
    if shared:  # a 3-D bank on c channels is the same kernel repeated over the channels
        kern = np.repeat(kern, c, axis=3)
    sh, sw = pair(stride, "stride")
    pads, (oh, ow) = conv_geometry((h, w), (fh, fw), (sh, sw), padding)
    (t, bottom), (l, right) = pads
    dz = check_dout(dout, (n, oh, ow, k), "convolution")
    weights = kern.reshape(k, fh * fw * c)  # W, the row order of a patch
    hp, wp = h + t + bottom, w + l + right
    rows, depth = oh * ow, fh * fw * c
    chunk = chunk_size(n, (2 * rows * depth + rows * k + 2 * hp * wp * c) * dtype.itemsize)
    dx = np.empty((n, h, w, c), dtype=dtype)
    partial_dk = []  # one dK per worker thread, summed at the end
    lock = threading.Lock()

    def buffers():
        bufs = {
            "padded": np.zeros((chunk, hp, wp, c), dtype=dtype),  # border stays 0
            "dpadded": np.empty((chunk, hp, wp, c), dtype=dtype),
            "patches": np.empty((chunk * rows, depth), dtype=dtype),
            "dpatches": np.empty((chunk * rows, depth), dtype=dtype),
            "dk": np.zeros((k, depth), dtype=dtype),
            "prod": np.empty((k, depth), dtype=dtype),
        }
        with lock:
            partial_dk.append(bufs["dk"])
        return bufs

    def work(start, stop, bufs):
        m = stop - start
        xp = bufs["padded"][:m]
        xp[:, t : t + h, l : l + w] = x[start:stop]
        patches = bufs["patches"][: m * rows]
        im2col(xp, (fh, fw), (sh, sw), (oh, ow), patches)
        dzm = np.ascontiguousarray(dz[start:stop], dtype=dtype).reshape(m * rows, k)  # dZ
        bufs["dk"] += np.matmul(dzm.T, patches, out=bufs["prod"])  # dK += dZ^T P
        dpatches = np.matmul(dzm, weights, out=bufs["dpatches"][: m * rows])  # dP = dZ W
        dxp = bufs["dpadded"][:m]
        col2im(dpatches, (fh, fw), (sh, sw), (oh, ow), dxp)
        dx[start:stop] = dxp[:, t : t + h, l : l + w]

    run_chunks(n, chunk, work, buffers)
    dk = np.zeros((k, depth), dtype=dtype)
    for part in partial_dk:
        dk += part
    dk = dk.reshape(k, fh, fw, c)
    if kernels_3d:
        dk = dk.sum(axis=3)
    db = dz.sum(axis=(0, 1, 2), dtype=dtype)
    return (dx[..., 0] if grayscale else dx), dk, db

