"""Named convolution kernels (the notes' ``filterDict``) and kernel banks.

Every kernel is meant for :func:`sknnedu.nn.conv.conv2d`, which computes a
cross-correlation (the kernel is **not** flipped)::

    out[i, j] = sum_{u, v} x[i + u, j + v] * F[u, v]

so ``sobel_x`` below responds positively where the intensity grows from left
to right, exactly as written.

Two kinds of kernels live in :data:`FILTERS`:

* 2-D kernels of shape ``(3, 3)`` (``sobel_x``, ``laplacian``, ...). In a bank
  for ``c`` channels they are *shared*: the same kernel is applied to every
  channel and the ``c`` responses are summed, i.e. the bank entry is
  ``F[:, :, None]`` repeated ``c`` times along the last axis.
* 3-channel kernels of shape ``(3, 3, 3)``, channels-last (``identity``,
  ``red``, ``green``, ``blue``), the notes' ``filterDict``: ``identity`` has a 1
  at the centre of every channel (its response is ``r + g + b``), ``red`` a 1 at
  the centre of channel 0 only (its response is the red channel), and so on.
  They only make sense for RGB images (``c == 3``).

All kernels are read-only float64 arrays; copy one before editing it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _frozen(kernel: list | np.ndarray, scale: float = 1.0) -> np.ndarray:
    arr = np.asarray(kernel, dtype=np.float64) * scale
    arr.setflags(write=False)
    return arr


def _centre(channels: Sequence[int]) -> np.ndarray:
    """A 3x3x3 kernel with a 1 at the centre of each channel in ``channels``."""
    arr = np.zeros((3, 3, 3))
    arr[1, 1, list(channels)] = 1.0
    return _frozen(arr)


#: name -> kernel, float64, shape (3, 3) (shared across channels) or (3, 3, 3).
FILTERS: dict[str, np.ndarray] = {
    # the notes' filterDict (channels-last RGB kernels)
    "identity": _centre([0, 1, 2]),
    "red": _centre([0]),
    "green": _centre([1]),
    "blue": _centre([2]),
    # the pixel itself, shared across channels (summed over them for colour images)
    "centre": _frozen([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    # first derivatives: d/dx (left -> right) and d/dy (top -> bottom)
    "sobel_x": _frozen([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _frozen([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "sobel_diag": _frozen([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]),  # top-left -> bottom-right
    "sobel_antidiag": _frozen([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]]),  # bottom-left -> top-right
    "prewitt_x": _frozen([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "prewitt_y": _frozen([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
    # second derivative: the 4-neighbour discrete Laplacian
    "laplacian": _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    # 8-neighbour edge detector (centre minus the mean of its neighbours, times 8)
    "edge_detect": _frozen([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sharpen": _frozen([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box_blur": _frozen(np.ones((3, 3)), 1 / 9),
    "gaussian_blur": _frozen([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 1 / 16),
    "emboss": _frozen([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
}

#: bank name -> filter names. ``'edges'`` is the default of
#: :class:`sknnedu.feature_extraction.ConvFeatureTransformer`: horizontal,
#: vertical and both diagonal gradients, plus the Laplacian for blobs and corners.
BANKS: dict[str, tuple[str, ...]] = {
    "edges": ("sobel_x", "sobel_y", "sobel_diag", "sobel_antidiag", "laplacian"),
    "prewitt": ("prewitt_x", "prewitt_y"),
    "rgb": ("red", "green", "blue"),
}


def filter_names(names: str | Sequence[str]) -> list[str]:
    """Expand a bank name, a single filter name or a list of filter names.

    Parameters
    ----------
    names : str or sequence of str
        A key of :data:`BANKS`, a key of :data:`FILTERS`, or a sequence of keys
        of :data:`FILTERS`.

    Returns
    -------
    names : list of str
        Filter names, each a key of :data:`FILTERS`.

    Raises
    ------
    ValueError
        If a name is unknown or the sequence is empty.
    """
    if isinstance(names, str):
        if names in BANKS:
            return list(BANKS[names])
        names = [names]
    names = list(names)
    if not names:
        raise ValueError("Expected at least one filter name, got an empty list.")
    for name in names:
        if not isinstance(name, str) or name not in FILTERS:
            raise ValueError(
                f"Unknown filter {name!r}; expected one of {sorted(FILTERS)} "
                f"or a bank name in {sorted(BANKS)}."
            )
    return names


def filter_bank(names: str | Sequence[str], n_channels: int | None = None) -> np.ndarray:
    """Stack named kernels into a bank for :func:`sknnedu.nn.conv.conv2d`.

    Parameters
    ----------
    names : str or sequence of str
        A bank name (``'edges'``), a filter name, or a list of filter names;
        see :func:`filter_names`.
    n_channels : int or None, default=None
        Channels ``c`` of the images the bank will be applied to. ``None``
        returns 2-D kernels stacked as ``(k, fh, fw)`` (shared across channels by
        :func:`~sknnedu.nn.conv.conv2d`) when every kernel is 2-D, and a
        ``(k, fh, fw, 3)`` bank when one of them is an RGB kernel.

    Returns
    -------
    bank : ndarray of shape (k, fh, fw) or (k, fh, fw, c), float64
        ``bank[i]`` is ``FILTERS[names[i]]``; a 2-D kernel ``F`` becomes
        ``bank[i, :, :, ch] = F`` for every channel ``ch``.

    Raises
    ------
    ValueError
        For an unknown name, kernels of different sizes, or an RGB kernel with
        ``n_channels != 3``.

    Examples
    --------
    >>> from sknnedu.filters import filter_bank
    >>> filter_bank("edges").shape
    (5, 3, 3)
    >>> filter_bank(["sobel_x", "red"]).shape
    (2, 3, 3, 3)
    >>> filter_bank(["sobel_x", "laplacian"], n_channels=1).shape
    (2, 3, 3, 1)
    """
    names = filter_names(names)
    kernels = [FILTERS[name] for name in names]
    sizes = {k.shape[:2] for k in kernels}
    if len(sizes) > 1:
        raise ValueError(
            f"All kernels of a bank need the same size; got sizes {sorted(sizes)} "
            f"for filters {names}."
        )
    colour = [name for name, k in zip(names, kernels) if k.ndim == 3]
    if n_channels is None:
        if not colour:
            return np.stack(kernels)
        n_channels = 3
    if not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
        raise ValueError(f"n_channels must be an int >= 1, got {n_channels!r}.")
    if colour and n_channels != 3:
        raise ValueError(
            f"Filters {colour} are RGB kernels of shape (3, 3, 3) and need images with "
            f"3 channels, got {n_channels} channel(s)."
        )
    fh, fw = sizes.pop()
    bank = np.empty((len(kernels), fh, fw, n_channels))
    for i, kernel in enumerate(kernels):
        bank[i] = kernel if kernel.ndim == 3 else kernel[:, :, None]
    return bank
