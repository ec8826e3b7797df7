"""``sknnedu demo``: the notes' activations compared on the digits, with pictures."""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier

from .. import __version__
from ..cnn import CNNClassifier
from ..feature_extraction import ConvFeatureTransformer
from ._model import FILTER_NAMES, MLP_ACTIVATIONS, NOTES_ACTIVATIONS, conv_pipeline
from ._report import format_confusion, grid_search, short_params


@dataclass(frozen=True)
class DemoSettings:
    """The budget of one ``sknnedu demo`` run (both models get the same)."""

    sizes: tuple
    max_iter: int
    cv: int
    cnn_max_iter: int = 100


DEMO = DemoSettings(sizes=((64,), (128,), (256,)), max_iter=200, cv=3)
QUICK_DEMO = DemoSettings(sizes=((64,),), max_iter=40, cv=2, cnn_max_iter=10)


def cmd_demo(args: argparse.Namespace) -> int:
    """Grid-search the conv pipeline and MLPClassifier, fit a CNN, print and draw the results."""
    start = time.perf_counter()
    settings = QUICK_DEMO if args.quick else DEMO
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    print(f"sknnedu {__version__} demo{' (quick)' if args.quick else ''}: "
          f"scikit-learn's digits, {len(X)} images of 8x8 pixels in 10 classes; "
          f"{len(X_train)} to train, {len(X_test)} held out")
    cv = StratifiedKFold(settings.cv, shuffle=True, random_state=0)
    sizes = list(settings.sizes)

    conv = grid_search(
        "ConvFeatureTransformer(6 kernels, |z|, avg-pool 2, standardised) -> NNClassifier",
        conv_pipeline((8, 8), max_iter=settings.max_iter),
        {"nn__activation": list(NOTES_ACTIVATIONS), "nn__hidden_layer_sizes": sizes},
        X_train, y_train, cv=cv, n_jobs=args.n_jobs)
    mlp = grid_search(
        "sklearn MLPClassifier on the raw pixels (same budget)",
        MLPClassifier(max_iter=settings.max_iter, random_state=0),
        {"activation": list(MLP_ACTIVATIONS), "hidden_layer_sizes": sizes},
        X_train, y_train, cv=cv, n_jobs=args.n_jobs)

    print("\n== CNNClassifier (defaults: two 32-filter 3x3 convolutions, 2x2 max pooling, "
          "(64,) dense), trained end to end", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cnn = CNNClassifier(image_shape=(8, 8), max_iter=settings.cnn_max_iter,
                            random_state=0).fit(X_train, y_train)
    cnn_acc = cnn.score(X_test, y_test)
    print(f"  {cnn.n_iter_} epochs")

    conv_pred = conv.predict(X_test)
    conv_acc = accuracy_score(y_test, conv_pred)
    mlp_acc = mlp.score(X_test, y_test)
    print(f"\n== hold-out accuracy on {len(X_test)} digits (best model refit on "
          f"{len(X_train)})")
    print(f"  conv + NNClassifier  {conv_acc:.4f}   {short_params(conv.best_params_)}")
    print(f"  MLPClassifier        {mlp_acc:.4f}   {short_params(mlp.best_params_)}")
    print(f"  CNNClassifier        {cnn_acc:.4f}   (defaults, no search)")
    print(format_confusion(confusion_matrix(y_test, conv_pred), digits.target_names))

    paths = _demo_pictures(Path(args.out), conv, mlp, X_test, y_test, conv_pred)
    if paths is None:
        print("\nmatplotlib is not installed: pictures skipped "
              "(pip install 'sknnedu[plot]' to get them)")
    else:
        print(f"\npictures written to {args.out}:")
        for path in paths:
            print(f"  {path}")
    print(f"\ntotal time {time.perf_counter() - start:.1f} s")
    return 0


def _demo_pictures(out: Path, conv: GridSearchCV, mlp: GridSearchCV, X_test, y_test,
                   pred) -> list[Path] | None:
    """Write the demo's PNGs into ``out``; None when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    out.mkdir(parents=True, exist_ok=True)
    drawings = {  # file name -> (figure size in inches, drawing)
        "loss_curve.png": ((8, 5), lambda fig: _plot_loss(fig, conv, mlp)),
        "confusion_matrix.png": ((7, 6), lambda fig: _plot_confusion(fig, y_test, pred)),
        "filters.png": ((10, 3.6), lambda fig: _plot_filters(
            fig, conv.best_estimator_["conv"], X_test[0])),
        "grid_heatmap.png": ((9, 5), lambda fig: _plot_grids(fig, conv, mlp)),
    }
    paths = []
    for name, (size, draw) in drawings.items():
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        path = out / name
        fig.savefig(path, dpi=100)
        paths.append(path)
    return paths


def _plot_loss(fig, conv: GridSearchCV, mlp: GridSearchCV) -> None:
    ax = fig.subplots()
    ax.plot(conv.best_estimator_["nn"].loss_curve_, label="conv + NNClassifier")
    ax.plot(mlp.best_estimator_.loss_curve_, label="MLPClassifier")
    ax.set(xlabel="epoch", ylabel="training loss (cross-entropy)", yscale="log",
           title="Loss of the best models, refit on the training set")
    ax.legend()


def _plot_confusion(fig, y_true, y_pred) -> None:
    cm = confusion_matrix(y_true, y_pred)
    ax = fig.subplots()
    im = ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set(xticks=range(len(cm)), yticks=range(len(cm)), xlabel="predicted digit",
           ylabel="true digit",
           title=f"conv + NNClassifier on the hold-out set "
                 f"(accuracy {np.trace(cm) / cm.sum():.4f})")
    fig.colorbar(im, ax=ax)


def _plot_filters(fig, conv: ConvFeatureTransformer, image: np.ndarray) -> None:
    """Top row: the kernels; bottom row: their pooled |response| to one digit."""
    kernels = conv.kernels_[..., 0]
    maps = conv.transform(image[None, :]).reshape(conv.output_shape_)
    k = len(kernels)
    axes = fig.subplots(2, k + 1)
    axes[0, 0].imshow(image.reshape(conv.image_shape_[:2]), cmap="gray_r")
    axes[0, 0].set_title("input")
    for i in range(k):
        lim = np.abs(kernels[i]).max()
        axes[0, i + 1].imshow(kernels[i], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, i + 1].set_title(FILTER_NAMES[i] if i < len(FILTER_NAMES) else f"filter{i}",
                                 fontsize=8)
        axes[1, i + 1].imshow(maps[..., i], cmap="magma")
    axes[1, 0].text(0.5, 0.5, "|response|\navg-pooled", ha="center", va="center")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.suptitle("The convolution's kernels and what they see in a held-out digit")


def _grid_matrix(search: GridSearchCV) -> tuple[list[str], list[str], np.ndarray]:
    """Mean CV accuracy as an (activation x hidden_layer_sizes) matrix."""
    params = search.cv_results_["params"]
    act_key = next(k for k in params[0] if k.endswith("activation"))
    size_key = next(k for k in params[0] if k.endswith("hidden_layer_sizes"))
    acts = list(dict.fromkeys(p[act_key] for p in params))
    sizes = list(dict.fromkeys(str(p[size_key]) for p in params))
    grid = np.full((len(acts), len(sizes)), np.nan)
    for p, score in zip(params, search.cv_results_["mean_test_score"]):
        grid[acts.index(p[act_key]), sizes.index(str(p[size_key]))] = score
    return acts, sizes, grid


def _plot_grids(fig, conv: GridSearchCV, mlp: GridSearchCV) -> None:
    matrices = [_grid_matrix(conv), _grid_matrix(mlp)]
    lo = min(np.nanmin(m[2]) for m in matrices)
    hi = max(np.nanmax(m[2]) for m in matrices)
    axes = fig.subplots(1, 2)
    for ax, (acts, sizes, grid), title in zip(axes, matrices,
                                              ["conv + NNClassifier", "MLPClassifier"]):
        im = ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi)
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="white")
        ax.set(xticks=range(len(sizes)), xticklabels=sizes, yticks=range(len(acts)),
               yticklabels=acts, xlabel="hidden_layer_sizes", title=title)
    fig.colorbar(im, ax=axes, label="mean CV accuracy")
