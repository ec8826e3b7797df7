"""Weights, kernels and images: hidden units' weights, convolution kernels, feature maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._figure import _annotate, _bare, _check_ncols, _grid, _named, _titles

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.figure import Figure


def _weights(obj: Any, name: str, layer: int) -> np.ndarray:
    if hasattr(obj, "fit"):
        if not hasattr(obj, "coefs_"):
            raise ValueError(f"{name!r}: {type(obj).__name__} has no coefs_; fit it first.")
        if not -len(obj.coefs_) <= layer < len(obj.coefs_):
            raise ValueError(
                f"layer={layer} is out of range for {name!r}, which has {len(obj.coefs_)} "
                "weight matrices."
            )
        obj = obj.coefs_[layer]
    W = np.asarray(obj, dtype=np.float64)
    if W.ndim != 2 or 0 in W.shape:
        raise ValueError(
            f"{name!r}: expected a fitted NNClassifier or a weight matrix of shape "
            f"(n_inputs, n_units), got shape {W.shape}."
        )
    return W


def plot_hidden_units(
    estimators: Mapping[str, Any] | Any,
    *,
    layer: int = 0,
    image_shape: tuple[int, int] | None = None,
    max_units: int = 8,
    fig: Figure | None = None,
) -> Figure:
    """Show the weights coming into every unit of one layer, to see whether they differ.

    Column ``j`` of ``W[l]`` (``coefs_[l-1]``, shape (n[l-1], n[l])) is what unit
    ``j`` of layer ``l`` computes. With ``init='zeros'`` every unit receives the
    same gradient, so all columns stay identical (symmetry); random
    initialisation breaks the tie. Each panel's title gives the *spread*: the
    largest difference between two units' weights on the same input,
    ``max_i (max_j W[i, j] - min_j W[i, j])``, which is 0 for identical units.

    Parameters
    ----------
    estimators : fitted NNClassifier, weight matrix, or dict of them
        A dict draws one entry (row of panels) per name.
    layer : int, default=0
        Index into ``coefs_``: 0 is ``W[1]``, from the inputs to the first
        hidden layer.
    image_shape : (h, w) or None, default=None
        None draws the whole matrix as one heat-map per entry (inputs down,
        units across). ``(h, w)`` with ``h * w == n_inputs`` draws each unit's
        weights as an ``h x w`` image, one panel per unit (e.g. (8, 8) for
        digits).
    max_units : int, default=8
        With ``image_shape``: at most this many units per entry.
    fig : Figure, default=None
        An empty figure to draw into.

    Returns
    -------
    fig : Figure
        One Axes per entry, or ``min(n_units, max_units)`` Axes per entry with
        ``image_shape``.

    Raises
    ------
    ValueError
        For an unfitted estimator, a layer out of range, an ``image_shape`` that
        does not match the number of inputs, or ``max_units < 1``.
    """
    named = {name: _weights(obj, name, layer) for name, obj in
             _named(estimators, "weights").items()}
    spreads = {name: float(np.ptp(W, axis=1).max()) for name, W in named.items()}
    if image_shape is None:
        fig, axes = _grid(len(named), len(named), fig, cell=(4.0, 4.0))
        for ax, (name, W) in zip(axes, named.items()):
            vmax = float(np.abs(W).max()) or 1.0
            ax.imshow(W, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                      interpolation="nearest")
            ax.set_xlabel("unit j")
            ax.set_ylabel("input i")
            ax.set_title(f"{name}\nspread across units = {spreads[name]:.3g}", fontsize=10)
        return fig

    if not (isinstance(max_units, (int, np.integer)) and max_units >= 1):
        raise ValueError(f"max_units must be an int >= 1, got {max_units!r}.")
    h, w = image_shape
    for name, W in named.items():
        if h * w != W.shape[0]:
            raise ValueError(
                f"image_shape {tuple(image_shape)} needs {h * w} inputs, but {name!r} has "
                f"{W.shape[0]} inputs per unit."
            )
    ncols = min(max(W.shape[1] for W in named.values()), int(max_units))
    fig, axes = _grid(len(named) * ncols, ncols, fig, cell=(1.6, 1.8))
    for row, (name, W) in enumerate(named.items()):
        vmax = float(np.abs(W).max()) or 1.0
        for j in range(ncols):
            ax = axes[row * ncols + j]
            _bare(ax)
            if j < W.shape[1]:
                ax.imshow(W[:, j].reshape(h, w), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          interpolation="nearest")
                ax.set_title(f"unit {j + 1}", fontsize=8)
            else:
                ax.set_axis_off()
        axes[row * ncols].set_ylabel(f"{name}\nspread {spreads[name]:.3g}", fontsize=9)
    return fig


def _kernel_list(kernels: Any, titles: Sequence[str] | None) -> tuple[list, list[str]]:
    if isinstance(kernels, Mapping):
        if not kernels:
            raise ValueError("Expected at least one kernel, got an empty mapping.")
        items = [np.asarray(k, dtype=np.float64) for k in kernels.values()]
        default = [str(k) for k in kernels]
    elif isinstance(kernels, np.ndarray):
        if kernels.ndim not in (3, 4) or kernels.shape[0] == 0:
            raise ValueError(
                "A kernel bank must have shape (k, fh, fw) or (k, fh, fw, c) with k >= 1, "
                f"got {kernels.shape}; pass a single kernel as [kernel]."
            )
        items = [np.asarray(k, dtype=np.float64) for k in kernels]
        default = [f"kernel {i + 1}" for i in range(len(items))]
    else:
        items = [np.asarray(k, dtype=np.float64) for k in kernels]
        if not items:
            raise ValueError("Expected at least one kernel, got none.")
        default = [f"kernel {i + 1}" for i in range(len(items))]
    for title, k in zip(default, items):
        if k.ndim not in (2, 3) or 0 in k.shape:
            raise ValueError(
                f"Kernel {title!r} must have shape (fh, fw) or (fh, fw, c), got {k.shape}."
            )
    return items, _titles(titles, default)


def plot_filters(
    kernels: Mapping[str, np.ndarray] | np.ndarray | Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    annotate: bool = True,
    ncols: int = 6,
    fig: Figure | None = None,
) -> Figure:
    """Draw convolution kernels as small heat-maps (red > 0, blue < 0) with their values.

    A kernel with ``c`` channels (shape ``(fh, fw, c)``, e.g. the notes' RGB
    ``identity``/``red``/``green``/``blue``) is drawn as its ``c`` channel slices
    side by side, separated by a blank column.

    Parameters
    ----------
    kernels : dict of str to ndarray, ndarray, or sequence of ndarray
        ``name -> kernel`` (e.g. :data:`sknnedu.filters.FILTERS`, names become
        titles), a bank of shape ``(k, fh, fw)`` or ``(k, fh, fw, c)`` as
        :func:`sknnedu.nn.conv.conv2d` takes (an ndarray is always a bank: wrap a
        single kernel in a list), or a list of ``(fh, fw)`` / ``(fh, fw, c)``
        kernels.
    titles : sequence of str, default=None
        One per kernel; None uses the dict keys or "kernel i".
    annotate : bool, default=True
        Write each weight in its cell (skipped for kernels over 64 values).
    ncols : int, default=6
        Panels per row.
    fig : Figure, default=None
        An empty figure to draw into.

    Returns
    -------
    fig : Figure
        With one Axes per kernel.

    Raises
    ------
    ValueError
        For no kernels, a kernel that is not 2-D or 3-D, or a wrong number of titles.

    Examples
    --------
    >>> from sknnedu.filters import FILTERS
    >>> from sknnedu.plotting import plot_filters
    >>> fig = plot_filters({k: FILTERS[k] for k in ("sobel_x", "laplacian", "red")})
    >>> len(fig.axes)
    3
    """
    items, titles = _kernel_list(kernels, titles)
    fig, axes = _grid(len(items), _check_ncols(ncols), fig, cell=(2.2, 2.2))
    for ax, k, title in zip(axes, items, titles):
        if k.ndim == 3:
            gap = np.full((k.shape[0], 1), np.nan)
            parts = [p for ch in range(k.shape[2]) for p in (k[:, :, ch], gap)][:-1]
            M = np.hstack(parts)
            title = f"{title}\n(channels " + " | ".join(
                "RGB"[ch] if k.shape[2] == 3 else str(ch) for ch in range(k.shape[2])) + ")"
        else:
            M = k
        vmax = float(np.nanmax(np.abs(M))) or 1.0
        image = ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        if annotate and k.size <= 64:
            _annotate(ax, M, ".2g", image, fontsize=8)
        _bare(ax)
        ax.set_title(title, fontsize=9)
    return fig


def _image_list(maps: Any, titles: Sequence[str] | None) -> tuple[list, list[str]]:
    if isinstance(maps, Mapping):
        if not maps:
            raise ValueError("Expected at least one feature map, got an empty mapping.")
        items = [np.asarray(m) for m in maps.values()]
        default = [str(k) for k in maps]
    elif isinstance(maps, np.ndarray):
        x = maps
        if x.ndim == 4:
            if x.shape[0] != 1:
                raise ValueError(
                    f"Got a batch of {x.shape[0]} images' feature maps {x.shape}; pass "
                    "the maps of one image, maps[i] of shape (h, w, k)."
                )
            x = x[0]
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3 or 0 in x.shape:
            raise ValueError(
                "An array of feature maps must have shape (h, w, k) (channels last, as "
                f"conv2d returns them) or (1, h, w, k), got {maps.shape}."
            )
        items = [x[:, :, i] for i in range(x.shape[2])]
        default = [f"map {i + 1}" for i in range(len(items))]
    else:
        items = [np.asarray(m) for m in maps]
        if not items:
            raise ValueError("Expected at least one feature map, got none.")
        default = [f"map {i + 1}" for i in range(len(items))]
    for title, m in zip(default, items):
        if not (m.ndim == 2 or (m.ndim == 3 and m.shape[2] in (3, 4))) or 0 in m.shape:
            raise ValueError(
                f"Feature map {title!r} must have shape (h, w) or be an RGB(A) image of "
                f"shape (h, w, 3|4), got {m.shape}."
            )
        if m.dtype.kind not in "biuf":
            raise ValueError(f"Feature map {title!r} must be numeric, got dtype {m.dtype}.")
    return items, _titles(titles, default)


def _displayable_rgb(m: np.ndarray) -> np.ndarray:
    """An RGB(A) image imshow can draw: uint8 as is, floats rescaled into [0, 1] if needed."""
    if m.dtype == np.uint8:
        return m
    m = m.astype(np.float64)
    lo, hi = np.nanmin(m), np.nanmax(m)
    if lo < 0 or hi > 1:
        m = (m - lo) / ((hi - lo) or 1.0)
    return m


def plot_feature_maps(
    maps: Mapping[str, np.ndarray] | np.ndarray | Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    cmap: str | Sequence[str] = "gray",
    robust: bool = False,
    ncols: int = 4,
    fig: Figure | None = None,
) -> Figure:
    """Show images or convolution feature maps in a grid, one panel each.

    Each 2-D map is drawn with its own colour scale (``cmap``), so a signed
    edge response shows 0 as mid-gray; an ``(h, w, 3)`` entry is drawn as an
    RGB picture (floats outside [0, 1] are rescaled to it).

    Parameters
    ----------
    maps : dict of str to ndarray, ndarray, or sequence of ndarray
        ``name -> map`` (names become titles); an array of shape ``(h, w, k)`` or
        ``(1, h, w, k)``, channels last as :func:`sknnedu.nn.conv.conv2d` returns
        them (``maps[..., i]`` is panel i); or a list of ``(h, w)`` maps and
        ``(h, w, 3)`` RGB images.
    titles : sequence of str, default=None
        One per map; None uses the dict keys or "map i".
    cmap : str or sequence of str, default='gray'
        Colormap of the 2-D maps, or one per map.
    robust : bool, default=False
        Scale each 2-D map's colours from its 1st to its 99th percentile instead
        of its minimum to maximum, so a few extreme responses (edge filters) do
        not wash out the rest.
    ncols : int, default=4
        Panels per row.
    fig : Figure, default=None
        An empty figure to draw into.

    Returns
    -------
    fig : Figure
        With one Axes per map.

    Raises
    ------
    ValueError
        For no maps, maps of the wrong shape or dtype, or a wrong number of
        titles or colormaps.
    """
    items, titles = _image_list(maps, titles)
    cmaps = [cmap] * len(items) if isinstance(cmap, str) else list(cmap)
    if len(cmaps) != len(items):
        raise ValueError(f"Got {len(cmaps)} colormaps for {len(items)} maps.")
    first = items[0].shape[:2]
    cell = (3.2, 3.2 * first[0] / first[1] + 0.4)
    fig, axes = _grid(len(items), _check_ncols(ncols), fig, cell=cell)
    for ax, m, title, cm in zip(axes, items, titles, cmaps):
        if m.ndim == 3:
            ax.imshow(_displayable_rgb(m))
        else:
            lo, hi = np.nanpercentile(m, [1, 99]) if robust else (None, None)
            ax.imshow(m, cmap=cm, vmin=lo, vmax=hi)
        _bare(ax)
        ax.set_title(f"{title}  {m.shape[0]}x{m.shape[1]}", fontsize=9)
    return fig
