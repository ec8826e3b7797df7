"""Activation curves: g(z) and g'(z) of named activations (the notes' In[4] and In[5])."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..nn.activations import (
    ACTIVATIONS,
    DERIVATIVES,
    activation,
    activation_derivative,
    check_activation,
)
from ._figure import _check_ncols, _grid

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.figure import Figure


#: The four activations of the notes' In[4] and In[5], in their order.
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leakyrelu")


def plot_activations(
    names: str | Sequence[str] = DEFAULT_ACTIVATIONS,
    *,
    derivative: bool = False,
    z: np.ndarray | None = None,
    ncols: int = 2,
    fig: Figure | None = None,
) -> Figure:
    """Plot ``a = g(z)``, or ``g'(z)``, of each named activation in its own panel.

    With the defaults this is the 2x2 grid of the notes' In[4] (``derivative=False``)
    or In[5] (``derivative=True``). The derivative panels show why deep sigmoid
    networks learn slowly: ``g'(z) = g(z) (1 - g(z)) <= 1/4``, while ReLU's is 1
    for every ``z > 0``.

    Parameters
    ----------
    names : str or sequence of str, default=('sigmoid', 'tanh', 'relu', 'leakyrelu')
        Keys of :data:`sknnedu.nn.activations.ACTIVATIONS` (of ``DERIVATIVES`` when
        ``derivative=True``).
    derivative : bool, default=False
        Plot ``g'(z)`` instead of ``g(z)``.
    z : array-like of shape (n_points,), default=None
        Where to evaluate; None is the notes' ``np.arange(-3, 3, 0.01)``.
    ncols : int, default=2
        Panels per row.
    fig : Figure, default=None
        An empty figure to draw into; None makes a new one.

    Returns
    -------
    fig : Figure
        With one Axes per name.

    Raises
    ------
    ValueError
        For an unknown name, an empty list of names, or a ``z`` that is not 1-D.
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("names must hold at least one activation name, got none.")
    # Check every name before drawing anything, with the message activation() gives.
    table = DERIVATIVES if derivative else ACTIVATIONS
    what = "activation with a derivative" if derivative else "activation"
    for name in names:
        check_activation(name, table, what=what)
    z = np.arange(-3, 3, 0.01) if z is None else np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"z must be 1-D with at least 2 points, got shape {z.shape}.")
    fig, axes = _grid(len(names), _check_ncols(ncols), fig, cell=(4.0, 3.0))
    for ax, name in zip(axes, names):
        if derivative:
            ax.plot(z, activation_derivative(name, z), color="tab:red")
            ax.set_title(f"{name} (derivative)")
            ax.set_ylabel("g'(z)")
        else:
            ax.plot(z, activation(name, z), color="tab:blue")
            ax.set_title(name)
            ax.set_ylabel("g(z)")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_xlabel("z")
        ax.grid(alpha=0.3)
    return fig
