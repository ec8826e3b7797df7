"""Pictures of the notes' ideas: activations, training curves, gradients, kernels, feature maps.

matplotlib is the optional ``plot`` extra (``pip install sknnedu[plot]``); it is
imported only when one of these functions is called, and a clear ImportError
says how to install it when it is missing.

Every function returns the :class:`matplotlib.figure.Figure` it drew on.
Functions that draw one panel take ``ax=None`` (draw into that Axes, or into a
new figure); functions that draw a grid of panels take ``fig=None`` (an empty
Figure to fill, or a new one). Nothing is shown or saved: call
``fig.savefig(path)`` or ``plt.show()``.

* :func:`plot_activations`: g(z) or g'(z) of named activations (the notes' In[4], In[5]);
* :func:`plot_loss_curves`: ``loss_curve_`` of estimators, or raw curves;
* :func:`plot_gradient_norms`: ``gradient_norms_``, ``||dJ/dW[l]||`` per layer and epoch;
* :func:`plot_gradient_check`: backpropagation against finite differences;
* :func:`plot_hidden_units`: the weights into each hidden unit (symmetry);
* :func:`plot_filters`: convolution kernels with their values;
* :func:`plot_feature_maps`: images and feature maps in a grid;
* :func:`plot_confusion_matrix`: counts of (true, predicted) label pairs;
* :func:`plot_grid_heatmap`: a grid search's score over two of its parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .gradcheck import relative_error
from .nn.activations import ACTIVATIONS, DERIVATIVES, activation, activation_derivative

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_ACTIVATIONS",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_gradient_check",
    "plot_gradient_norms",
    "plot_grid_heatmap",
    "plot_hidden_units",
    "plot_loss_curves",
]

#: The four activations of the notes' In[4] and In[5], in their order.
DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leakyrelu")


# ----------------------------------------------------------------------------------------
# figure plumbing
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# activations (the notes' In[4] and In[5])
# ----------------------------------------------------------------------------------------
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
    table = DERIVATIVES if derivative else ACTIVATIONS
    for name in names:
        if not isinstance(name, str) or name not in table:
            what = "activation with a derivative" if derivative else "activation"
            raise ValueError(f"Unknown {what} {name!r}; expected one of {sorted(table)}.")
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


# ----------------------------------------------------------------------------------------
# training curves and gradients
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# weights, kernels and images
# ----------------------------------------------------------------------------------------
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


def _titles(titles: Sequence[str] | None, default: list[str]) -> list[str]:
    if titles is None:
        return default
    titles = [str(t) for t in titles]
    if len(titles) != len(default):
        raise ValueError(f"Got {len(titles)} titles for {len(default)} panels.")
    return titles


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


# ----------------------------------------------------------------------------------------
# model selection and evaluation
# ----------------------------------------------------------------------------------------
def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    labels: Sequence | None = None,
    *,
    normalize: bool = False,
    cmap: str = "Blues",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heat-map of the confusion matrix: row = true class, column = predicted class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    labels : sequence, default=None
        Classes to show, in this order; None is every class in ``y_true`` or
        ``y_pred``, sorted.
    normalize : bool, default=False
        Divide each row by its total, so cells are the share of each true class
        (the diagonal is the recall).
    cmap : str, default='Blues'
    title : str or None, default=None
        None gives the accuracy.
    ax : Axes, default=None

    Returns
    -------
    fig : Figure

    Raises
    ------
    ValueError
        If ``y_true`` and ``y_pred`` differ in length or are empty.

    Examples
    --------
    >>> from sknnedu.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix(["cat", "dog", "cat"], ["cat", "cat", "cat"])
    >>> fig.axes[0].get_title()
    'accuracy = 0.667 (3 samples)'
    """
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1 or y_true.size != y_pred.size or y_true.size == 0:
        raise ValueError(
            "y_true and y_pred must be non-empty 1-D arrays of the same length, got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = list(labels)
    C = confusion_matrix(y_true, y_pred, labels=labels)
    shown = C.astype(np.float64)
    if normalize:
        totals = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
    side = max(4.0, 1.0 + 0.45 * len(labels))
    fig, ax = _one_ax(ax, (side + 0.4, side))
    image = ax.imshow(shown, cmap=cmap, vmin=0, interpolation="nearest")
    _annotate(ax, shown, ".2f" if normalize else ".0f", image,
              fontsize=9 if len(labels) <= 12 else 6)
    ticks = np.arange(len(labels))
    ax.set_xticks(ticks, [str(v) for v in labels], rotation=45 if len(labels) > 6 else 0)
    ax.set_yticks(ticks, [str(v) for v in labels])
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    accuracy = np.trace(C) / max(C.sum(), 1)
    ax.set_title(f"accuracy = {accuracy:.3f} ({y_true.size} samples)" if title is None
                 else title)
    return fig


def _param_column(cv_results: Mapping, param: str) -> tuple[str, Any]:
    key = param if param.startswith("param_") else f"param_{param}"
    if key not in cv_results:
        known = sorted(k[len("param_"):] for k in cv_results if k.startswith("param_"))
        raise ValueError(f"Unknown parameter {param!r}; cv_results has {known}.")
    return key[len("param_"):], cv_results[key]


def plot_grid_heatmap(
    cv_results: Mapping[str, Any] | Any,
    row_param: str,
    col_param: str,
    *,
    score: str = "mean_test_score",
    fmt: str = ".3f",
    cmap: str = "viridis",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heat-map of a grid search score over two of its parameters.

    Rows are the values of ``row_param``, columns those of ``col_param``, in the
    order they first appear in the grid. If other parameters were searched too,
    each cell shows the best score over them.

    Parameters
    ----------
    cv_results : dict or fitted GridSearchCV
        The search's ``cv_results_`` (or the search itself).
    row_param, col_param : str
        Parameter names as in the grid (``'activation'``, ``'clf__alpha'``); the
        ``'param_'`` prefix of ``cv_results_`` is optional.
    score : str, default='mean_test_score'
        Which ``cv_results_`` column to show (e.g. ``'mean_train_score'`` or
        ``'mean_fit_time'``).
    fmt : str, default='.3f'
        Format of the numbers written in the cells.
    cmap : str, default='viridis'
    title : str or None, default=None
        None uses ``score``.
    ax : Axes, default=None

    Returns
    -------
    fig : Figure

    Raises
    ------
    ValueError
        For an unknown parameter or score column, or no results.

    Examples
    --------
    >>> from sknnedu.plotting import plot_grid_heatmap
    >>> results = {"param_activation": ["relu", "relu", "tanh", "tanh"],
    ...            "param_alpha": [0.1, 1.0, 0.1, 1.0],
    ...            "mean_test_score": [0.9, 0.8, 0.85, 0.7]}
    >>> fig = plot_grid_heatmap(results, "activation", "alpha")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['relu', 'tanh']
    """
    if not isinstance(cv_results, Mapping):
        if not hasattr(cv_results, "cv_results_"):
            raise ValueError(
                "cv_results must be a search's cv_results_ dict or a fitted search with "
                f"cv_results_, got {type(cv_results).__name__}."
            )
        cv_results = cv_results.cv_results_
    row_name, rows = _param_column(cv_results, row_param)
    col_name, cols = _param_column(cv_results, col_param)
    if score not in cv_results:
        known = sorted(k for k in cv_results if not k.startswith(("param", "split")))
        raise ValueError(f"Unknown score {score!r}; cv_results has {known}.")
    values = np.asarray(cv_results[score], dtype=np.float64)
    masked = np.ma.getmaskarray(rows) | np.ma.getmaskarray(cols)
    row_keys: dict[str, int] = {}
    col_keys: dict[str, int] = {}
    cells = []
    for r, c, v, m in zip(list(rows), list(cols), values, masked):
        if m:  # this candidate's grid did not have both parameters
            continue
        i = row_keys.setdefault(str(r), len(row_keys))
        j = col_keys.setdefault(str(c), len(col_keys))
        cells.append((i, j, v))
    if not cells:
        raise ValueError(f"No candidate in cv_results sets both {row_name!r} and {col_name!r}.")
    M = np.full((len(row_keys), len(col_keys)), np.nan)
    for i, j, v in cells:
        M[i, j] = v if np.isnan(M[i, j]) else max(M[i, j], v)
    fig, ax = _one_ax(ax, (1.6 + 1.2 * M.shape[1], 1.2 + 0.6 * M.shape[0]))
    image = ax.imshow(M, cmap=cmap, aspect="auto", interpolation="nearest")
    _annotate(ax, M, fmt, image)
    ax.set_xticks(np.arange(M.shape[1]), list(col_keys))
    ax.set_yticks(np.arange(M.shape[0]), list(row_keys))
    ax.set_xlabel(col_name)
    ax.set_ylabel(row_name)
    ax.set_title(score if title is None else title)
    return fig
