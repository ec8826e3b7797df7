"""Max and average pooling of batches of images, forward and backward, in plain numpy.

Max (average) pooling with a ``ph x pw`` window and stride ``(sh, sw)`` keeps the
channels and takes, per channel::

    out[n, i, j, ch] = max (mean)_{u < ph, v < pw} x[n, i sh + u, j sw + v, ch]

with ``(h - ph) // sh + 1`` output rows (:func:`~sknnedu.nn.geometry.pool_geometry`).
Both are separable, first over the rows of the window, then over its columns, which is
how they are computed: a loop over the ``ph + pw`` offsets of a window, each one ufunc
over the whole batch, never a loop over pixels.

Backward: :func:`max_pool2d_backward` sends each window's gradient to its first maximum,
:func:`avg_pool2d_backward` spreads it evenly::

    dx[n, i sh + u*, j sw + v*, ch] += dout[n, i, j, ch]           (max, (u*, v*) the argmax)
    dx[n, i sh + u, j sw + v, ch] += dout[n, i, j, ch] / (ph pw)   (avg, every u, v)

Building blocks
---------------
The public functions check their arguments and work chunk by chunk
(:func:`sknnedu.nn.threads.run_chunks`). Underneath are the steps they share with the
training layer :class:`~sknnedu.nn.conv_layers.Pool2D` and with the fused
:func:`~sknnedu.nn.convolution.conv_pool2d`; they check nothing and write into buffers
they are given: :func:`reduce_windows`, :func:`pool_into`, :func:`max_pool_buffers`,
:func:`max_pool_forward_into`, :func:`max_pool_backward_into` and
:func:`avg_pool_backward_into`.

dtypes: float32 stays float32, float64 stays float64, anything else is computed in
float64, converted one chunk at a time (a uint8 batch is never copied whole).
"""

from __future__ import annotations

import numpy as np

from .geometry import (
    Pair,
    as_images,
    check_dout,
    float_dtype,
    pair,
    pool_geometry,
    window,
)
from .threads import chunk_size, run_chunks

__all__ = [
    "POOLINGS",
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool_backward_into",
    "check_pooling",
    "is_pooling",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool_backward_into",
    "max_pool_buffers",
    "max_pool_forward_into",
    "pool_into",
    "reduce_windows",
]

#: The kinds of pooling.
POOLINGS = ("max", "avg")


def is_pooling(name, *, none: bool = True) -> bool:
    """Whether ``name`` is one of :data:`POOLINGS` (or None, with ``none``).

    The one rule: :func:`check_pooling` raises by it, and the CNN estimators, whose
    parameter messages read "pooling must be ...", ask it.
    """
    return (name is None and none) or (isinstance(name, str) and name in POOLINGS)


def check_pooling(name, *, none: bool = True) -> str | None:
    """``name`` if it is a kind of pooling (or None, with ``none``); else a ValueError.

    Examples
    --------
    >>> from sknnedu.nn.pooling import check_pooling
    >>> check_pooling("max")
    'max'
    >>> check_pooling("min")
    Traceback (most recent call last):
    ...
    ValueError: Unknown pooling 'min'; expected 'max', 'avg' or None.
    """
    if not is_pooling(name, none=none):
        expected = "'max', 'avg' or None" if none else "'max' or 'avg'"
        raise ValueError(f"Unknown pooling {name!r}; expected {expected}.")
    return name


# ----------------------------------------------------------------------------------------
# forward
# ----------------------------------------------------------------------------------------
def reduce_windows(z, size, stride, out, ufunc, tmp=None) -> None:
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


def pool_into(z, size, stride, kind, out, tmp=None) -> None:
    """Max or average pooling of a chunk ``z`` into ``out``.

    For ``'avg'`` ``z`` is overwritten: it is scaled by ``1 / (ph pw)`` *before* the
    sum, ``mean = sum(x / (ph pw))``, so that no partial sum exceeds the largest
    ``|x|`` and the mean of values near the dtype's maximum does not overflow.
    """
    if kind == "max":
        reduce_windows(z, size, stride, out, np.maximum, tmp)
    else:
        z *= z.dtype.type(1.0 / (size[0] * size[1]))
        reduce_windows(z, size, stride, out, np.add, tmp)


def _pool2d(images, size, stride, kind: str) -> np.ndarray:
    x, grayscale = as_images(images)
    n, h, w, c = x.shape
    dtype = float_dtype(x.dtype)
    psize = pair(size, "size")
    pstride = psize if stride is None else pair(stride, "stride")
    oph, opw = pool_geometry((h, w), psize, pstride)
    out = np.empty((n, oph, opw, c), dtype=dtype)
    # a float copy of the chunk for integer images, and for 'avg' (scaled in place)
    copy = kind == "avg" or x.dtype != dtype
    chunk = chunk_size(n, (oph * w * c + copy * h * w * c) * dtype.itemsize)

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
        pool_into(z, psize, pstride, kind, out[start:stop], tmp)

    run_chunks(n, chunk, work, buffers)
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
    >>> from sknnedu.nn.pooling import max_pool2d
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
    >>> from sknnedu.nn.pooling import avg_pool2d
    >>> avg_pool2d(np.arange(16.0).reshape(1, 4, 4), 2)[0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return _pool2d(images, size, stride, "avg")



# ----------------------------------------------------------------------------------------
# max pooling that keeps its argmax, and the adjoints (for backward passes)
# ----------------------------------------------------------------------------------------
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


def max_pool_buffers(shape: tuple, size: Pair, stride: Pair, dtype, grad_dtype) -> dict:
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


def max_pool_forward_into(x, size: Pair, stride: Pair, bufs: dict) -> np.ndarray:
    """Max pooling of ``x`` (m, h, w, c) into ``bufs['out']``, separably.

    First the maximum over the ``pw`` columns of each window in every row
    (``cols``, winner ``cidx``), then over the ``ph`` rows of those (``out``, winner
    ``ridx``): the first row holding the window's maximum, and in it the first
    column, i.e. the first maximum in row-major window order. ``cidx`` and ``ridx``
    are what :func:`max_pool_backward_into` needs.
    """
    (ph, pw), (sh, sw) = size, stride
    cols = bufs["cols"]
    _max_along(x[:, : cols.shape[1]], 2, pw, sw, cols, bufs["cidx"], bufs["cflag"])
    _max_along(cols, 1, ph, sh, bufs["out"], bufs["ridx"], bufs["rflag"])
    return bufs["out"]


def max_pool_backward_into(dout, size: Pair, stride: Pair, bufs: dict, dx) -> None:
    """``dx`` (m, h, w, c): ``dout`` sent to the argmax that :func:`max_pool_forward_into` kept."""
    (ph, pw), (sh, sw) = size, stride
    dcols = bufs["dcols"]
    hu = dcols.shape[1]
    _scatter_along(dout, bufs["ridx"], 1, ph, sh, dcols, bufs["rflag"], bufs["rtmp"])
    _scatter_along(dcols, bufs["cidx"], 2, pw, sw, dx[:, :hu], bufs["cflag"], bufs["ctmp"])
    dx[:, hu:] = 0


def avg_pool_backward_into(dout, size: Pair, stride: Pair, dx, scaled) -> None:
    """``dx`` (m, h, w, c): every pixel of a window gets ``dout / (ph pw)`` (via ``scaled``)."""
    (ph, pw), (sh, sw) = size, stride
    oh, ow = dout.shape[1:3]
    np.multiply(dout, dx.dtype.type(1.0 / (ph * pw)), out=scaled)
    if not (sh == ph and sw == pw and dx.shape[1:3] == (oh * ph, ow * pw)):
        dx.fill(0)
    for o in range(ph * pw):
        target = window(dx, *divmod(o, pw), stride, (oh, ow))
        if sh < ph or sw < pw:
            target += scaled
        else:
            target[...] = scaled


# ----------------------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------------------
def _pool2d_backward(dout, images, size, stride, kind: str) -> np.ndarray:
    x, grayscale = as_images(images)
    n, h, w, c = x.shape
    dtype = float_dtype(x.dtype)
    psize = pair(size, "size")
    pstride = psize if stride is None else pair(stride, "stride")
    if max(psize) > 255:
        raise ValueError(f"pool size must be at most 255, got {psize}.")
    oph, opw = pool_geometry((h, w), psize, pstride)
    expected = (n, oph, opw) if grayscale else (n, oph, opw, c)
    dz = check_dout(dout, expected, f"{kind} pooling")
    if grayscale:
        dz = dz[..., None]
    dx = np.empty((n, h, w, c), dtype=dtype)
    specs = max_pool_buffers((1, h, w, c), psize, pstride, x.dtype, dtype)
    per_image = sum(np.prod(shape) * np.dtype(dt).itemsize for shape, dt in specs.values())
    chunk = chunk_size(n, int(per_image))

    def buffers():
        return {name: np.empty((chunk, *shape[1:]), dt) for name, (shape, dt) in specs.items()}

    def work(start, stop, bufs):
        bufs = {name: buf[: stop - start] for name, buf in bufs.items()}
        if kind == "max":
            max_pool_forward_into(x[start:stop], psize, pstride, bufs)
            max_pool_backward_into(dz[start:stop], psize, pstride, bufs, dx[start:stop])
        else:
            avg_pool_backward_into(dz[start:stop], psize, pstride, dx[start:stop], bufs["rtmp"])

    run_chunks(n, chunk, work, buffers)
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
    >>> from sknnedu.nn.pooling import max_pool2d_backward
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
    >>> from sknnedu.nn.pooling import avg_pool2d_backward
    >>> avg_pool2d_backward(np.array([[[4.0]]]), np.zeros((1, 2, 3)), 2)[0]
    array([[1., 1., 0.],
           [1., 1., 0.]])
    """
    return _pool2d_backward(dout, images, size, stride, "avg")

