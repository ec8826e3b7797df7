"""Gradient checking: backpropagation against centred finite differences.

For every parameter theta_i (or a random subset of them) the notes' check
compares the backpropagated derivative with

    dJ/dtheta_i ~ (J(theta + h e_i) - J(theta - h e_i)) / (2 h)

and reports the relative error ``|g_bp - g_fd| / max(|g_bp| + |g_fd|, floor)``,
with ``floor = 1e-3 max_i |g_bp,i|``: a finite difference of a loss near 1
cannot resolve a derivative a thousand times smaller than the largest one to
many digits (its round-off is about ``1e-16 |J| / h``), so those are compared
on the scale of the largest gradient instead. A correct implementation in
float64 gives errors around 1e-7 or smaller; a wrong one, errors near 1.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from . import network


def gradient_check(estimator, X, y, *, sample_weight=None, h: float = 1e-5,
                   n_params: int | None = None, random_state=0,
                   return_details: bool = False):
    """Largest relative error between backprop and finite-difference gradients.

    The estimator's architecture, activations, ``alpha``, ``class_weight`` and
    initialisation are used; dropout is switched off (the check needs a
    deterministic loss). An unfitted estimator is initialised as ``fit`` would;
    a fitted one is checked at its current weights. All arithmetic is float64.

    Parameters
    ----------
    estimator : NNClassifier
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
    sample_weight : array-like of shape (n_samples,), default=None
    h : float, default=1e-5
        Finite-difference step.
    n_params : int or None, default=None
        Check only this many randomly chosen parameters (None: all of them).
    random_state : int, RandomState or None, default=0
        Chooses the parameters when ``n_params`` is set.
    return_details : bool, default=False
        Also return the two gradient vectors.

    Returns
    -------
    max_rel_error : float
    (backprop, finite_diff) : ndarrays of shape (n_checked,), if return_details
    """
    fitted = hasattr(estimator, "coefs_")
    # a fitted model is checked at its weights (in float64), an unfitted one at fit's start
    est = copy.deepcopy(estimator) if fitted else clone(estimator)
    est.set_params(dropout=0.0, warm_start=fitted)
    X = np.asarray(X, dtype=np.float64)
    if fitted:
        est.coefs_ = [w.astype(np.float64) for w in est.coefs_]
        est.intercepts_ = [b.astype(np.float64) for b in est.intercepts_]
    est._check_params()
    layers = est._layers()
    Xv, Y, _, sw = est._validate_input(X, y, sample_weight, incremental=False,
                                       reset=not fitted)
    if not fitted:
        est._initialize(layers, Xv.shape[1], Y.shape[1], np.float64,
                        check_random_state(est.random_state))
    coef_grads = [np.empty_like(w) for w in est.coefs_]
    intercept_grads = [np.empty_like(b) for b in est.intercepts_]

    def loss_and_grad(theta):
        network.unpack(theta, est.coefs_, est.intercepts_)
        loss = est._loss_grad(Xv, Y, sw, coef_grads, intercept_grads)
        return loss, network.pack(coef_grads, intercept_grads)

    theta = network.pack(est.coefs_, est.intercepts_)
    _, analytic = loss_and_grad(theta)
    idx = np.arange(theta.size)
    if n_params is not None and n_params < theta.size:
        idx = check_random_state(random_state).choice(theta.size, n_params, replace=False)
    numeric = np.empty(idx.size)
    for k, i in enumerate(idx):  # one parameter at a time: the definition, not a hot path
        old = theta[i]
        theta[i] = old + h
        plus, _ = loss_and_grad(theta)
        theta[i] = old - h
        minus, _ = loss_and_grad(theta)
        theta[i] = old
        numeric[k] = (plus - minus) / (2 * h)
    bp = analytic[idx]
    err = float(np.max(relative_error(bp, numeric, scale=np.abs(analytic).max())))
    if return_details:
        return err, (bp, numeric)
    return err


def relative_error(backprop: np.ndarray, numeric: np.ndarray, *,
                   scale: float | None = None) -> np.ndarray:
    """``|g_bp - g_fd| / max(|g_bp| + |g_fd|, 1e-3 scale)``, elementwise.

    Parameters
    ----------
    backprop, numeric : ndarrays of the same shape
    scale : float or None
        Size of the largest gradient (default: ``max |backprop|``); derivatives
        much smaller than it are compared on its scale (see the module docstring).

    Returns
    -------
    errors : ndarray, the shape of ``backprop``
    """
    backprop, numeric = np.asarray(backprop, float), np.asarray(numeric, float)
    if scale is None:
        scale = float(np.abs(backprop).max(initial=0.0))
    floor = max(1e-3 * scale, 1e-12)
    return np.abs(backprop - numeric) / np.maximum(np.abs(backprop) + np.abs(numeric), floor)
