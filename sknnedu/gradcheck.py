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
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import check_random_state

from .engine import BaseNetwork, check_sample_weight
from .nn.network import pack, unpack


def gradient_check(estimator: BaseNetwork, X, y, *, sample_weight=None, h: float = 1e-5,
                   n_params: int | None = None, random_state=0,
                   return_details: bool = False):
    """Largest relative error between backprop and finite-difference gradients.

    The estimator's architecture, activations, loss, ``alpha``, ``class_weight`` and
    initialisation are used; dropout is switched off (the check needs a
    deterministic loss). An unfitted estimator is initialised as ``fit`` would;
    a fitted one is checked at its current weights (its ``classes_`` encode y, so
    a batch may lack some classes). The estimator itself is never changed: the
    check works on a copy, in float64.

    Parameters
    ----------
    estimator : NNClassifier, NNRegressor or CNNClassifier
    X : {array-like, sparse matrix} of shape (n_samples, n_features) (or images for a CNN)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None
    h : float, default=1e-5
        Finite-difference step, > 0.
    n_params : int or None, default=None
        Check only this many randomly chosen parameters, >= 1 (None: all of them).
    random_state : int, RandomState or None, default=0
        Chooses the parameters when ``n_params`` is set.
    return_details : bool, default=False
        Also return the two gradient vectors.

    Returns
    -------
    max_rel_error : float
    (backprop, finite_diff) : ndarrays of shape (n_checked,), if return_details

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import NNClassifier, gradient_check
    >>> X = np.random.RandomState(0).randn(20, 4)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> gradient_check(NNClassifier((5,), activation="tanh", random_state=0), X, y) < 1e-6
    True
    """
    if not isinstance(estimator, BaseNetwork):
        raise TypeError(
            "gradient_check needs an sknnedu network estimator (NNClassifier, NNRegressor, "
            f"CNNClassifier); got {type(estimator).__name__}."
        )
    if not (isinstance(h, numbers.Real) and not isinstance(h, bool) and np.isfinite(h)
            and h > 0):
        raise ValueError(f"h must be a finite float > 0; got {h!r}.")
    if n_params is not None and not (isinstance(n_params, numbers.Integral)
                                     and not isinstance(n_params, bool) and n_params >= 1):
        raise ValueError(f"n_params must be None or an int >= 1; got {n_params!r}.")
    fitted = hasattr(estimator, estimator._param_attrs[0])
    # a fitted model is checked at its weights (in float64), an unfitted one at fit's start
    est = copy.deepcopy(estimator) if fitted else clone(estimator)
    est.set_params(dropout=0.0, warm_start=False)  # y is encoded with the fitted classes_
    if fitted:
        for name in est._param_attrs:
            setattr(est, name, [a.astype(np.float64) for a in getattr(est, name)])
    X = X.astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    est._check_params()
    Xv, yv = est._validate_X_y(X, y, reset=not fitted)
    Y, yv = est._targets(yv, np.float64, False, not fitted)
    sw = est._weigh(yv, check_sample_weight(sample_weight, Xv.shape[0]), False)
    if not fitted:
        est._initialize_params(Xv, Y, check_random_state(est.random_state), sw)
    net = est._network()

    def loss_and_grad(theta):
        unpack(theta, net.params)
        loss = net.loss_grad(Xv, Y, sw, training=False)
        if not np.isfinite(loss):
            raise ValueError(f"The loss is {loss} at these weights; scale X.")
        return loss, pack(net.grads)

    theta = pack(net.params)
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
