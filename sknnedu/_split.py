"""The validation split of early stopping, with errors that speak of the user's data.

MLPClassifier's split (``train_test_split`` on the random stream itself, stratified for a
binary target), taken as row indices so that any container of rows can be split; where
it cannot be made, the error names the classes of y and the weights the user passed,
not the internals (a 0/1 encoding of the classes, the weights of one part).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def validation_split(n: int, validation_fraction: float, rng, stratify=None,
                     sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows to train on and the rows held out.

    Parameters
    ----------
    n : int
        Number of samples.
    validation_fraction : float in (0, 1)
    rng : numpy.random.RandomState
        Drawn from as MLPClassifier draws (the stream itself).
    stratify : ndarray of shape (n,) or None
        Labels whose shares both parts keep.
    sample_weight : ndarray of shape (n,) or None
        Each part must hold some weight.

    Returns
    -------
    train, val : ndarrays of int
    """
    n_val = int(np.ceil(validation_fraction * n))
    if n - n_val < 1 or n_val < 2:
        raise ValueError(
            f"The validation set is too small: {n_val} of the {n} samples with "
            f"validation_fraction={validation_fraction}; early stopping needs at least 2, "
            "and 1 left to train on. Increase 'validation_fraction' or the size of the data.")
    if stratify is not None:
        _check_strata(stratify, n, n_val, validation_fraction)
    train, val = train_test_split(np.arange(n), test_size=validation_fraction,
                                  random_state=rng, stratify=stratify)
    if sample_weight is not None:
        for rows, part in ((train, "training"), (val, "validation")):
            if not sample_weight[rows].sum() > 0:
                raise ValueError(
                    f"early_stopping=True held out {len(val)} of the {n} samples, and every "
                    f"sample of the {part} part has weight 0 (only "
                    f"{np.count_nonzero(sample_weight)} of the {n} have a non-zero weight). "
                    "Give more samples a non-zero weight, change validation_fraction or "
                    "random_state, or set early_stopping=False.")
    return train, val


def _check_strata(labels, n: int, n_val: int, validation_fraction: float) -> None:
    """A stratified split needs 2 samples of each label, and room for each in both parts."""
    values, counts = np.unique(labels, return_counts=True)
    names = [v.item() if hasattr(v, "item") else v for v in values]
    fix = ("Pass more samples of each class, change validation_fraction, or set "
           "early_stopping=False.")
    if counts.min() < 2:
        rare = [names[i] for i in np.flatnonzero(counts < 2)]
        raise ValueError(
            "early_stopping=True holds out a validation set stratified by class, which "
            f"needs at least 2 samples of each class; class(es) {rare} of y have 1. {fix}")
    for part, size in (("validation", n_val), ("training", n - n_val)):
        if size < len(values):
            raise ValueError(
                f"early_stopping=True holds out a validation set stratified by class: its "
                f"{part} part would have {size} of the {n} samples (validation_fraction="
                f"{validation_fraction}), too few for one of each of the {len(values)} "
                f"classes {names}. {fix}")
