"""Shapes of images, kernels, padding and pooling windows: the arithmetic before the math.

A batch of ``n`` channels-last images has shape ``(n, h, w, c)``. A convolution with
``fh x fw`` kernels, stride ``(sh, sw)`` and ``(top, bottom)`` rows and ``(left, right)``
columns of zero padding has::

    oh = (h + top + bottom - fh) // sh + 1,    ow = (w + left + right - fw) // sw + 1

outputs. ``padding='same'`` picks the smallest padding giving ``oh = ceil(h / sh)``
(``oh = h`` for ``sh = 1``): ``total = max((oh - 1) sh + fh - h, 0)`` rows, of which
``total // 2`` go on top and the rest at the bottom (the convention of TensorFlow and of
PyTorch's ``padding='same'``, so even kernels work too). A ``ph x pw`` pooling window
with stride ``(sh, sw)`` gives ``((h - ph) // sh + 1, (w - pw) // sw + 1)``.

Everything here checks its arguments and says what to change; the functions that do the
arithmetic on arrays (:mod:`~sknnedu.nn.convolution`, :mod:`~sknnedu.nn.pooling`, the
layers of :mod:`~sknnedu.nn.conv_layers`) and the estimators that read rows as images
call these, so that a rule is written once: :func:`check_int`, :func:`pair`,
:func:`conv_geometry`, :func:`pool_geometry`, :func:`resolve_image_shape`, and for the
values of a batch :func:`float_dtype` (the dtype computed in) and :func:`nonfinite_rows`
(NaN and inf, checked in blocks of rows).
"""

from __future__ import annotations

import warnings
from math import isqrt
from numbers import Integral

import numpy as np

__all__ = [
    "as_images",
    "check_dout",
    "check_finite",
    "check_int",
    "conv_geometry",
    "float_dtype",
    "nonfinite_rows",
    "pad2d",
    "pad_widths",
    "pair",
    "pool_geometry",
    "resolve_image_shape",
    "window",
]

Pair = tuple[int, int]
PadWidths = tuple[Pair, Pair]


# ----------------------------------------------------------------------------------------
# numbers and pairs
# ----------------------------------------------------------------------------------------
def check_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer ``>= minimum`` (not a bool); else a ValueError.

    Examples
    --------
    >>> from sknnedu.nn.geometry import check_int
    >>> check_int(3, "stride")
    3
    >>> check_int(0, "stride")
    Traceback (most recent call last):
    ...
    ValueError: stride must be an int >= 1, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def pair(value, name: str, minimum: int = 1) -> Pair:
    """An int ``a`` -> ``(a, a)``; a pair of ints is checked and returned as a tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (check_int(value[0], name, minimum), check_int(value[1], name, minimum))
    a = check_int(value, name, minimum)
    return (a, a)


# ----------------------------------------------------------------------------------------
# padding and output sizes
# ----------------------------------------------------------------------------------------
def pad_widths(padding) -> PadWidths:
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
            (t, b), (l, r) = (pair(p, "padding", 0) for p in padding)
        except ValueError:
            raise ValueError(msg) from None
        return ((t, b), (l, r))
    try:
        p = check_int(padding, "padding", 0)
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
    return pad_widths(padding)


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

    Examples
    --------
    >>> from sknnedu.nn.geometry import conv_geometry
    >>> conv_geometry((8, 8), (3, 3), stride=2, padding="same")
    (((0, 1), (0, 1)), (4, 4))
    """
    h, w = image_hw
    fh, fw = kernel_hw
    sh, sw = pair(stride, "stride")
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
    ph, pw = pair(size, "pool size")
    sh, sw = (ph, pw) if stride is None else pair(stride, "pool stride")
    h, w = image_hw
    if ph > h or pw > w:
        raise ValueError(f"image {h}x{w} is smaller than the pooling window {ph}x{pw}.")
    return ((h - ph) // sh + 1, (w - pw) // sw + 1)


def window(x: np.ndarray, u: int, v: int, stride: Pair, out_hw: Pair) -> np.ndarray:
    """The view ``x[:, i sh + u, j sw + v]`` over all windows ``(i, j)``: kernel offset ``(u, v)``.

    ``x`` is ``(m, h, w, c)``; the view is ``(m, oh, ow, c)``. Forward and backward passes
    of convolution and pooling loop over the ``fh fw`` offsets with it (a loop over
    offsets, never over pixels).
    """
    (sh, sw), (oh, ow) = stride, out_hw
    return x[:, u : u + (oh - 1) * sh + 1 : sh, v : v + (ow - 1) * sw + 1 : sw]


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
    (t, b), (l, r) = pad_widths(padding)
    n, h, w = x.shape[:3]
    out = np.full((n, t + h + b, l + w + r) + x.shape[3:], value, dtype=x.dtype)
    out[:, t : t + h, l : l + w] = x
    return out


# ----------------------------------------------------------------------------------------
# batches of images
# ----------------------------------------------------------------------------------------
def float_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype computed in: float32 and float64 stay, anything else is float64.

    The one rule for the whole package: activations, convolution and pooling, sequences and
    the estimators' weights (``BaseNetwork._float_dtype``) all take their dtype from it.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.geometry import float_dtype
    >>> float_dtype(np.dtype(np.float32)), float_dtype(np.dtype(np.uint8))
    (dtype('float32'), dtype('float64'))
    """
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def nonfinite_rows(x: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """``bad[i]``: whether ``x[i]`` holds NaN or inf, for an array of any shape ``(n, ...)``.

    Whole rows of about ``block`` values at a time, so the boolean temporary stays small
    whatever ``n`` (no mask the size of ``x``). The one such loop: :func:`check_finite`,
    the sequence estimators' input and ConvFeatureTransformer's features use it.

    Returns
    -------
    bad : ndarray of bool, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.geometry import nonfinite_rows
    >>> nonfinite_rows(np.array([[0.0, 1.0], [np.nan, 1.0], [2.0, -np.inf]]))
    array([False,  True,  True])
    """
    bad = np.empty(len(x), dtype=bool)
    step = max(1, block // max(1, x[:1].size))
    axes = tuple(range(1, x.ndim))
    for start in range(0, len(x), step):
        rows = slice(start, start + step)
        np.logical_not(np.isfinite(x[rows]).all(axis=axes), out=bad[rows])
    return bad


def check_finite(x: np.ndarray, name: str, message: str | None = None) -> None:
    """Raise a ValueError if ``x`` holds NaN or inf (checked by :func:`nonfinite_rows`).

    The message is ``message``, or by default
    ``"{name} contain NaN or infinity; expected finite values."``.
    """
    if nonfinite_rows(x).any():
        raise ValueError(message or f"{name} contain NaN or infinity; expected finite values.")


def as_images(images, name: str = "images") -> tuple[np.ndarray, bool]:
    """``images`` as a numeric ``(n, h, w, c)`` array (a view of 3-D input), and if it was 3-D.

    The dtype is kept: integer images are converted to float chunk by chunk where they
    are used, so a uint8 batch never gets a full float64 copy.
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
        check_finite(x, name)
    return (x, False) if x.ndim == 4 else (x[..., None], True)


def check_dout(dout, expected: tuple, what: str) -> np.ndarray:
    """``dout`` checked, in its own dtype: it is converted chunk by chunk (no copy of all)."""
    d = np.asarray(dout)
    if d.shape != expected:
        raise ValueError(
            f"dout must have the shape of the {what}'s output, {expected}, got {d.shape}."
        )
    if d.dtype.kind not in "biuf":
        raise ValueError(f"dout must be numeric, got dtype {d.dtype}.")
    if d.dtype.kind == "f":
        check_finite(d, "dout")
    return d


def resolve_image_shape(data_shape: tuple, image_shape=None, *,
                        stacklevel: int = 2) -> tuple[int, int, int]:
    """The shape ``(h, w, c)`` of one image of a data set ``X`` of shape ``data_shape``.

    - images, ``(n, h, w, c)`` or ``(n, h, w)`` (``c = 1``): their shape, which
      ``image_shape`` must match if given;
    - rows, ``(n, d)``: ``image_shape`` ``(h, w)`` (``c = 1``) or ``(h, w, c)``, which must
      have ``d = h w c`` values; None reads a square ``d = s^2`` as ``(s, s, 1)`` and any
      other ``d`` as a ``1 x d`` grayscale strip, with a warning (that names the square
      colour image, ``d = 3 s^2``, if there is one).

    Parameters
    ----------
    data_shape : tuple of 2 to 4 ints
    image_shape : (h, w), (h, w, c) or None, default=None
    stacklevel : int, default=2
        Of the warning, counted from this function.

    Returns
    -------
    shape : (h, w, c)

    Raises
    ------
    ValueError
        If ``image_shape`` is not two or three ints >= 1, or does not fit ``X``.

    Examples
    --------
    >>> from sknnedu.nn.geometry import resolve_image_shape
    >>> resolve_image_shape((10, 64)), resolve_image_shape((10, 48), (4, 4, 3))
    ((8, 8, 1), (4, 4, 3))
    """
    given = None if image_shape is None else _check_image_shape(image_shape)
    if len(data_shape) in (3, 4):
        shape = tuple(int(s) for s in data_shape[1:]) + ((1,) if len(data_shape) == 3 else ())
        if given is not None and given != shape:
            raise ValueError(
                f"image_shape {tuple(image_shape)} does not match the images in X, of shape "
                f"{shape} (h, w, c); use image_shape=None for image arrays."
            )
        return shape
    d = int(data_shape[1])
    if given is not None:
        h, w, c = given
        if h * w * c != d:
            hint = ""
            if len(image_shape) == 2 and d % (h * w) == 0:
                hint = f"; for {d // (h * w)} channels use image_shape=({h}, {w}, {d // (h * w)})"
            raise ValueError(
                f"image_shape {tuple(image_shape)} needs {h * w * c} features; X has {d}{hint}."
            )
        return given
    side = isqrt(d)
    if side * side == d:
        return (side, side, 1)
    colour = isqrt(d // 3)
    hint = (f"; if they are {colour}x{colour} colour images, pass "
            f"image_shape=({colour}, {colour}, 3)" if 3 * colour * colour == d else "")
    warnings.warn(
        f"X has {d} features, not a square number: each row is read as a 1 x {d} grayscale "
        "strip. Pass image_shape=(h, w) or (h, w, c), or images of shape (n, h, w[, c])"
        f"{hint}.", UserWarning, stacklevel=stacklevel + 1)
    return (1, d, 1)


def _check_image_shape(image_shape) -> tuple[int, int, int]:
    """``(h, w)`` -> ``(h, w, 1)``; ``(h, w, c)`` checked."""
    msg = f"image_shape must be None, (h, w) or (h, w, c) of ints >= 1, got {image_shape!r}."
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3):
        raise ValueError(msg)
    try:
        shape = tuple(check_int(s, "image_shape") for s in image_shape)
    except ValueError:
        raise ValueError(msg) from None
    return shape if len(shape) == 3 else (*shape, 1)
