"""``class_weight`` of the classifiers: what it may be, and the per-sample weights it gives.

A dict ``{class: weight}`` weighs each sample by its class (classes it does not name
weigh 1); ``'balanced'`` weighs a class by ``n_samples / (n_classes * count)``; for a
multilabel ``y`` (an indicator matrix of k labels), a list of k dicts
``{0: weight, 1: weight}`` weighs a sample by the product over its labels, as
:func:`sklearn.utils.class_weight.compute_sample_weight` reads such a list.
"""

from __future__ import annotations

import numbers
import reprlib

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight


def _check_weights(weights: dict, name: str) -> None:
    """A class_weight dict maps classes to finite weights >= 0, as sample_weight."""
    for cls, w in weights.items():
        if not (isinstance(w, numbers.Real) and np.isfinite(w) and w >= 0):
            raise ValueError(
                f"{name} must map classes to finite weights >= 0, as sample_weight; got "
                f"{w!r} for class {cls!r}."
            )


def check_class_weight(class_weight) -> None:
    """Refuse a ``class_weight`` that is none of the kinds above, saying what it may be."""
    cw = class_weight
    if isinstance(cw, (list, tuple)) and cw and all(isinstance(d, dict) for d in cw):
        for k, d in enumerate(cw):
            _check_weights(d, f"class_weight[{k}]")
    elif isinstance(cw, dict):
        _check_weights(cw, "class_weight")
    elif not (cw is None or (isinstance(cw, str) and cw == "balanced")):
        got = reprlib.repr(cw) if isinstance(cw, (str, list, tuple)) else (
            f"{type(cw).__name__} {reprlib.repr(cw)}")
        hint = (" For one weight per class, in the order of classes_, pass "
                "dict(zip(classes, weights)); to weigh samples, pass sample_weight to fit."
                if hasattr(cw, "__len__") and not isinstance(cw, str) else "")
        raise ValueError(
            "class_weight must be None, 'balanced' or a dict {class: weight} (for a "
            "multilabel y, a list of dicts {0: weight, 1: weight}, one per label); "
            f"got {got}.{hint}"
        )


def _multilabel_weights(class_weight, Y: np.ndarray) -> np.ndarray:
    """The product over the k labels of a multilabel Y (n, k) of 0/1."""
    if isinstance(class_weight, str):
        return compute_sample_weight(class_weight, Y)
    k = Y.shape[1]
    if isinstance(class_weight, dict) or len(class_weight) != k:
        got = "a dict" if isinstance(class_weight, dict) else f"{len(class_weight)} dicts"
        raise ValueError(
            f"For a multilabel y of {k} labels, class_weight must be 'balanced' or a list of "
            f"{k} dicts, one per label, each {{0: weight, 1: weight}} (as "
            f"sklearn.utils.class_weight.compute_sample_weight); got {got}."
        )
    weights = np.ones(len(Y))
    for j, label_weights in enumerate(class_weight):  # a loop over labels, not samples
        unknown = sorted(set(label_weights) - {0, 1}, key=repr)
        if unknown:
            raise ValueError(
                f"class_weight[{j}] has keys {unknown}; the values of a label of a multilabel "
                "y are 0 and 1."
            )
        weights *= np.where(Y[:, j] == 1, float(label_weights.get(1, 1.0)),
                            float(label_weights.get(0, 1.0)))
    return weights


def class_sample_weights(class_weight, y: np.ndarray, classes: np.ndarray, y_type: str,
                         incremental: bool) -> np.ndarray:
    """The weight of each sample's class (or labels), of shape (n_samples,).

    Parameters
    ----------
    class_weight : dict, list of dict or 'balanced'
        Checked by :func:`check_class_weight`.
    y : ndarray of shape (n_samples,), or (n_samples, k) when multilabel
        The labels.
    classes : ndarray
        The estimator's ``classes_``: a dict's weights belong to them (as
        SGDClassifier's), so a chunk of ``partial_fit`` may lack some.
    y_type : {'binary', 'multiclass', 'multilabel'}
        What ``y`` is.
    incremental : bool
        Whether ``partial_fit`` asks ('balanced' would balance each chunk on its own).

    Returns
    -------
    weights : ndarray of shape (n_samples,)
    """
    balanced = isinstance(class_weight, str)  # 'balanced', the only str check_... allows
    if balanced and incremental:
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: each chunk would "
            "be balanced on its own. Pass a dict, e.g. from "
            "sklearn.utils.class_weight.compute_class_weight on all the labels."
        )
    if y_type == "multilabel":
        return _multilabel_weights(class_weight, y)
    if isinstance(class_weight, (list, tuple)):
        raise ValueError(
            f"class_weight is a list of {len(class_weight)} dicts, which is for a multilabel "
            f"y (one dict per label); y is {y_type}: pass one dict {{class: weight}}."
        )
    if balanced:
        return compute_sample_weight(class_weight, y)
    unknown = [c for c in class_weight if c not in set(classes.tolist())]
    if unknown:
        raise ValueError(f"class_weight has classes {unknown} that are not in classes_ {classes}.")
    per_class = np.array([float(class_weight.get(c, 1.0)) for c in classes.tolist()])
    return per_class[np.searchsorted(classes, y)]
