"""Training curves and gradients: losses per epoch, ||dJ/dW[l]|| per layer, gradient checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..gradcheck import relative_error
from ._figure import _named, _one_ax, _pyplot

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _fitted_array(obj: Any, name: str, attr: str, ndim: int, expected: str) -> np.ndarray:
    """``obj.<attr>`` of a fitted estimator, or ``obj`` itself, as a float array.

    ``expected`` says, for the error, what else ``obj`` could have been; the array
    must have ``ndim`` dimensions, none of them empty.
    """
    if hasattr(obj, "fit"):
        if not hasattr(obj, attr):
            raise ValueError(f"{name!r}: {type(obj).__name__} has no {attr}; fit it first.")
        obj = getattr(obj, attr)
    try:
        arr = np.asarray(obj, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name!r}: expected a fitted estimator with {attr} or {expected}, "
            f"got {type(obj).__name__}."
        ) from None
    if arr.ndim != ndim or 0 in arr.shape:
        raise ValueError(f"{name!r}: expected {expected}, non-empty, got shape {arr.shape}.")
    return arr


def _loss_curve(obj: Any, name: str) -> np.ndarray:
    return _fitted_array(obj, name, "loss_curve_", 1, "a 1-D sequence of losses")


def plot_loss_curves(
    curves: Mapping[str, Any] | Any,
    *,
    log: bool = False,
    title: str | None = "Training loss",
    ax: Axes | None = None,
) -> Figure:
    """Plot training loss against epoch, one line per estimator.

    Parameters
    ----------
    curves : dict of str to (estimator or sequence of float), or one of those
        ``name -> fitted estimator`` (its ``loss_curve_`` is plotted) or
        ``name -> list of losses``. The names are the legend.
    log : bool, default=False
        Logarithmic loss axis.
    title : str or None, default='Training loss'
    ax : Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    fig : Figure

    Raises
    ------
    ValueError
        For an empty mapping, an unfitted estimator, or a curve that is not a
        non-empty 1-D sequence of numbers.

    Examples
    --------
    >>> from sknnedu.plotting import plot_loss_curves
    >>> fig = plot_loss_curves({"sgd": [2.3, 1.4, 0.9], "adam": [2.3, 0.6, 0.3]}, log=True)
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['sgd', 'adam']

    With fitted estimators, ``plot_loss_curves({"adam": clf_adam, "sgd": clf_sgd})``.
    """
    named = {name: _loss_curve(obj, name) for name, obj in _named(curves, "loss").items()}
    fig, ax = _one_ax(ax, (6.0, 4.0))
    for name, curve in named.items():
        ax.plot(np.arange(1, curve.size + 1), curve, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss J")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _norms(obj: Any, name: str) -> np.ndarray:
    return _fitted_array(obj, name, "gradient_norms_", 2,
                         "an array of shape (n_epochs, n_layers)")


def plot_gradient_norms(
    norms: Mapping[str, Any] | Any,
    *,
    by: str = "layer",
    epoch: int = 0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the per-layer gradient norms ``||dJ/dW[l]||`` on a log scale.

    Backpropagation multiplies ``dz[l] = (dz[l+1] W[l+1]^T) * g'(z[l])`` layer by
    layer, so when ``|W| g'`` is below 1 the gradients of the early layers vanish
    geometrically, and when above 1 they explode. This is the picture of it.

    Parameters
    ----------
    norms : fitted NNClassifier, array of shape (n_epochs, n_layers), or dict of them
        ``gradient_norms_`` holds, per epoch, the mean Frobenius norm of every
        layer's ``dJ/dW[l]`` (first layer first). A dict draws one entry per name.
    by : {'layer', 'epoch'}, default='layer'
        ``'layer'``: norm against layer ``l = 1..L`` at one ``epoch``, one line
        per entry (the vanishing-gradient picture). ``'epoch'``: norm against
        epoch, one line per layer (coloured from first to last layer).
    epoch : int, default=0
        With ``by='layer'``: which epoch; 0 is the first (closest to the
        initialisation), -1 the last.
    title : str or None, default=None
        None gives a title that says what is plotted.
    ax : Axes, default=None

    Returns
    -------
    fig : Figure

    Raises
    ------
    ValueError
        For an unknown ``by``, an epoch out of range, an unfitted estimator or an
        array of the wrong shape.
    """
    if by not in ("layer", "epoch"):
        raise ValueError(f"by must be 'layer' or 'epoch', got {by!r}.")
    named = {name: _norms(obj, name) for name, obj in _named(norms, "gradient").items()}
    if by == "layer":
        for name, n in named.items():
            if not -n.shape[0] <= epoch < n.shape[0]:
                raise ValueError(
                    f"epoch={epoch} is out of range for {name!r}, which has {n.shape[0]} "
                    f"epoch(s); use 0 .. {n.shape[0] - 1} or a negative index."
                )
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = _one_ax(ax, (6.0, 4.0))
    if by == "layer":
        for name, n in named.items():
            layers = np.arange(1, n.shape[1] + 1)
            ax.plot(layers, n[epoch], marker="o", label=name)
        ax.set_xlabel("layer l (1 = first hidden layer, L = output)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        shown = {0: "first epoch", -1: "last epoch"}.get(epoch, f"epoch index {epoch}")
        default = f"Gradient norm per layer, {shown}"
    else:
        cmap = plt.get_cmap("viridis")
        styles = ["-", "--", ":", "-."]
        for k, (name, n) in enumerate(named.items()):
            L = n.shape[1]
            epochs = np.arange(1, n.shape[0] + 1)
            for l in range(L):
                label = f"W[{l + 1}]" if len(named) == 1 else f"{name}: W[{l + 1}]"
                ax.plot(epochs, n[:, l], color=cmap(l / max(L - 1, 1)),
                        ls=styles[k % len(styles)], label=label)
        ax.set_xlabel("epoch")
        only = next(iter(named)) if len(named) == 1 else None
        default = "Gradient norm per epoch" + (f": {only}" if only else "")
    ax.set_yscale("log")
    ax.set_ylabel("mean ||dJ/dW[l]||")
    ax.set_title(default if title is None else title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", ncol=2 if by == "epoch" else 1)
    return fig


def plot_gradient_check(
    backprop: np.ndarray,
    numeric: np.ndarray,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Scatter backpropagated against finite-difference derivatives, one dot per parameter.

    A correct backpropagation puts every dot on the diagonal. The title gives the
    largest relative error of :func:`sknnedu.gradcheck.relative_error`, as
    :func:`sknnedu.gradient_check` computes it.

    Parameters
    ----------
    backprop, numeric : array-like of shape (n_params,)
        The two gradients, e.g. from ``gradient_check(..., return_details=True)``.
    title : str or None, default=None
        None gives the largest relative error.
    ax : Axes, default=None

    Returns
    -------
    fig : Figure

    Raises
    ------
    ValueError
        If the two arrays are not 1-D, empty, or of different lengths.
    """
    bp = np.asarray(backprop, dtype=np.float64)
    fd = np.asarray(numeric, dtype=np.float64)
    if bp.ndim != 1 or bp.shape != fd.shape or bp.size == 0:
        raise ValueError(
            "backprop and numeric must be non-empty 1-D arrays of the same length, got "
            f"shapes {bp.shape} and {fd.shape}."
        )
    err = relative_error(bp, fd)
    fig, ax = _one_ax(ax, (5.0, 5.0))
    lim = float(max(np.abs(bp).max(), np.abs(fd).max())) * 1.05 or 1.0
    ax.plot([-lim, lim], [-lim, lim], color="0.6", lw=1, zorder=0, label="backprop = numeric")
    ax.scatter(fd, bp, s=14, color="tab:blue", label=f"{bp.size} parameters")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("finite differences (J(θ+h) - J(θ-h)) / 2h")
    ax.set_ylabel("backpropagation dJ/dθ")
    ax.set_title(f"max relative error = {err.max():.1e}" if title is None else title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return fig
