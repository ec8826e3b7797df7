"""``sknnedu train``: fit a model on a folder of labelled images, report it, save it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from ._model import MODELS, NOTES_ACTIVATIONS, training_model, values_per_image
from ._report import format_confusion, grid_search, warnings_as_lines

#: ``train`` resizes to this (h, w) when the images differ in size or are large.
DEFAULT_IMAGE_SIZE = (32, 32)
#: Images with a side above this are resized to DEFAULT_IMAGE_SIZE by default.
MAX_SIDE = 64
#: ``--image-size`` allows at most this many pixels per side: what the model
#: computes grows with h * w, and 1024x1024 is already slow.
MAX_IMAGE_SIDE = 1024


def check_image_size(image_size: Sequence[int] | None, kind: str) -> None:
    """Refuse an ``--image-size`` too large to train on, before reading any image."""
    if image_size is not None and max(image_size) > MAX_IMAGE_SIDE:
        h, w = image_size
        raise ValueError(
            f"--image-size {h} {w} is too large: at most {MAX_IMAGE_SIDE} pixels per side "
            f"({values_per_image(kind, h, w)}); "
            f"{DEFAULT_IMAGE_SIZE[0]} {DEFAULT_IMAGE_SIZE[1]} is usually plenty"
        )


def _first_image_hw(folder: str) -> tuple[int, int] | None:
    """(h, w) of the first image load_image_folder would read (from its header only).

    None if there is none or its header cannot be read: load_image_folder then
    says what is wrong.
    """
    from ..datasets import image_folder_files, read_image_size

    if not Path(folder).is_dir():
        return None
    for _, files in image_folder_files(folder):
        for file in files:  # the first that has an image header: a stray file is skipped
            hw = read_image_size(file)
            if hw is not None:
                return hw
    return None


def load_training_images(folder: str, image_size: Sequence[int] | None, as_gray: bool):
    """load_image_folder, resizing to DEFAULT_IMAGE_SIZE when sizes differ or are large.

    Whether the images are large is read from the first one, so a folder of
    photos is never held at full size: each is shrunk as it is decoded. Files
    that are not readable images (``Thumbs.db``, ``notes.txt``) are skipped,
    each named in a warning line on stderr.
    """
    from ..datasets import load_image_folder  # scikit-image: imported only when needed

    def load(size):
        return load_image_folder(folder, image_size=size, as_gray=as_gray, on_error="skip")

    with warnings_as_lines():
        if image_size is not None:
            return load(tuple(image_size))
        first = _first_image_hw(folder)
        if first is not None and max(first) > MAX_SIDE:
            why = f"the images are large ({first[0]}x{first[1]})"
        else:
            try:
                return load(None)
            except ValueError as exc:
                if not str(exc).startswith("Images differ in size"):
                    raise
            why = "the images differ in size"
        print(f"{why}: resizing them all to {DEFAULT_IMAGE_SIZE[0]}x{DEFAULT_IMAGE_SIZE[1]} "
              "(choose another size with --image-size H W)")
        return load(DEFAULT_IMAGE_SIZE)


def check_classes(y: np.ndarray, folder: str) -> tuple[np.ndarray, np.ndarray]:
    """The classes and their counts; an error unless 2 classes of 2 images or more."""
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


def _check_out(path: str) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"Cannot save the model to '{out}': folder '{out.parent}' "
                                "does not exist")
    if out.is_dir():
        raise IsADirectoryError(f"--out '{out}' is a folder; give a file name such as "
                                "model.skops")
    return out


def cmd_train(args: argparse.Namespace) -> int:
    """Read the images, cross-validate the model, fit it on all of them and save it."""
    check_image_size(args.image_size, args.model)
    out = _check_out(args.out)
    ds = load_training_images(args.folder, args.image_size, args.gray)
    y = np.asarray(ds.target_names)[ds.target]
    classes, counts = check_classes(y, args.folder)
    print(ds.DESCR)
    print("images per class: " + ", ".join(f"{c} {n}" for c, n in zip(classes, counts)))
    n_folds = int(min(args.cv, counts.min()))
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    n_train = min(len(train) for train, _ in cv.split(ds.data, y))
    model, prefix = training_model(args.model, ds.image_shape, n_train)
    batch = getattr(model, "batch_size", None)
    note = f", batch_size={batch} (the smallest training fold)" if batch == n_train else ""
    print(f"model: {MODELS[args.model]}{note}")

    with warnings_as_lines():
        if args.search:
            grid = {f"{prefix}activation": list(NOTES_ACTIVATIONS),
                    f"{prefix}hidden_layer_sizes": [(64,), (128,)]}
            search = grid_search("grid search", model, grid, ds.data, y, cv=cv,
                                 n_jobs=args.n_jobs, verbose=0)
            model = search.best_estimator_
            note = " (of the best parameters, chosen on the same folds: optimistic)"
        else:
            note = ""
        print(f"\ncross-validating ({n_folds} folds) ...", flush=True)
        pred = cross_val_predict(clone(model), ds.data, y, cv=cv, n_jobs=args.n_jobs)
        accuracy = accuracy_score(y, pred)
        print(f"cross-validated accuracy: {accuracy:.4f}{note}")
        print(format_confusion(confusion_matrix(y, pred, labels=classes), classes))
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
    from ..persistence import save_model  # skops: imported only when needed

    save_model(model, out, metadata=metadata)
    print(f"\nmodel trained on all {len(y)} images and saved to {out}")
    return 0
