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
one thread for the call by :func:`sknnedu.blas.single_threaded` (numpy releases
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

dtypes: float32 stays float32, float64 stays float64, anything else is computed
in float64.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sknnedu import blas
from sknnedu.activations import ACTIVATIONS

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv_geometry",
    "conv_pool2d",
    "max_pool2d",
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
    """``images`` as a float ``(n, h, w, c)`` array (a view of 3-D input), and if it was 3-D."""
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{name} must have shape (n, h, w, c) or (n, h, w), "
            f"got an array of shape {x.shape} ({x.ndim}-D)."
        )
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}.")
    x = x.astype(_float_dtype(x.dtype), copy=False)
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
    return int(min(n, max(1, CHUNK_BYTES // max(1, bytes_per_image))))


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
    >>> from sknnedu.conv import pad2d
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
        per_image = (per_image + self.hp * self.wp * self.kc) * x.dtype.itemsize
        self.chunk = _chunk_size(n, per_image + extra_bytes_per_image)
        self.direct = (  # no padding to add: read the images in place
            not shared
            and (self.t, b, self.l) == (0, 0, 0)
            and self.wp == self.w
            and x.flags.c_contiguous
        )
        self.exact = self.n_blocks * self.block == self.ow  # no partial block to drop
        self.weights = _block_weights(kern, self.block, sw)

    def buffers(self) -> dict:
        """Scratch arrays for one worker."""
        dtype, chunk = self.x.dtype, self.chunk
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
            # the padding is zero since the buffer was made; only the image changes
            xp = bufs["padded"][:m]
            inner = xp[:, self.t : self.t + self.h, self.l : self.l + self.w]
            if self.shared:
                np.sum(x[start:stop], axis=3, out=inner[..., 0])
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
    local = threading.local()

    def task(start):
        if not hasattr(local, "bufs"):
            local.bufs = make_buffers()
        work(start, min(start + chunk, n), local.bufs)

    with blas.single_threaded(), ThreadPoolExecutor(n_threads) as pool:
        for _ in pool.map(task, starts):  # re-raises the first error
            pass


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
    """Max or average pooling of a chunk ``z`` into ``out``."""
    if kind == "max":
        _reduce_chunk(z, size, stride, out, np.maximum, tmp)
    else:
        _reduce_chunk(z, size, stride, out, np.add, tmp)
        out *= out.dtype.type(1.0 / (size[0] * size[1]))


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
        A name in :data:`sknnedu.activations.ACTIVATIONS` except ``'softmax'``;
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
    >>> from sknnedu.conv import conv_pool2d
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> conv_pool2d(x, np.ones((1, 1, 1)), activation="relu", pooling="max")[..., 0]
    array([[[ 5.,  7.],
            [13., 15.]]])
    """
    x, _ = _as_images(images)
    kern, shared = _check_kernels(kernels, x.shape[3], x.dtype)
    n, h, w, _ = x.shape
    k, fh, fw, _ = kern.shape
    conv_stride = _pair(stride, "stride")
    pads, (oh, ow) = conv_geometry((h, w), (fh, fw), conv_stride, padding)
    act = _activation_fn(activation)
    if pooling not in ("max", "avg", None):
        raise ValueError(f"Unknown pooling {pooling!r}; expected 'max', 'avg' or None.")

    if pooling is None:
        out = np.empty((n, oh, ow, k), dtype=x.dtype)
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
    out = np.empty((n, oph, opw, k), dtype=x.dtype)
    late = pooling == "max" and activation in MONOTONE_ACTIVATIONS
    tmp_shape = (oph, ow, k) if psize[0] > 1 else None  # rows pooled, columns not yet
    extra = np.prod(tmp_shape) * x.dtype.itemsize if tmp_shape else 0
    plan = _Im2col(x, kern, shared, conv_stride, pads, (oh, ow), int(extra))

    def buffers():
        bufs = plan.buffers()
        bufs["pool"] = np.empty((plan.chunk, *tmp_shape), x.dtype) if tmp_shape else None
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
    >>> from sknnedu.conv import conv2d
    >>> x = np.arange(9.0).reshape(1, 3, 3)
    >>> conv2d(x, np.ones((1, 2, 2)))[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    >>> conv2d(np.ones((2, 5, 5, 3)), np.ones((4, 3, 3, 3)), padding="same").shape
    (2, 5, 5, 4)
    """
    return conv_pool2d(images, kernels, stride=stride, padding=padding)


# ----------------------------------------------------------------------------------------
# pooling
# ----------------------------------------------------------------------------------------
def _pool2d(images, size, stride, kind: str) -> np.ndarray:
    x, grayscale = _as_images(images)
    n, h, w, c = x.shape
    psize = _pair(size, "size")
    pstride = psize if stride is None else _pair(stride, "stride")
    oph, opw = pool_geometry((h, w), psize, pstride)
    out = np.empty((n, oph, opw, c), dtype=x.dtype)
    chunk = _chunk_size(n, oph * w * c * x.dtype.itemsize)

    def buffers():
        return np.empty((chunk, oph, w, c), dtype=x.dtype) if psize[0] > 1 else None

    def work(start, stop, tmp):
        tmp = None if tmp is None else tmp[: stop - start]
        _pool_into(x[start:stop], psize, pstride, kind, out[start:stop], tmp)

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
    >>> from sknnedu.conv import max_pool2d
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
    >>> from sknnedu.conv import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)[0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _pool2d(images, size, stride, "avg")
