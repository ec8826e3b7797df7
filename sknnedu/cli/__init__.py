"""The ``sknnedu`` command line (also ``python -m sknnedu``).

::

    sknnedu demo [--quick] [--out DIR] [--n-jobs N]
    sknnedu train FOLDER --out MODEL [--model conv|cnn] [--image-size H W] [--gray]
                  [--search] [--cv K]
    sknnedu predict MODEL IMAGE...

``demo`` compares the notes' four activations on scikit-learn's 8x8 digits with
a convolutional pipeline (``ConvFeatureTransformer -> NNClassifier``), next to
plain ``MLPClassifier`` and a :class:`~sknnedu.CNNClassifier` at its defaults, and
draws the results. ``train --model cnn`` trains a CNNClassifier instead of the
pipeline. ``train`` fits the same kind of
pipeline on a folder of labelled images (one subfolder per class) and saves it
with :func:`sknnedu.persistence.save_model`; ``predict`` reads new images the
way the training images were read and prints one line per image.

The model every command uses is :func:`conv_pipeline`::

    image -> conv2d with 6 fixed 3x3 kernels (4 Sobel gradients, the Laplacian
             and the centre pixel), 'same' padding
          -> |z|                      (the sign of an edge does not matter)
          -> 2x2 average pooling      (a little translation invariance)
          -> standardised             (features of mean 0, variance 1, whatever the
                                       images' contrast and number of channels)
          -> NNClassifier(hidden_layer_sizes, activation)

The first four steps are ``ConvFeatureTransformer``'s defaults, but with
non-overlapping pooling windows (``pool_stride=None``): 4 times fewer features
for the network on large images, as accurate on the digits with 128 hidden units.

Expected failures (a missing path, an empty folder, a corrupt model, a model
that is not a fitted classifier, an image size too large, running out of
memory) print one line ``sknnedu: error: ...`` on stderr and exit with status 2.
``predict`` goes on past an unreadable image, as ``file`` does: one line per
image on stdout, one error line per bad one on stderr, status 2 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_predict,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import __version__
from .cnn import CNNClassifier
from .feature_extraction import DEFAULT_FILTERS, ConvFeatureTransformer
from .filters import filter_bank
from .neural_network import NNClassifier

__all__ = ["FILTER_NAMES", "build_parser", "conv_filters", "conv_pipeline", "main"]

PROG = "sknnedu"
#: Exit status of every expected failure (as argparse's usage errors).
EXIT_ERROR = 2
#: The notes' activations, compared by ``demo``.
NOTES_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leakyrelu")
#: MLPClassifier's names for the same (it has no leaky ReLU).
MLP_ACTIVATIONS = ("logistic", "tanh", "relu")
#: ``train`` resizes to this (h, w) when the images differ in size or are large.
DEFAULT_IMAGE_SIZE = (32, 32)
#: Images with a side above this are resized to DEFAULT_IMAGE_SIZE by default.
MAX_SIDE = 64
#: ``--image-size`` allows at most this many pixels per side: the network's
#: input grows with h * w (6 h w / 4 features), and 1024x1024 is already slow.
MAX_IMAGE_SIDE = 1024
#: Names of the kernels of :func:`conv_filters`, in order.
FILTER_NAMES = DEFAULT_FILTERS


# ----------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------
def conv_filters() -> np.ndarray:
    """The kernels of :func:`conv_pipeline`: the ``'edges'`` bank and the centre pixel.

    Returns
    -------
    kernels : ndarray of shape (6, 3, 3)
        ``sobel_x, sobel_y, sobel_diag, sobel_antidiag, laplacian`` (see
        :data:`sknnedu.filters.FILTERS`) and a kernel with a single 1 in the
        middle, which passes the image through (summed over the channels).
        2-D kernels are shared across the channels of colour images.
    """
    return filter_bank(FILTER_NAMES)


def conv_pipeline(
    image_shape: tuple[int, ...],
    *,
    hidden_layer_sizes: tuple = (128,),
    activation: str = "relu",
    max_iter: int = 200,
    random_state: int | None = 0,
) -> Pipeline:
    """The pipeline of ``sknnedu demo`` and ``sknnedu train``.

    ``ConvFeatureTransformer(pool_stride=None)``, its defaults (the kernels
    :data:`FILTER_NAMES`, ``|z|``, 2x2 average pooling, standardised features)
    with non-overlapping pooling windows, and an :class:`~sknnedu.NNClassifier`:
    on the digits an image of 8x8 pixels becomes ``4 * 4 * 6 = 96`` features.
    Standardising keeps the network's inputs near unit scale, which the summed
    responses of colour images (up to ``4 c`` for a Sobel kernel) are not.

    Parameters
    ----------
    image_shape : (h, w) or (h, w, c)
        Shape of one image; rows of ``X`` are images flattened channels-last.
    hidden_layer_sizes : tuple, default=(128,)
        Hidden layers of the network.
    activation : str, default='relu'
        Activation of the hidden layers.
    max_iter : int, default=200
        Epochs of adam.
    random_state : int or None, default=0
        Seed of the network's initialisation and shuffling.

    Returns
    -------
    pipeline : Pipeline
        Steps ``'conv'`` and ``'nn'``, unfitted.
    """
    return Pipeline([
        ("conv", ConvFeatureTransformer(image_shape=tuple(image_shape), pool_stride=None)),
        ("nn", NNClassifier(hidden_layer_sizes, activation, max_iter=max_iter,
                            random_state=random_state)),
    ])


# ----------------------------------------------------------------------------------------
# printing
# ----------------------------------------------------------------------------------------
def _format_confusion(cm: np.ndarray, names: Sequence[str]) -> str:
    """A confusion matrix as a text table, true classes down, predictions across."""
    names = [str(n) for n in names]
    width = max(max(len(n) for n in names), len(str(int(cm.max()))), 4)
    lines = ["confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(" " * width + "".join(f"  {n:>{width}}" for n in names))
    for name, row in zip(names, cm):
        lines.append(f"{name:<{width}}" + "".join(f"  {int(v):>{width}}" for v in row))
    return "\n".join(lines)


def _short_params(params: dict) -> str:
    """``{'nn__activation': 'relu'}`` -> ``'activation=relu'``."""
    return ", ".join(f"{k.rpartition('__')[2]}={v}" for k, v in params.items())


def _format_ranking(search: GridSearchCV) -> str:
    """The candidates of a fitted grid search, best first."""
    res = search.cv_results_
    order = np.argsort(res["rank_test_score"], kind="stable")
    lines = [f"{'rank':>4}  {'mean acc':>8}  {'std':>6}  {'fit (s)':>7}  parameters"]
    for i in order:
        lines.append(
            f"{res['rank_test_score'][i]:>4}  {res['mean_test_score'][i]:>8.4f}  "
            f"{res['std_test_score'][i]:>6.4f}  {res['mean_fit_time'][i]:>7.2f}  "
            f"{_short_params(res['params'][i])}"
        )
    return "\n".join(lines)


def _grid_search(title: str, estimator, grid: dict, X, y, *, cv, n_jobs: int,
                 verbose: int = 2) -> GridSearchCV:
    """Fit a GridSearchCV (progress on stdout) and print its ranked candidates."""
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    print(f"\n== {title}: {n_candidates} candidates x {cv.get_n_splits()} folds", flush=True)
    search = GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs, verbose=verbose)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    print(f"done in {time.perf_counter() - start:.1f} s\n{_format_ranking(search)}")
    print(f"best parameters: {_short_params(search.best_params_)} "
          f"(mean CV accuracy {search.best_score_:.4f})", flush=True)
    return search


# ----------------------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoSettings:
    """The budget of one ``sknnedu demo`` run (both models get the same)."""

    sizes: tuple
    max_iter: int
    cv: int
    cnn_max_iter: int = 100


DEMO = DemoSettings(sizes=((64,), (128,), (256,)), max_iter=200, cv=3)
QUICK_DEMO = DemoSettings(sizes=((64,),), max_iter=40, cv=2, cnn_max_iter=10)


def _cmd_demo(args: argparse.Namespace) -> int:
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

    conv = _grid_search(
        "ConvFeatureTransformer(6 kernels, |z|, avg-pool 2, standardised) -> NNClassifier",
        conv_pipeline((8, 8), max_iter=settings.max_iter),
        {"nn__activation": list(NOTES_ACTIVATIONS), "nn__hidden_layer_sizes": sizes},
        X_train, y_train, cv=cv, n_jobs=args.n_jobs)
    mlp = _grid_search(
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
    print(f"  conv + NNClassifier  {conv_acc:.4f}   {_short_params(conv.best_params_)}")
    print(f"  MLPClassifier        {mlp_acc:.4f}   {_short_params(mlp.best_params_)}")
    print(f"  CNNClassifier        {cnn_acc:.4f}   (defaults, no search)")
    print(_format_confusion(confusion_matrix(y_test, conv_pred), digits.target_names))

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


# ----------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------
def _first_image_hw(folder: str) -> tuple[int, int] | None:
    """(h, w) of the first image load_image_folder would read (from its header only).

    None if there is none or its header cannot be read: load_image_folder then
    says what is wrong.
    """
    from .datasets import image_folder_files, read_image_size

    if not Path(folder).is_dir():
        return None
    for _, files in image_folder_files(folder):
        if files:
            return read_image_size(files[0])
    return None


def _load_training_images(folder: str, image_size: Sequence[int] | None, as_gray: bool):
    """load_image_folder, resizing to DEFAULT_IMAGE_SIZE when sizes differ or are large.

    Whether the images are large is read from the first one, so a folder of
    photos is never held at full size: each is shrunk as it is decoded.
    """
    from .datasets import load_image_folder  # scikit-image: imported only when needed

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        ds, why = None, None
        if image_size is None:
            first = _first_image_hw(folder)
            if first is not None and max(first) > MAX_SIDE:
                why = f"the images are large ({first[0]}x{first[1]})"
            else:
                try:
                    ds = load_image_folder(folder, as_gray=as_gray)
                except ValueError as exc:
                    if not str(exc).startswith("Images differ in size"):
                        raise
                    why = "the images differ in size"
            if ds is None:
                image_size = DEFAULT_IMAGE_SIZE
                print(f"{why}: resizing them all to {image_size[0]}x{image_size[1]} "
                      "(choose another size with --image-size H W)")
        if ds is None:
            ds = load_image_folder(folder, image_size=tuple(image_size), as_gray=as_gray)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    return ds


def _check_classes(y: np.ndarray, folder: str) -> tuple[np.ndarray, np.ndarray]:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise ValueError(
            f"'{folder}' has images of only one class ('{classes[0]}'); a classifier needs "
            "at least 2 class subfolders with images")
    if counts.min() < 2:
        raise ValueError(
            f"class '{classes[counts.argmin()]}' has only 1 image; cross-validation needs "
            "at least 2 images per class")
    return classes, counts


def _check_train_size(image_size: Sequence[int] | None) -> None:
    """Refuse an ``--image-size`` too large to train on, before reading any image."""
    if image_size is not None and max(image_size) > MAX_IMAGE_SIDE:
        h, w = image_size
        raise ValueError(
            f"--image-size {h} {w} is too large: at most {MAX_IMAGE_SIDE} pixels per side "
            f"(each image would give {6 * (-(-h // 2)) * (-(-w // 2)):,} features); "
            f"{DEFAULT_IMAGE_SIZE[0]} {DEFAULT_IMAGE_SIZE[1]} is usually plenty")


MODELS = {
    "conv": "ConvFeatureTransformer (fixed named filters) -> NNClassifier",
    "cnn": "CNNClassifier (convolutions learned end to end)",
}


def _describe_model(kind: str) -> str:
    return MODELS[kind]


def _cmd_train(args: argparse.Namespace) -> int:
    _check_train_size(args.image_size)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"Cannot save the model to '{out}': folder '{out.parent}' "
                                "does not exist")
    if out.is_dir():
        raise IsADirectoryError(f"--out '{out}' is a folder; give a file name such as "
                                "model.skops")
    ds = _load_training_images(args.folder, args.image_size, args.gray)
    y = np.asarray(ds.target_names)[ds.target]
    classes, counts = _check_classes(y, args.folder)
    print(ds.DESCR)
    print("images per class: " + ", ".join(f"{c} {n}" for c, n in zip(classes, counts)))
    n_folds = int(min(args.cv, counts.min()))
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)

    if args.model == "cnn":
        model, prefix = CNNClassifier(image_shape=ds.image_shape, random_state=0), ""
    else:
        model, prefix = conv_pipeline(ds.image_shape), "nn__"
    print(f"model: {_describe_model(args.model)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if args.search:
            grid = {f"{prefix}activation": list(NOTES_ACTIVATIONS),
                    f"{prefix}hidden_layer_sizes": [(64,), (128,)]}
            search = _grid_search("grid search", model, grid, ds.data, y, cv=cv,
                                  n_jobs=args.n_jobs, verbose=0)
            model = search.best_estimator_
            note = " (of the best parameters, chosen on the same folds: optimistic)"
        else:
            note = ""
        print(f"\ncross-validating ({n_folds} folds) ...", flush=True)
        pred = cross_val_predict(clone(model), ds.data, y, cv=cv, n_jobs=args.n_jobs)
        accuracy = accuracy_score(y, pred)
        print(f"cross-validated accuracy: {accuracy:.4f}{note}")
        print(_format_confusion(confusion_matrix(y, pred, labels=classes), classes))
        if not args.search:
            model.fit(ds.data, y)

    metadata = {
        "class_names": [str(c) for c in classes],
        "image_size": [int(s) for s in ds.image_shape[:2]],
        "as_gray": bool(args.gray),
        "image_shape": [int(s) for s in ds.image_shape],
        "n_images": int(len(y)),
        "cv_accuracy": float(accuracy),
        "cv_folds": n_folds,
    }
    from .persistence import save_model  # skops: imported only when needed

    save_model(model, out, metadata=metadata)
    print(f"\nmodel trained on all {len(y)} images and saved to {out}")
    return 0


# ----------------------------------------------------------------------------------------
# predict
# ----------------------------------------------------------------------------------------
def _image_settings(metadata: dict, path: str) -> tuple[tuple[int, int], bool]:
    """``image_size`` and ``as_gray`` from a model's metadata, checked."""
    size = metadata.get("image_size")
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(s, int) and s > 0 for s in size)):
        raise ValueError(f"{path} has no valid image_size in its metadata ({size!r}); "
                         "was it saved by `sknnedu train`?")
    return (size[0], size[1]), bool(metadata.get("as_gray", False))


def _check_classifier(model, path: str) -> None:
    """Refuse a model ``predict`` cannot use: no ``predict_proba``/``classes_``, or unfitted."""
    if not (hasattr(model, "predict_proba") and hasattr(model, "fit")):
        raise ValueError(f"{path} holds a {type(model).__name__} that has no predict_proba; "
                         "sknnedu predict needs a classifier such as the one `sknnedu train` "
                         "saves")
    try:
        check_is_fitted(model)
        model.classes_  # noqa: B018 (a Pipeline forwards it to its last step)
    except (AttributeError, NotFittedError, TypeError):
        raise ValueError(f"{path} holds an unfitted {type(model).__name__}; save a fitted "
                         "classifier (sknnedu train does)") from None


def _cmd_predict(args: argparse.Namespace) -> int:
    """One line per image on stdout, one error line per unreadable image on stderr.

    As ``file`` and ``identify`` do, a bad path does not stop the others; the exit
    status is then EXIT_ERROR.
    """
    from .datasets import load_image
    from .persistence import load_model

    model, metadata = load_model(args.model, return_metadata=True)
    _check_classifier(model, args.model)
    image_size, as_gray = _image_settings(metadata, args.model)
    rows: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}
    for i, path in enumerate(args.images):
        try:
            rows[i] = load_image(path, image_size=image_size, as_gray=as_gray).ravel()
        except (OSError, ValueError) as exc:
            errors[i] = _describe(exc)
    if rows:
        proba = model.predict_proba(np.stack(list(rows.values())))
        best = proba.argmax(axis=1)
        results = dict(zip(rows, zip(best, proba[np.arange(len(proba)), best])))
    for i, path in enumerate(args.images):
        if i in errors:
            print(f"{PROG}: error: {errors[i]}", file=sys.stderr, flush=True)
        else:
            k, p = results[i]
            print(f"{path}\t{model.classes_[k]}\t{p:.4f}", flush=True)
    return EXIT_ERROR if errors else 0


# ----------------------------------------------------------------------------------------
# argument parsing and main
# ----------------------------------------------------------------------------------------
def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer or -1 (all cores)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sknnedu`` and its subcommands.

    Returns
    -------
    parser : argparse.ArgumentParser
        Each subcommand stores its handler in ``func``.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Neural networks and convolutional features written from scratch in "
                    "numpy, with scikit-learn's API.",
        epilog="Run 'sknnedu COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True,
                                metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="compare activations on the digits, with pictures",
        description="Grid-search the notes' four activations and a few layer sizes for a "
                    "ConvFeatureTransformer -> NNClassifier pipeline on scikit-learn's 8x8 "
                    "digits, compare with MLPClassifier, and draw the results.")
    demo.add_argument("--quick", action="store_true",
                      help="fewer candidates and epochs, 2 folds (about 10 s)")
    demo.add_argument("--out", default="sknnedu-output", metavar="DIR",
                      help="folder for the PNG pictures (default: %(default)s)")
    demo.add_argument("--n-jobs", type=_n_jobs, default=2, metavar="N",
                      help="parallel fits, -1 for all cores (default: %(default)s)")
    demo.set_defaults(func=_cmd_demo)

    train = sub.add_parser(
        "train", help="train on a folder of labelled images and save the model",
        description="Train a ConvFeatureTransformer -> NNClassifier pipeline on FOLDER, "
                    "which holds one subfolder of images per class; print its "
                    "cross-validated accuracy and confusion matrix; save it to MODEL.")
    train.add_argument("folder", metavar="FOLDER", help="folder with one subfolder per class")
    train.add_argument("--out", required=True, metavar="MODEL",
                       help="file to save the model to (e.g. model.skops)")
    train.add_argument("--image-size", nargs=2, type=_int_at_least(1), metavar=("H", "W"),
                       help="resize every image to H x W pixels (default: keep the size "
                            f"when all images share one up to {MAX_SIDE}x{MAX_SIDE}, else "
                            f"{DEFAULT_IMAGE_SIZE[0]}x{DEFAULT_IMAGE_SIZE[1]})")
    train.add_argument("--gray", action="store_true", help="convert the images to grayscale")
    train.add_argument("--model", choices=sorted(MODELS), default="conv",
                       help="conv: fixed filters then a dense network; cnn: a convolutional "
                            "network that learns its filters (default: %(default)s)")
    train.add_argument("--search", action="store_true",
                       help="grid-search the activation and hidden layer size")
    train.add_argument("--cv", type=_int_at_least(2), default=5, metavar="K",
                       help="cross-validation folds, at most the smallest class's count "
                            "(default: %(default)s)")
    train.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                       help="parallel fits, -1 for all cores (default: %(default)s)")
    train.set_defaults(func=_cmd_train)

    predict = sub.add_parser(
        "predict", help="classify images with a saved model",
        description="Print 'path<TAB>class<TAB>probability' for each IMAGE, read as the "
                    "training images were (size, grayscale). An unreadable IMAGE gets an "
                    "error line on stderr instead, the others are still classified, and the "
                    "exit status is 2.")
    predict.add_argument("model", metavar="MODEL", help="a model saved by 'sknnedu train'")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    predict.set_defaults(func=_cmd_predict)
    return parser


def _describe(exc: BaseException) -> str:
    """One line for an expected error."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: '{exc.filename}'"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on an expected error (reported as one line
        ``sknnedu: error: ...`` on stderr) or a usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse reported
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print(f"{PROG}: error: out of memory; use smaller images (--image-size) or fewer "
              "of them", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
