"""Model selection and evaluation: confusion matrices and grid-search heat-maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._figure import _annotate, _one_ax

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
