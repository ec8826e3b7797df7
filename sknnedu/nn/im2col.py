"""The patch matrix of a convolution: :func:`im2col`, and its adjoint :func:`col2im`.

A convolution of a padded batch ``xp`` ``(m, hp, wp, c)`` with kernels ``K``
``(k, fh, fw, c)`` reads, for output ``(n, i, j)``, the receptive field
``xp[n, i sh : i sh + fh, j sw : j sw + fw, :]``. Copied into one row each, the fields
make the patch matrix::

    P[(n, i, j), (u, v, ch)] = xp[n, i sh + u, j sw + v, ch]        (m oh ow, fh fw c)

and with ``W = K.reshape(k, fh fw c)`` the whole convolution is one matrix product,
``Z = P W^T``, as is the kernels' gradient, ``dK = dZ^T P``. Going back, the gradient of
each patch, ``dP = dZ W``, is added back onto the pixels it was read from: that is
:func:`col2im`, the adjoint (transpose) of :func:`im2col`, so that
``<im2col(x), dP> = <x, col2im(dP)>`` for every ``x`` and ``dP``.

Channels-last, the ``fw c`` values of one kernel row are contiguous in memory, so ``P``
is a ``sliding_window_view`` of ``xp`` viewed as ``(m, hp, wp c)`` and :func:`im2col` is
one copy; :func:`col2im` is a loop over the ``fh fw`` kernel offsets, each a strided
``+=`` of an ``(m, oh, ow, c)`` block (a loop over offsets, not over pixels).

The same pair serves the fused inference path of :func:`~sknnedu.nn.convolution.conv_pool2d`
(with blocks of output columns), :func:`~sknnedu.nn.convolution.conv2d_backward` and the
training layer :class:`~sknnedu.nn.conv_layers.Conv2D`. :func:`patches_at` gives single
rows of ``P``, for sampling patches of a data set.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import Pair, conv_geometry, window

__all__ = ["col2im", "im2col", "patches_at"]


def im2col(xp: np.ndarray, kernel_hw: Pair, stride: Pair, out_hw: Pair, out: np.ndarray,
           block: int = 1) -> None:
    """Copy every receptive field of ``xp`` into one row of ``out``: the patch matrix ``P``.

    ``xp`` (m, hp, wp, c), C-contiguous, is a padded batch; ``out`` (m oh ow, fh fw c) gets::

        P[(n, i, j), (u, v, ch)] = xp[n, i sh + u, j sw + v, ch]

    Channels-last, the ``fw c`` values of one kernel row are contiguous, so ``P`` is a
    ``sliding_window_view`` of ``xp`` viewed as ``(m, hp, wp c)`` and this is one copy. Its
    column order ``(u, v, ch)`` is that of ``K.reshape(k, -1)`` for kernels ``(k, fh, fw, c)``.
    ``out`` may be the first columns of a wider matrix (its rows need not be contiguous).

    With ``block = B > 1``, a row holds the input of ``B`` neighbouring outputs of an image
    row (:mod:`sknnedu.nn.convolution`, "Blocks of output columns"): ``out`` is
    ``(m oh nb, fh span c)`` with ``nb = ceil(ow / B)`` blocks per row and
    ``span = (B - 1) sw + fw``, and::

        P_B[(n, i, J), (u, x, ch)] = xp[n, i sh + u, J B sw + x, ch]

    ``xp`` must then be wide enough for the last block, ``wp >= (nb B - 1) sw + fw``.

    Parameters
    ----------
    xp : ndarray of shape (m, hp, wp, c)
    kernel_hw : (fh, fw)
    stride : (sh, sw)
    out_hw : (oh, ow)
    out : ndarray of shape (m * oh * ceil(ow / B), fh * span * c)
    block : int, default=1
    """
    m, hp, wp, c = xp.shape
    (fh, fw), (sh, sw), (oh, ow) = kernel_hw, stride, out_hw
    n_blocks = -(-ow // block)
    span = (block - 1) * sw + fw  # input columns seen by one block
    step = block * sw * c  # from one block's first value to the next
    win = sliding_window_view(xp.reshape(m, hp, wp * c), (fh, span * c), axis=(1, 2))
    win = win[:, : (oh - 1) * sh + 1 : sh, : (n_blocks - 1) * step + 1 : step]
    np.copyto(out.reshape(m, oh, n_blocks, fh, span * c), win)  # splitting axes: a view


def col2im(dpatches, kernel_hw: Pair, stride: Pair, out_hw: Pair, dxp: np.ndarray) -> None:
    """The adjoint of :func:`im2col`: add each row of ``dP`` back where its patch was read.

    ::

        dxp[n, y, x, ch] = sum dP[(n, i, j), (u, v, ch)]   over i sh + u = y, j sw + v = x

    a loop over the ``fh fw`` kernel offsets ``(u, v)``, each one strided ``+=`` of an
    ``(m, oh, ow, c)`` block into the pixels ``(i sh + u, j sw + v)``. ``dxp`` is overwritten.

    Parameters
    ----------
    dpatches : ndarray of shape (m * oh * ow, fh * fw * c), or callable
        ``dP``, the gradient of the patch matrix; or a function ``dpatches(u, v)`` that
        returns its columns of offset ``(u, v)``, ``dP[:, (u, v, :)]`` as
        ``(m, oh, ow, c)``: a layer computes ``dP = dZ W`` one offset at a time,
        ``dZ K[:, u, v, :]``, a contiguous block, without the whole ``dP``.
    kernel_hw : (fh, fw)
    stride : (sh, sw)
    out_hw : (oh, ow)
    dxp : ndarray of shape (m, hp, wp, c)
        The gradient of the padded batch.
    """
    m, _, _, c = dxp.shape
    (fh, fw), (oh, ow) = kernel_hw, out_hw
    if callable(dpatches):
        block_of = dpatches
    else:
        d = dpatches.reshape(m, oh, ow, fh, fw, c)

        def block_of(u, v):
            return d[:, :, :, u, v]

    dxp.fill(0)
    for u in range(fh):
        for v in range(fw):
            target = window(dxp, u, v, stride, out_hw)  # dxp[:, i sh + u, j sw + v]
            target += block_of(u, v)


def patches_at(images: np.ndarray, fields: np.ndarray, kernel_hw: Pair, stride: Pair,
               padding) -> np.ndarray:
    """The rows of the patch matrix ``P`` of chosen receptive fields, zero outside the image.

    Field ``f`` is output ``(n, i, j)`` of the convolution, numbered ``f = (n oh + i) ow + j``
    (the row of ``P`` that :func:`im2col` would write), and its row is::

        P[f, (u, v, ch)] = xp[n, i sh + u, j sw + v, ch]

    Parameters
    ----------
    images : ndarray of shape (n, h, w, c)
    fields : ndarray of int, shape (r,)
        Indices into the ``n oh ow`` receptive fields.
    kernel_hw : (fh, fw)
    stride : (sh, sw)
    padding : int, ((top, bottom), (left, right)), 'valid' or 'same'

    Returns
    -------
    patches : ndarray of shape (r, fh * fw * c)
        In the dtype of ``images``.
    """
    n, h, w, c = images.shape
    fh, fw = kernel_hw
    sh, sw = stride
    ((top, _), (left, _)), (oh, ow) = conv_geometry((h, w), (fh, fw), (sh, sw), padding)
    img, rest = np.divmod(fields, oh * ow)
    i, j = np.divmod(rest, ow)
    rows = i[:, None] * sh - top + np.arange(fh)  # (r, fh)
    cols = j[:, None] * sw - left + np.arange(fw)  # (r, fw)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    patches = images[
        img[:, None, None],
        np.clip(rows, 0, h - 1)[:, :, None],
        np.clip(cols, 0, w - 1)[:, None, :],
    ]  # (r, fh, fw, c)
    patches[~inside] = 0
    return patches.reshape(len(fields), fh * fw * c)
