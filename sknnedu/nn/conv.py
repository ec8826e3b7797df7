"""2-D convolution, padding and pooling on batches of images, in plain numpy.

The notes define the convolution of an image ``M`` with an ``f x f`` filter ``F``
as the ``(n_h - f + 1) x (n_w - f + 1)`` matrix::

    (M * F)[a, b] = sum_{u, v = 0 .. f-1} M[a + u, b + v] F[u, v]

This is a *cross-correlation* (the filter is not flipped), the convention of
every deep-learning library. Here it is generalised to a batch of ``n``
channels-last images ``x`` of shape ``(n, h, w, c)``, a bank of ``k`` kernels
``K`` of shape ``(k, fh, fw, c)``, a stride ``s`` and zero padding::

    out[n, i, j, k] = sum_{u < fh, v < fw, ch < c} xp[n, i*s + u, j*s + v, ch] K[k, u, v, ch]

where ``xp`` is ``x`` padded with zeros. With ``(top, bottom)`` rows and
``(left, right)`` columns of padding the output has::

    oh = (h + top + bottom - fh) // s + 1,    ow = (w + left + right - fw) // s + 1

``padding='same'`` picks the smallest padding giving ``oh = ceil(h / s)``
(``oh = h`` for ``s = 1``): ``total = max((oh - 1) s + fh - h, 0)`` rows, of
which ``total // 2`` go on top and the rest at the bottom (the convention of
TensorFlow and of PyTorch's ``padding='same'``, so even kernels work too).

How it is computed (im2col)
---------------------------
For a chunk of ``m`` images, every ``fh x fw x c`` receptive field is copied into
one row of a patch matrix ``P`` of shape ``(m * oh * ow, fh * fw * c)``; the
kernels, flattened to ``W`` of shape ``(fh * fw * c, k)``, then give all outputs
in one BLAS matrix product ``Z = P @ W`` of shape ``(m * oh * ow, k)``, which is
``(m, oh, ow, k)`` after a free reshape. Because the images are channels-last,
the ``fw * c`` values of one kernel row are contiguous in memory, so ``P`` is a
``sliding_window_view`` of the padded chunk viewed as ``(m, hp, wp * c)``, and
building it is one copy. Chunks are sized so that ``P`` stays near
:data:`CHUNK_BYTES` (small enough for the CPU cache), so extra memory does not
grow with ``n``. :func:`conv_pool2d` also applies the activation and pooling to
each chunk, so the ``(n, oh, ow, k)`` feature maps are never all in memory.

Blocks of output columns
------------------------
Neighbouring receptive fields overlap, so ``P`` repeats most of its values, and
the copy, not the product, is the slow part. One row of ``P`` may instead hold
the input of ``B`` neighbouring outputs of a row: ``fh`` rows of
``span = (B - 1) s + fw`` columns, ``fh * span * c`` values instead of
``B * fh * fw * c``. The kernels then become a ``(fh * span * c, B * k)`` matrix
with zeros where a kernel does not reach::

    W_B[(u, x, ch), (b, k)] = K[k, u, x - b s, ch]   if 0 <= x - b s < fw, else 0

and ``P @ W_B`` holds the ``B`` outputs side by side, ``(m, oh, ow / B, B * k)``,
which is ``(m, oh, ow, k)`` in memory. ``B`` (see :data:`BLOCK_WIDTH`) is chosen
so that ``span < 2 fw``: the copy shrinks by ``B fw / span`` for at most twice
the multiply-adds, which BLAS does faster than numpy copies small pieces.

Threads
-------
Chunks are independent, so when BLAS would use several threads, as many Python
threads take chunks in turn, each with its own buffers, while BLAS is limited to
one thread for the call by :func:`sknnedu.nn.blas.single_threaded` (numpy releases
the GIL in copies, products and ufuncs). Small products in parallel are faster
than one product split over threads, and a thread slowed down by another program delays only its own
chunk. :data:`N_THREADS` overrides the count. The limit applies to the whole
process while a call runs.

Pooling
-------
Max (average) pooling with a ``p x p`` window and stride ``t`` keeps the
channels and takes, per channel::

    out[n, i, j, ch] = max (mean)_{u, v < p} x[n, i*t + u, j*t + v, ch]

with ``(h - p) // t + 1`` output rows. Both are separable (first over the rows
of the window, then over its columns), which is how they are computed.

Backward
--------
:func:`conv2d_backward` gives ``dx``, ``dK`` and ``db`` from ``dz = dJ/dz`` with the
same patch matrix: ``dK = dZ^T P`` (one product) and ``dx = col2im(dZ W)`` (one
product, then each patch's gradient added back where it was read, a loop over
the ``fh fw`` kernel offsets), which is the full correlation of ``dz`` with the
flipped kernel. :func:`max_pool2d_backward` sends each window's gradient to its
first maximum, :func:`avg_pool2d_backward` spreads it evenly.

dtypes: float32 stays float32, float64 stays float64, anything else is computed
in float64, converted one chunk at a time (a uint8 batch is never copied whole).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import blas
from .activations import ACTIVATIONS

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_geometry",
    "conv_pool2d",
    "max_pool2d",
    "max_pool2d_backward",
    "pad2d",
    "pool_geometry",
]

#: Target size in bytes of the patch matrix of one chunk of images (at least one
#: image per chunk). About the size of the CPU's L2/L3 cache: larger chunks do not
#: make the matrix product faster, only the copies slower.
CHUNK_BYTES = 4 * 2**20

#: Output columns per im2col row (see "Blocks of output columns"); None picks it
#: from the kernel width and stride.
BLOCK_WIDTH: int | None = None

#: Threads convolving chunks at once (at most 16). None: as many as BLAS would use
#: (its thread count, read with threadpoolctl), each running BLAS single-threaded;
#: 1: one chunk at a time, with BLAS's own threads.
N_THREADS: int | None = None

#: Activations that are non-decreasing, so that ``max(g(z)) = g(max(z))``: with
#: max pooling they are applied after pooling, to fewer values.
MONOTONE_ACTIVATIONS = frozenset({"identity", "logistic", "sigmoid", "tanh", "relu", "leakyrelu"})

PoolName = str | None
Pair = tuple[int, int]
PadWidths = tuple[Pair, Pair]


# ----------------------------------------------------------------------------------------
# validation helpers
# ----------------------------------------------------------------------------------------
def _float_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _check_finite(x: np.ndarray, name: str) -> None:
    """Raise if ``x`` holds NaN or inf, checking at most ~4M values at a time."""
    step = max(1, (1 << 22) // max(1, x[:1].size))
    for start in range(0, x.shape[0], step):
        if not np.isfinite(x[start : start + step]).all():
            raise ValueError(f"{name} contain NaN or infinity; expected finite values.")


def _as_images(images, name: str = "images") -> tuple[np.ndarray, bool]:
    """``images`` as a numeric ``(n, h, w, c)`` array (a view of 3-D input), and if it was 3-D.

    The dtype is kept: integer images are converted to float chunk by chunk where
    they are used, so a uint8 batch never gets a full float64 copy.
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{name} must have shape (n, h, w, c) or (n, h, w), "
            f"got an array of shape {x.shape} ({x.ndim}-D)."
        )
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}.")
    if x.dtype.kind == "f":
        _check_finite(x, name)
    return (x, False) if x.ndim == 4 else (x[..., None], True)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _pair(value, name: str, minimum: int = 1) -> Pair:
    """An int ``a`` -> ``(a, a)``; a pair of ints is checked and returned."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (_check_int(value[0], name, minimum), _check_int(value[1], name, minimum))
    a = _check_int(value, name, minimum)
    return (a, a)


def _pad_widths(padding) -> PadWidths:
    """An int ``p`` -> ``((p, p), (p, p))``; ``((top, bottom), (left, right))`` is checked."""
    msg = (
        f"padding must be an int >= 0 or ((top, bottom), (left, right)) of ints >= 0, "
        f"got {padding!r}."
    )
    if isinstance(padding, (tuple, list)):
        if len(padding) != 2 or not all(
            isinstance(p, (tuple, list)) and len(p) == 2 for p in padding
        ):
            raise ValueError(msg)
        try:
            (t, b), (l, r) = (_pair(p, "padding", 0) for p in padding)
        except ValueError:
            raise ValueError(msg) from None
        return ((t, b), (l, r))
    try:
        p = _check_int(padding, "padding", 0)
    except ValueError:
        raise ValueError(msg) from None
    return ((p, p), (p, p))


def _same(size: int, kernel: int, stride: int) -> Pair:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return (total // 2, total - total // 2)


def _resolve_padding(h: int, w: int, fh: int, fw: int, stride: Pair, padding) -> PadWidths:
    """Padding as ``((top, bottom), (left, right))`` for an ``h x w`` image."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            return (_same(h, fh, stride[0]), _same(w, fw, stride[1]))
        raise ValueError(
            f"Unknown padding {padding!r}; expected 'valid', 'same', an int >= 0 "
            "or ((top, bottom), (left, right))."
        )
    return _pad_widths(padding)


def conv_geometry(
    image_hw: Pair, kernel_hw: Pair, stride: int | Pair = 1, padding=0
) -> tuple[PadWidths, Pair]:
    """Padding and output size of a convolution, checking that the kernel fits.

    Parameters
    ----------
    image_hw : (h, w)
    kernel_hw : (fh, fw)
    stride : int or (sh, sw), default=1
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same', default=0

    Returns
    -------
    pads : ((top, bottom), (left, right))
    out_hw : (oh, ow)
        ``oh = (h + top + bottom - fh) // sh + 1``, likewise ``ow``.

    Raises
    ------
    ValueError
        If the padded image is smaller than the kernel, or an argument is invalid.
    """
    h, w = image_hw
    fh, fw = kernel_hw
    sh, sw = _pair(stride, "stride")
    pads = _resolve_padding(h, w, fh, fw, (sh, sw), padding)
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    if hp < fh or wp < fw:
        raise ValueError(
            f"image {h}x{w} is smaller than kernel {fh}x{fw} with padding {padding!r}; "
            "use a smaller kernel, more padding or padding='same'."
        )
    return pads, ((hp - fh) // sh + 1, (wp - fw) // sw + 1)


def pool_geometry(image_hw: Pair, size: int | Pair, stride: int | Pair | None = None) -> Pair:
    """Output size ``((h - ph) // sh + 1, (w - pw) // sw + 1)`` of a pooling.

    Raises
    ------
    ValueError
        If the window is larger than the image, or an argument is invalid.
    """
    ph, pw = _pair(size, "pool size")
    sh, sw = (ph, pw) if stride is None else _pair(stride, "pool stride")
    h, w = image_hw
    if ph > h or pw > w:
        raise ValueError(f"image {h}x{w} is smaller than the pooling window {ph}x{pw}.")
    return ((h - ph) // sh + 1, (w - pw) // sw + 1)


def _check_kernels(kernels, n_channels: int, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    """Kernels as ``(k, fh, fw, c')`` in ``dtype``; ``shared`` if they were 3-D (c' = 1)."""
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
    _check_finite(kern, "kernels")
    shared = kern.ndim == 3
    return (kern[..., None] if shared else kern), shared and n_channels > 1


def _chunk_size(n: int, bytes_per_image: int) -> int:
    """Images per chunk: about :data:`CHUNK_BYTES` of scratch, at least 1 (also for n = 0)."""
    return int(max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image))))


# ----------------------------------------------------------------------------------------
# padding
# ----------------------------------------------------------------------------------------
def pad2d(images, padding, *, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of a batch of images with a constant.

    The notes' ``padding`` pads with white (255); here the value is a parameter.

    Parameters
    ----------
    images : array-like of shape (n, h, w, c) or (n, h, w)
    padding : int or ((top, bottom), (left, right))
        Rows and columns to add; an int ``p`` adds ``p`` on every side.
    value : float, default=0.0
        The constant written in the border (cast to the images' dtype).

    Returns
    -------
    padded : ndarray of shape (n, top + h + bottom, left + w + right[, c])
        Same dtype as ``images``; ``padded[:, top:top + h, left:left + w] == images``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import pad2d
    >>> pad2d(np.ones((1, 1, 2), dtype=np.uint8), ((0, 1), (1, 0)), value=255)[0]
    array([[255,   1,   1],
           [255, 255, 255]], dtype=uint8)
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"images must have shape (n, h, w, c) or (n, h, w), got an array of shape {x.shape}."
        )
    (t, b), (l, r) = _pad_widths(padding)
    n, h, w = x.shape[:3]
    out = np.full((n, t + h + b, l + w + r) + x.shape[3:], value, dtype=x.dtype)
    out[:, t : t + h, l : l + w] = x
    return out


# ----------------------------------------------------------------------------------------
# convolution
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


class _Im2col:
    """Geometry, block weights and per-worker buffers of a chunked im2col convolution.

    ``shared``: sum each image over its channels first (3-D kernels, by linearity).
    """

    def __init__(self, x, kern, shared, stride, pads, out_hw, extra_bytes_per_image=0):
        self.x, self.shared = x, shared
        self.dtype = kern.dtype  # the float dtype computed in; x may be integer
        n, self.h, self.w, _ = x.shape
        self.k, self.fh, fw, self.kc = kern.shape
        (self.t, b), (self.l, r) = pads
        self.sh, sw = stride
        self.oh, self.ow = out_hw
        self.block = _block_width(fw, sw, self.ow)
        self.n_blocks = -(-self.ow // self.block)  # blocks of output columns per row
        self.span = (self.block - 1) * sw + fw  # input columns seen by one block
        self.step = self.block * sw * self.kc  # from one block's first value to the next
        # padded width: the image, its padding and room for the last (partial) block
        self.hp = self.h + self.t + b
        self.wp = max(self.w + self.l + r, (self.n_blocks * self.block - 1) * sw + fw)
        self.rows = self.oh * self.n_blocks  # im2col rows per image
        self.depth = self.fh * self.span * self.kc  # values per im2col row
        per_image = self.rows * (self.depth + self.block * self.k)
        per_image = (per_image + self.hp * self.wp * self.kc) * self.dtype.itemsize
        self.chunk = _chunk_size(n, per_image + extra_bytes_per_image)
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
        """``z`` ``(m, oh, ow, k)``, the convolution of ``x[start:stop]``.

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
        # one window of fh rows x (span * kc) contiguous values per block of outputs
        flat = xp.reshape(m, self.hp, self.wp * self.kc)
        win = sliding_window_view(flat, (self.fh, self.span * self.kc), axis=(1, 2))
        win = win[
            :,
            : (self.oh - 1) * self.sh + 1 : self.sh,
            : (self.n_blocks - 1) * self.step + 1 : self.step,
        ]
        patches = bufs["patches"][: m * self.rows]
        np.copyto(patches.reshape(m, self.oh, self.n_blocks, self.fh, -1), win)
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


def _n_threads(n_tasks: int) -> int:
    """:data:`N_THREADS`, or BLAS's thread count; at most 16 (each has its buffers)."""
    wanted = blas.n_threads() if N_THREADS is None else N_THREADS
    return max(1, min(wanted, n_tasks, 16))


def _run_chunks(n: int, chunk: int, work, make_buffers) -> None:
    """Call ``work(start, stop, buffers)`` on every chunk of ``range(n)``.

    With several threads (see :data:`N_THREADS`) each thread has its own
    ``make_buffers()`` and takes the next chunk when done, while BLAS is limited to
    one thread: chunks in parallel beat a parallel matrix product on small chunks,
    and a thread slowed by another program on the machine holds up no one else.
    """
    starts = range(0, n, chunk)
    n_threads = _n_threads(len(starts))
    if n_threads == 1:
        bufs = make_buffers()
        for start in starts:
            work(start, min(start + chunk, n), bufs)
        return
    # each thread takes the next chunk from a shared iterator (no future per chunk,
    # so nothing grows with n) and stops at the first error of any thread
    lock, failed = threading.Lock(), threading.Event()
    chunks = iter(starts)

    def worker():
        bufs = make_buffers()
        while not failed.is_set():
            with lock:
                start = next(chunks, None)
            if start is None:
                return
            try:
                work(start, min(start + chunk, n), bufs)
            except BaseException:
                failed.set()
                raise

    with blas.single_threaded(), ThreadPoolExecutor(n_threads) as pool:
        futures = [pool.submit(worker) for _ in range(n_threads)]
        for future in futures:
            future.result()  # re-raises the first error


def _reduce_chunk(z, size, stride, out, ufunc, tmp=None) -> None:
    """Reduce ``z`` ``(m, h, w, k)`` over pooling windows into ``out`` ``(m, oph, opw, k)``.

    Separable: first ``ufunc`` over the ``ph`` rows of each window (into ``tmp``,
    shape ``(m, oph, w, k)``), then over its ``pw`` columns.
    """
    ph, pw = size
    sh, sw = stride
    oph, opw = out.shape[1:3]
    h_span, w_span = (oph - 1) * sh + 1, (opw - 1) * sw + 1
    if ph == 1:
        rows = z[:, :h_span:sh]
    else:
        rows = ufunc(z[:, 0:h_span:sh], z[:, 1 : 1 + h_span : sh], out=tmp)
        for u in range(2, ph):
            ufunc(rows, z[:, u : u + h_span : sh], out=rows)
    if pw == 1:
        np.copyto(out, rows[:, :, :w_span:sw])
        return
    ufunc(rows[:, :, 0:w_span:sw], rows[:, :, 1 : 1 + w_span : sw], out=out)
    for v in range(2, pw):
        ufunc(out, rows[:, :, v : v + w_span : sw], out=out)


def _pool_into(z, size, stride, kind, out, tmp=None) -> None:
    """Max or average pooling of a chunk ``z`` into ``out``.

    For ``'avg'`` ``z`` is overwritten: it is scaled by ``1 / (ph pw)`` *before* the
    sum, ``mean = sum(x / (ph pw))``, so that no partial sum exceeds the largest
    ``|x|`` and the mean of values near the dtype's maximum does not overflow.
    """
    if kind == "max":
        _reduce_chunk(z, size, stride, out, np.maximum, tmp)
    else:
        z *= z.dtype.type(1.0 / (size[0] * size[1]))
        _reduce_chunk(z, size, stride, out, np.add, tmp)


def _activation_fn(activation) -> Callable[[np.ndarray], np.ndarray] | None:
    if activation is None:
        return None
    if not isinstance(activation, str) or activation not in ACTIVATIONS or activation == "softmax":
        allowed = sorted(set(ACTIVATIONS) - {"softmax"})
        raise ValueError(f"Unknown activation {activation!r}; expected None or one of {allowed}.")
    return ACTIVATIONS[activation]


def conv_pool2d(
    images,
    kernels,
    *,
    stride: int | Pair = 1,
    padding: int | str | PadWidths = 0,
    activation: str | None = None,
    pooling: PoolName = None,
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
    x, _ = _as_images(images)
    dtype = _float_dtype(x.dtype)
    kern, shared = _check_kernels(kernels, x.shape[3], dtype)
    n, h, w, _ = x.shape
    k, fh, fw, _ = kern.shape
    conv_stride = _pair(stride, "stride")
    pads, (oh, ow) = conv_geometry((h, w), (fh, fw), conv_stride, padding)
    act = _activation_fn(activation)
    if pooling not in ("max", "avg", None):
        raise ValueError(f"Unknown pooling {pooling!r}; expected 'max', 'avg' or None.")

    if pooling is None:
        out = np.empty((n, oh, ow, k), dtype=dtype)
        plan = _Im2col(x, kern, shared, conv_stride, pads, (oh, ow))

        def work(start, stop, bufs):
            z = plan.conv(start, stop, bufs, out=out)
            if act is not None:
                act(z)

        _run_chunks(n, plan.chunk, work, plan.buffers)
        return out

    psize = _pair(pool_size, "pool_size")
    pstride = psize if pool_stride is None else _pair(pool_stride, "pool_stride")
    oph, opw = pool_geometry((oh, ow), psize, pstride)
    out = np.empty((n, oph, opw, k), dtype=dtype)
    late = pooling == "max" and activation in MONOTONE_ACTIVATIONS
    tmp_shape = (oph, ow, k) if psize[0] > 1 else None  # rows pooled, columns not yet
    extra = np.prod(tmp_shape) * dtype.itemsize if tmp_shape else 0
    plan = _Im2col(x, kern, shared, conv_stride, pads, (oh, ow), int(extra))

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
        _pool_into(z, psize, pstride, pooling, o, tmp)
        if act is not None and late:
            act(o)

    _run_chunks(n, plan.chunk, work, buffers)
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


def _im2col(xp: np.ndarray, kernel_hw: Pair, stride: Pair, out_hw: Pair, out: np.ndarray):
    """Copy every receptive field of ``xp`` into one row of ``out``: the patch matrix ``P``.

    ``xp`` (m, hp, wp, c), C-contiguous, is a padded batch; ``out`` (m * oh * ow, fh * fw * c)
    gets ``P[(n, i, j), (u, v, ch)] = xp[n, i sh + u, j sw + v, ch]``. Channels-last,
    the ``fw * c`` values of one kernel row are contiguous, so ``P`` is a
    ``sliding_window_view`` of ``xp`` viewed as ``(m, hp, wp * c)`` and this is one copy.
    Its column order ``(u, v, ch)`` is that of ``K.reshape(k, -1)`` for kernels ``(k, fh, fw, c)``.
    ``out`` may be the first columns of a wider matrix (its rows need not be contiguous).
    """
    m, hp, wp, c = xp.shape
    (fh, fw), (sh, sw), (oh, ow) = kernel_hw, stride, out_hw
    win = sliding_window_view(xp.reshape(m, hp, wp * c), (fh, fw * c), axis=(1, 2))
    win = win[:, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw * c + 1 : sw * c]
    dest = out.reshape(m, oh, ow, fh, fw * c)  # splitting axes: always a view
    np.copyto(dest, win)


def _col2im(dpatches: np.ndarray, kernel_hw: Pair, stride: Pair, out_hw: Pair, dxp) -> None:
    """The adjoint of :func:`_im2col`: add each row of ``dpatches`` back where its patch was read.

    ``dxp[n, i sh + u, j sw + v, ch] = sum dpatches[(n, i, j), (u, v, ch)]`` over all
    ``(i, j, u, v)`` that read that pixel: a loop over the ``fh * fw`` kernel offsets,
    each one strided ``+=`` of an ``(m, oh, ow, c)`` block. ``dxp`` (m, hp, wp, c) is
    overwritten.
    """
    m, _, _, c = dxp.shape
    (fh, fw), (oh, ow) = kernel_hw, out_hw
    d = dpatches.reshape(m, oh, ow, fh, fw, c)
    dxp.fill(0)
    for u in range(fh):
        for v in range(fw):
            target = _window(dxp, u, v, stride, out_hw)  # dxp[:, i sh + u, j sw + v]
            target += d[:, :, :, u, v]


def _check_dout(dout, expected: tuple, what: str) -> np.ndarray:
    """``dout`` checked, in its own dtype: it is converted chunk by chunk (no copy of all)."""
    d = np.asarray(dout)
    if d.shape != expected:
        raise ValueError(
            f"dout must have the shape of the {what}'s output, {expected}, got {d.shape}."
        )
    if d.dtype.kind not in "biuf":
        raise ValueError(f"dout must be numeric, got dtype {d.dtype}.")
    if d.dtype.kind == "f":
        _check_finite(d, "dout")
    return d


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
    x, grayscale = _as_images(images)
    dtype = _float_dtype(x.dtype)
    n, h, w, c = x.shape
    kern, shared = _check_kernels(kernels, c, dtype)
    kernels_3d = np.ndim(kernels) == 3
    k, fh, fw, _ = kern.shape
    if shared:  # a 3-D bank on c channels is the same kernel repeated over the channels
        kern = np.repeat(kern, c, axis=3)
    sh, sw = _pair(stride, "stride")
    pads, (oh, ow) = conv_geometry((h, w), (fh, fw), (sh, sw), padding)
    (t, bottom), (l, right) = pads
    dz = _check_dout(dout, (n, oh, ow, k), "convolution")
    weights = kern.reshape(k, fh * fw * c)  # W, the row order of a patch
    hp, wp = h + t + bottom, w + l + right
    rows, depth = oh * ow, fh * fw * c
    chunk = _chunk_size(n, (2 * rows * depth + rows * k + 2 * hp * wp * c) * dtype.itemsize)
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
        _im2col(xp, (fh, fw), (sh, sw), (oh, ow), patches)
        dzm = np.ascontiguousarray(dz[start:stop], dtype=dtype).reshape(m * rows, k)  # dZ
        bufs["dk"] += np.matmul(dzm.T, patches, out=bufs["prod"])  # dK += dZ^T P
        dpatches = np.matmul(dzm, weights, out=bufs["dpatches"][: m * rows])  # dP = dZ W
        dxp = bufs["dpadded"][:m]
        _col2im(dpatches, (fh, fw), (sh, sw), (oh, ow), dxp)
        dx[start:stop] = dxp[:, t : t + h, l : l + w]

    _run_chunks(n, chunk, work, buffers)
    dk = np.zeros((k, depth), dtype=dtype)
    for part in partial_dk:
        dk += part
    dk = dk.reshape(k, fh, fw, c)
    if kernels_3d:
        dk = dk.sum(axis=3)
    db = dz.sum(axis=(0, 1, 2), dtype=dtype)
    return (dx[..., 0] if grayscale else dx), dk, db


# ----------------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------------
def _pool2d(images, size, stride, kind: str) -> np.ndarray:
    x, grayscale = _as_images(images)
    n, h, w, c = x.shape
    dtype = _float_dtype(x.dtype)
    psize = _pair(size, "size")
    pstride = psize if stride is None else _pair(stride, "stride")
    oph, opw = pool_geometry((h, w), psize, pstride)
    out = np.empty((n, oph, opw, c), dtype=dtype)
    # a float copy of the chunk for integer images, and for 'avg' (scaled in place)
    copy = kind == "avg" or x.dtype != dtype
    chunk = _chunk_size(n, (oph * w * c + copy * h * w * c) * dtype.itemsize)

    def buffers():
        return {
            "tmp": np.empty((chunk, oph, w, c), dtype=dtype) if psize[0] > 1 else None,
            "x": np.empty((chunk, h, w, c), dtype=dtype) if copy else None,
        }

    def work(start, stop, bufs):
        m = stop - start
        tmp = None if bufs["tmp"] is None else bufs["tmp"][:m]
        z = x[start:stop]
        if copy:
            z = bufs["x"][:m]
            z[...] = x[start:stop]
        _pool_into(z, psize, pstride, kind, out[start:stop], tmp)

    _run_chunks(n, chunk, work, buffers)
    return out[..., 0] if grayscale else out


def max_pool2d(images, size: int | Pair, *, stride: int | Pair | None = None) -> np.ndarray:
    """Max pooling over ``size x size`` windows, per channel (the notes' ``maxPool``).

    ::

        out[n, i, j, ch] = max_{u < p, v < p} x[n, i*t + u, j*t + v, ch]

    Parameters
    ----------
    images : array-like of shape (n, h, w, c) or (n, h, w)
    size : int or (ph, pw)
        Window size ``p``; must not exceed the image.
    stride : int or (sh, sw), default=None
        Step ``t`` between windows; None means ``size``.

    Returns
    -------
    out : ndarray of shape (n, oh, ow, c) or (n, oh, ow)
        ``oh = (h - ph) // sh + 1``, ``ow = (w - pw) // sw + 1``; float dtype as
        in :func:`conv2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import max_pool2d
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)[0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return _pool2d(images, size, stride, "max")


def avg_pool2d(images, size: int | Pair, *, stride: int | Pair | None = None) -> np.ndarray:
    """Average pooling over ``size x size`` windows, per channel.

    ::

        out[n, i, j, ch] = 1 / (ph pw) sum_{u < ph, v < pw} x[n, i*t + u, j*t + v, ch]

    Parameters
    ----------
    images : array-like of shape (n, h, w, c) or (n, h, w)
    size : int or (ph, pw)
    stride : int or (sh, sw), default=None
        None means ``size``.

    Returns
    -------
    out : ndarray of shape (n, oh, ow, c) or (n, oh, ow)
        As in :func:`max_pool2d`.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)[0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _pool2d(images, size, stride, "avg")


def _window(x: np.ndarray, u: int, v: int, stride: Pair, out_hw: Pair) -> np.ndarray:
    """The view ``x[:, i sh + u, j sw + v]`` over all windows ``(i, j)``: offset ``(u, v)``."""
    (sh, sw), (oh, ow) = stride, out_hw
    return x[:, u : u + (oh - 1) * sh + 1 : sh, v : v + (ow - 1) * sw + 1 : sw]


def _along(x: np.ndarray, axis: int, o: int, stride: int, n_out: int) -> np.ndarray:
    """The view of ``x`` at ``i stride + o``, ``i < n_out``, along ``axis`` (1 rows, 2 columns)."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(o, o + (n_out - 1) * stride + 1, stride)
    return x[tuple(index)]


def _max_along(x, axis: int, size: int, stride: int, out, idx, flag) -> None:
    """``out = max_{o < size} x[i stride + o]`` along ``axis``, ``idx`` the first ``o`` reaching it.

    ``out`` (x's dtype), ``idx`` (uint8) and ``flag`` (bool) have the pooled shape. An
    offset takes over only where it is *strictly* greater, so ties stay with the first.
    Plain ufuncs only (a masked ``copyto`` is ~20x slower than ``maximum``).
    """
    n_out = out.shape[axis]

    def view(o):
        return _along(x, axis, o, stride, n_out)

    if size == 1:
        np.copyto(out, view(0))
        idx.fill(0)
        return
    np.greater(view(1), view(0), out=idx.view(bool))  # 1 where offset 1 wins, else 0
    np.maximum(view(0), view(1), out=out)
    mark = flag.view(np.uint8)
    for o in range(2, size):
        np.greater(view(o), out, out=flag)
        np.maximum(out, view(o), out=out)
        np.multiply(mark, o, out=mark)  # o where offset o wins, 0 elsewhere
        np.maximum(idx, mark, out=idx)  # offsets grow: the latest winner is the largest


def _scatter_along(d, idx, axis: int, size: int, stride: int, dx, flag, tmp=None) -> None:
    """The adjoint of :func:`_max_along`: ``dx[i stride + o] += d[i]`` where ``idx[i] == o``.

    ``dx`` is overwritten. Overlapping windows (stride < size) add up through ``tmp``
    (``d``'s shape); otherwise each offset is written directly.
    """
    n_out = d.shape[axis]
    if not (stride == size and n_out * size == dx.shape[axis]):
        dx.fill(0)  # pixels in no window, or in several
    if size == 2 and stride >= 2 and d.dtype == dx.dtype:
        # idx is 0 or 1: d idx goes to offset 1 and d - d idx (exactly d or 0) to offset 0
        second = np.multiply(d, idx, out=_along(dx, axis, 1, stride, n_out))
        np.subtract(d, second, out=_along(dx, axis, 0, stride, n_out))
        return
    for o in range(size):
        target = _along(dx, axis, o, stride, n_out)
        if size == 1:
            np.copyto(target, d)
            continue
        np.equal(idx, o, out=flag)
        if stride < size:
            target += np.multiply(d, flag, out=tmp)
        else:
            np.multiply(d, flag, out=target)


def _max_pool_buffers(shape: tuple, size: Pair, stride: Pair, dtype, grad_dtype) -> dict:
    """Names, shapes and dtypes of the scratch arrays of a max pooling of ``(m, h, w, c)``.

    ``cols`` holds the maximum over the columns of each window, ``(m, hu, ow, c)`` with
    ``hu`` the rows some window reads; ``out`` the pooled ``(m, oh, ow, c)``; ``cidx``
    and ``ridx`` the winning column and row offsets; ``dcols`` the gradient of ``cols``.
    """
    m, h, w, c = shape
    (ph, pw), (sh, sw) = size, stride
    oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    hu = (oh - 1) * sh + ph
    cols, pooled = (m, hu, ow, c), (m, oh, ow, c)
    return {
        "cols": (cols, dtype),
        "cidx": (cols, np.uint8),
        "cflag": (cols, bool),
        "dcols": (cols, grad_dtype),
        "ctmp": (cols, grad_dtype),
        "out": (pooled, dtype),
        "ridx": (pooled, np.uint8),
        "rflag": (pooled, bool),
        "rtmp": (pooled, grad_dtype),
    }


def _max_pool_forward(x, size: Pair, stride: Pair, bufs: dict) -> np.ndarray:
    """Max pooling of ``x`` (m, h, w, c) into ``bufs['out']``, separably.

    First the maximum over the ``pw`` columns of each window in every row
    (``cols``, winner ``cidx``), then over the ``ph`` rows of those (``out``, winner
    ``ridx``): the first row holding the window's maximum, and in it the first
    column, i.e. the first maximum in row-major window order. ``cidx`` and ``ridx``
    are what :func:`_max_pool_backward` needs.
    """
    (ph, pw), (sh, sw) = size, stride
    cols = bufs["cols"]
    _max_along(x[:, : cols.shape[1]], 2, pw, sw, cols, bufs["cidx"], bufs["cflag"])
    _max_along(cols, 1, ph, sh, bufs["out"], bufs["ridx"], bufs["rflag"])
    return bufs["out"]


def _max_pool_backward(dout, size: Pair, stride: Pair, bufs: dict, dx) -> None:
    """``dx`` (m, h, w, c): ``dout`` sent to the argmax that :func:`_max_pool_forward` kept."""
    (ph, pw), (sh, sw) = size, stride
    dcols = bufs["dcols"]
    hu = dcols.shape[1]
    _scatter_along(dout, bufs["ridx"], 1, ph, sh, dcols, bufs["rflag"], bufs["rtmp"])
    _scatter_along(dcols, bufs["cidx"], 2, pw, sw, dx[:, :hu], bufs["cflag"], bufs["ctmp"])
    dx[:, hu:] = 0


def _avg_pool_backward(dout, size: Pair, stride: Pair, dx, scaled) -> None:
    """``dx`` (m, h, w, c): every pixel of a window gets ``dout / (ph pw)`` (via ``scaled``)."""
    (ph, pw), (sh, sw) = size, stride
    oh, ow = dout.shape[1:3]
    np.multiply(dout, dx.dtype.type(1.0 / (ph * pw)), out=scaled)
    if not (sh == ph and sw == pw and dx.shape[1:3] == (oh * ph, ow * pw)):
        dx.fill(0)
    for o in range(ph * pw):
        target = _window(dx, *divmod(o, pw), stride, (oh, ow))
        if sh < ph or sw < pw:
            target += scaled
        else:
            target[...] = scaled


def _pool2d_backward(dout, images, size, stride, kind: str) -> np.ndarray:
    x, grayscale = _as_images(images)
    n, h, w, c = x.shape
    dtype = _float_dtype(x.dtype)
    psize = _pair(size, "size")
    pstride = psize if stride is None else _pair(stride, "stride")
    if max(psize) > 255:
        raise ValueError(f"pool size must be at most 255, got {psize}.")
    oph, opw = pool_geometry((h, w), psize, pstride)
    expected = (n, oph, opw) if grayscale else (n, oph, opw, c)
    dz = _check_dout(dout, expected, f"{kind} pooling")
    if grayscale:
        dz = dz[..., None]
    dx = np.empty((n, h, w, c), dtype=dtype)
    specs = _max_pool_buffers((1, h, w, c), psize, pstride, x.dtype, dtype)
    per_image = sum(np.prod(shape) * np.dtype(dt).itemsize for shape, dt in specs.values())
    chunk = _chunk_size(n, int(per_image))

    def buffers():
        return {name: np.empty((chunk, *shape[1:]), dt) for name, (shape, dt) in specs.items()}

    def work(start, stop, bufs):
        bufs = {name: buf[: stop - start] for name, buf in bufs.items()}
        if kind == "max":
            _max_pool_forward(x[start:stop], psize, pstride, bufs)
            _max_pool_backward(dz[start:stop], psize, pstride, bufs, dx[start:stop])
        else:
            _avg_pool_backward(dz[start:stop], psize, pstride, dx[start:stop], bufs["rtmp"])

    _run_chunks(n, chunk, work, buffers)
    return dx[..., 0] if grayscale else dx


def max_pool2d_backward(
    dout, images, size: int | Pair, *, stride: int | Pair | None = None
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to its input.

    ``out[n, i, j, ch] = max_{u, v} x[n, i t + u, j t + v, ch]`` depends only on the
    maximum of each window, so::

        dx[n, i t + u*, j t + v*, ch] += dout[n, i, j, ch]

    where ``(u*, v*)`` is the position of the maximum in window ``(i, j)``, and 0
    elsewhere. When several pixels of a window tie for the maximum, the gradient
    goes to *one* of them, the first in row-major window order (a subgradient;
    splitting it would not be the derivative of any of the tied branches).
    Overlapping windows (stride < size) add up. The argmax is recomputed from
    ``images``; vectorised with a loop over the ``ph pw`` window offsets.

    Parameters
    ----------
    dout : array-like of shape (n, oh, ow, c) or (n, oh, ow)
        ``dJ/dout``, with the shape of ``max_pool2d(images, size, stride=stride)``.
    images : array-like of shape (n, h, w, c) or (n, h, w)
        The input of the forward pass.
    size : int or (ph, pw)
    stride : int or (sh, sw), default=None
        None means ``size``.

    Returns
    -------
    dx : ndarray of the shape of ``images``
        In the float dtype of :func:`max_pool2d` (float32 stays float32).

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import max_pool2d_backward
    >>> x = np.array([[[1.0, 3.0], [3.0, 2.0]]])
    >>> max_pool2d_backward(np.array([[[5.0]]]), x, 2)[0]
    array([[0., 5.],
           [0., 0.]])
    """
    return _pool2d_backward(dout, images, size, stride, "max")


def avg_pool2d_backward(
    dout, images, size: int | Pair, *, stride: int | Pair | None = None
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to its input.

    ``out[n, i, j, ch] = 1 / (ph pw) sum_{u, v} x[n, i t + u, j t + v, ch]``, so every
    pixel of a window receives an equal share::

        dx[n, i t + u, j t + v, ch] += dout[n, i, j, ch] / (ph pw)    for all u < ph, v < pw

    summed over the windows that contain the pixel (several when stride < size, none
    for pixels past the last window). Only the shape and dtype of ``images`` are used.

    Parameters
    ----------
    dout : array-like of shape (n, oh, ow, c) or (n, oh, ow)
        ``dJ/dout``, with the shape of ``avg_pool2d(images, size, stride=stride)``.
    images : array-like of shape (n, h, w, c) or (n, h, w)
    size : int or (ph, pw)
    stride : int or (sh, sw), default=None

    Returns
    -------
    dx : ndarray of the shape of ``images``

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.conv import avg_pool2d_backward
    >>> avg_pool2d_backward(np.array([[[4.0]]]), np.zeros((1, 2, 3)), 2)[0]
    array([[1., 1., 0.],
           [1., 1., 0.]])
    """
    return _pool2d_backward(dout, images, size, stride, "avg")
