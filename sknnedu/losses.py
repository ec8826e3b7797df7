"""Cross-entropy losses J and the gradient they send back into the output layer.

With ``p = a[L]`` the network's output probabilities, ``y`` the one-hot (or
0/1) targets and ``w_i`` the sample weights, the losses are weighted means::

    multiclass (softmax):   J = -sum_i w_i sum_k y_ik log p_ik / sum_i w_i
    binary / multilabel:    J = -sum_i w_i sum_k [y_ik log p_ik
                                 + (1 - y_ik) log(1 - p_ik)] / sum_i w_i

For both pairs (softmax + categorical, sigmoid + binary cross-entropy) the
gradient with respect to the output pre-activation is the famous

    dJ/dz[L]_i = w_i (p_i - y_i) / sum_i w_i

which is why the output layer never needs ``g'``. Probabilities are clipped to
``[eps, 1 - eps]`` (``eps`` of their dtype) so the loss is finite even when a
sigmoid saturates at exactly 0 or 1.
"""

from __future__ import annotations

import numpy as np


def _clipped(p: np.ndarray) -> np.ndarray:
    eps = np.finfo(p.dtype).eps
    return np.clip(p, eps, 1 - eps)


def log_loss(Y: np.ndarray, P: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Categorical cross-entropy for softmax outputs.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_classes), one-hot targets
    P : ndarray of shape (n_samples, n_classes), probabilities (rows sum to 1)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    J : float
    """
    per_sample = -(Y * np.log(_clipped(P))).sum(axis=1)
    return float(np.average(per_sample, weights=sample_weight))


def binary_log_loss(Y: np.ndarray, P: np.ndarray,
                    sample_weight: np.ndarray | None = None) -> float:
    """Binary cross-entropy summed over the outputs (one for binary, one per label).

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_outputs), 0/1 targets
    P : ndarray of shape (n_samples, n_outputs), probabilities
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    J : float
    """
    P = _clipped(P)
    per_sample = -(Y * np.log(P) + (1 - Y) * np.log1p(-P)).sum(axis=1)
    return float(np.average(per_sample, weights=sample_weight))


#: output activation -> its matching loss
LOSSES = {"softmax": log_loss, "logistic": binary_log_loss}
