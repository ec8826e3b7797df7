"""Figure plumbing shared by the plotting modules: pyplot on demand, panels, labels.

matplotlib is imported only inside :func:`_pyplot`, so importing
:mod:`sknnedu.plotting` works without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sknnedu.plotting needs matplotlib, which is the optional 'plot' extra: "
            "pip install sknnedu[plot]"
        ) from exc
    return plt


def _one_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """``(ax.figure, ax)``, or a new figure with one Axes."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _grid(
    n: int, ncols: int, fig: Figure | None, cell: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    """``n`` Axes in rows of ``ncols`` on ``fig`` (new if None); unused cells removed."""
    plt = _pyplot()
    ncols = max(1, min(n, ncols))
    nrows = math.ceil(n / ncols)
    if fig is None:
        fig = plt.figure(figsize=(cell[0] * ncols, cell[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return fig, list(axes[:n])


def _check_ncols(ncols: Any) -> int:
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}.")
    return int(ncols)


def _bare(ax: Axes) -> None:
    """Hide the ticks of an image panel."""
    ax.set_xticks([])
    ax.set_yticks([])


def _annotate(ax: Axes, M: np.ndarray, fmt: str, image, *, fontsize: float = 9) -> None:
    """Write every finite value of ``M`` in its cell, white on dark cells."""
    cmap, norm = image.get_cmap(), image.norm
    for (i, j), v in np.ndenumerate(M):
        if not np.isfinite(v):
            continue
        r, g, b, _ = cmap(norm(v))
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=fontsize,
                color="white" if dark else "black")


def _named(obj: Any, default: str) -> dict[str, Any]:
    """A Mapping as a dict; anything else as ``{default: obj}``."""
    if isinstance(obj, Mapping):
        if not obj:
            raise ValueError("Expected at least one entry, got an empty mapping.")
        return {str(k): v for k, v in obj.items()}
    return {default: obj}


def _titles(titles: Sequence[str] | None, default: list[str]) -> list[str]:
    if titles is None:
        return default
    titles = [str(t) for t in titles]
    if len(titles) != len(default):
        raise ValueError(f"Got {len(titles)} titles for {len(default)} panels.")
    return titles
