"""Losses J and the gradient dJ/dz[L] they send back into the output layer.

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

Regression (``p = a[L]`` the predictions, ``r = p - y`` the residuals, sums over
the outputs k, weighted means over the samples i)::

    squared_error (identity):  J = sum_k mean_i r_ik**2 / 2          dJ/dz = r
    poisson (exp output):      J = sum_k mean_i (y log(y / p) - y + p)  dJ/dz = p - y
    absolute_error (identity): J = sum_k mean_i |r_ik|              dJ/dz = sign(r)
    huber (identity):          J = sum_k mean_i H(r_ik),            dJ/dz = clip(r, -d, d)
        H(r) = r**2 / 2 if |r| <= d else d (|r| - d / 2)

The first two are again canonical pairs (``dz = p - y``). The last two grow only
linearly in a large residual, so one outlier pulls the fit with a bounded force
(``|dJ/dz| <= 1`` or ``<= d``) where the squared error pulls with ``r`` itself.
(scikit-learn's MLPRegressor reports the squared error averaged over the outputs
but steps with the gradient of their sum; here the loss is the sum, so that it
and its gradient agree: identical for one output.)

Every loss is an :class:`OutputLoss`: the output activation, ``J`` and ``dJ/dz[L]``
together, looked up by name in :data:`OUTPUT_LOSSES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import xlogy


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


def squared_error(Y: np.ndarray, P: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """``J = sum_k mean_i (p_ik - y_ik)**2 / 2`` (weighted mean over samples)."""
    return float(np.average(0.5 * ((P - Y) ** 2).sum(axis=1), weights=sample_weight))


def poisson(Y: np.ndarray, P: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Half the Poisson deviance ``J = sum_k mean_i (y log(y / p) - y + p)``, ``p > 0``."""
    per_sample = (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    return float(np.average(per_sample, weights=sample_weight))


def absolute_error(Y: np.ndarray, P: np.ndarray,
                   sample_weight: np.ndarray | None = None) -> float:
    """``J = sum_k mean_i |p_ik - y_ik|`` (weighted mean over samples)."""
    return float(np.average(np.abs(P - Y).sum(axis=1), weights=sample_weight))


def huber(Y: np.ndarray, P: np.ndarray, sample_weight: np.ndarray | None = None,
          delta: float = 1.0) -> float:
    """``J = sum_k mean_i H(p_ik - y_ik)``: quadratic within ``delta``, linear beyond."""
    r = np.abs(P - Y)
    per = np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))
    return float(np.average(per.sum(axis=1), weights=sample_weight))


def _residual(Y: np.ndarray, P: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dz = p - y (the canonical pairs)."""
    return np.subtract(P, Y, out=out)


def _sign_residual(Y: np.ndarray, P: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dz = sign(p - y) (absolute error; 0 at a perfect fit)."""
    return np.sign(np.subtract(P, Y, out=out), out=out)


def _clipped_residual(Y: np.ndarray, P: np.ndarray, out: np.ndarray,
                      delta: float = 1.0) -> np.ndarray:
    """dz = clip(p - y, -delta, delta) (Huber)."""
    return np.clip(np.subtract(P, Y, out=out), -delta, delta, out=out)


@dataclass(frozen=True)
class OutputLoss:
    """An output activation ``g[L]`` with its loss ``J`` and ``dz[L] = dJ/dz[L]``.

    Attributes
    ----------
    activation : str
        ``g[L]``, a key of :data:`sknnedu.nn.activations.ACTIVATIONS`.
    value : callable ``(Y, P, sample_weight) -> float``
        J as a weighted mean over the samples.
    gradient : callable ``(Y, P, out) -> out``
        The per-sample ``dJ_i/dz[L]_i`` (before weighting and averaging), written into
        ``out`` of shape (m, n[L]).
    """

    activation: str
    value: Callable[..., float]
    gradient: Callable[..., np.ndarray] = _residual

    def __call__(self, Y: np.ndarray, P: np.ndarray,
                 sample_weight: np.ndarray | None = None) -> float:
        """J of predictions P for targets Y."""
        return self.value(Y, P, sample_weight)


#: loss name -> its output activation, J and dJ/dz[L]
OUTPUT_LOSSES: dict[str, OutputLoss] = {
    "log_loss": OutputLoss("softmax", log_loss),
    "binary_log_loss": OutputLoss("logistic", binary_log_loss),
    "squared_error": OutputLoss("identity", squared_error),
    "poisson": OutputLoss("exp", poisson),
    "absolute_error": OutputLoss("identity", absolute_error, _sign_residual),
    "huber": OutputLoss("identity", huber, _clipped_residual),
}


def output_loss(name: str, huber_delta: float = 1.0) -> OutputLoss:
    """The :class:`OutputLoss` ``name``, with Huber's threshold bound once where it is chosen.

    >>> output_loss("huber", huber_delta=0.5)(np.zeros((1, 1)), np.full((1, 1), 2.0))
    0.875
    """
    loss = OUTPUT_LOSSES[name]
    if name != "huber" or huber_delta == 1.0:
        return loss
    delta = float(huber_delta)
    return OutputLoss(loss.activation, partial(loss.value, delta=delta),
                      partial(loss.gradient, delta=delta))
