"""``sknnedu predict``: classify images with a model ``sknnedu train`` saved."""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._report import EXIT_ERROR, PROG, describe


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


def cmd_predict(args: argparse.Namespace) -> int:
    """One line per image on stdout, one error line per unreadable image on stderr.

    As ``file`` and ``identify`` do, a bad path does not stop the others; the exit
    status is then EXIT_ERROR.
    """
    from ..datasets import load_image
    from ..persistence import load_model

    model, metadata = load_model(args.model, return_metadata=True)
    _check_classifier(model, args.model)
    image_size, as_gray = _image_settings(metadata, args.model)
    rows: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}
    for i, path in enumerate(args.images):
        try:
            rows[i] = load_image(path, image_size=image_size, as_gray=as_gray).ravel()
        except (OSError, ValueError) as exc:
            errors[i] = describe(exc)
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
