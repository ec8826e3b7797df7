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

At a kink of the loss (two equal values in a max-pooling window, a ReLU input at
exactly 0, common where images have flat zero backgrounds) the derivative is
undefined and the centred difference averages the two one-sided slopes, so a
correct backward pass can differ from it by half the jump. Such parameters are
found by their one-sided slopes (see :func:`_kinks`) and left out of the maximum,
with a warning that counts them.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._warn import warn
from .engine import BaseNetwork
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

    Warns
    -----
    UserWarning
        When parameters whose finite difference crosses a kink of the loss (a tie in
        a max-pooling window, a ReLU input at exactly 0) are left out of the maximum:
        the derivative is undefined there. The warning says how many.

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
    # a deterministic loss over all the rows; y is encoded with the fitted classes_
    est.set_params(dropout=0.0, warm_start=False, early_stopping=False)
    if fitted:
        for name in est._param_attrs:
            setattr(est, name, [a.astype(np.float64) for a in getattr(est, name)])
    if sp.issparse(X):
        X = X.astype(np.float64)
    elif isinstance(X, np.ndarray) or not isinstance(X, (list, tuple)):
        X = np.asarray(X, dtype=np.float64)
    data = est._prepare(X, y, sample_weight, first_pass=not fitted)
    net = data.network

    def loss_and_grad(theta):
        unpack(theta, net.params)
        loss = net.loss_grad(data.X, data.Y, data.sample_weight, training=False)
        if not np.isfinite(loss):
            raise ValueError(f"The loss is {loss} at these weights; scale X.")
        return loss, pack(net.grads)

    theta = pack(net.params)
    J0, analytic = loss_and_grad(theta)
    idx = np.arange(theta.size)
    if n_params is not None and n_params < theta.size:
        idx = check_random_state(random_state).choice(theta.size, n_params, replace=False)

    def differences(i, step):
        """J(theta + step e_i) - J(theta) and J(theta) - J(theta - step e_i)."""
        old = theta[i]
        theta[i] = old + step
        plus, _ = loss_and_grad(theta)
        theta[i] = old - step
        minus, _ = loss_and_grad(theta)
        theta[i] = old
        return plus - J0, J0 - minus

    numeric = np.empty(idx.size)
    one_sided = np.empty((idx.size, 2))
    for k, i in enumerate(idx):  # one parameter at a time: the definition, not a hot path
        one_sided[k] = differences(i, h)
        numeric[k] = one_sided[k].sum() / (2 * h)
    bp = analytic[idx]
    scale = np.abs(analytic).max()
    errors = relative_error(bp, numeric, scale=scale)
    kinks = _kinks(idx, errors, bp, numeric, one_sided / h, differences, h)
    if kinks.any():
        warn(
            f"{kinks.sum()} of the {idx.size} parameters checked are left out of the maximum: "
            "their finite difference crosses a kink of the loss (a tie in a max-pooling "
            "window, a ReLU input at exactly 0), where the derivative is undefined and "
            "the centred difference averages two one-sided slopes.")
    err = float(np.max(errors[~kinks], initial=0.0))
    if return_details:
        return err, (bp, numeric)
    return err


def _kinks(idx, errors, backprop, numeric, slopes, differences, h) -> np.ndarray:
    """Which checked parameters sit on a kink: a mask of shape (n_checked,).

    Where the loss is smooth, the one-sided slopes ``(J(theta + h) - J(theta)) / h``
    and ``(J(theta) - J(theta - h)) / h`` differ by about ``h J''``, and by ten times
    less with a ten times smaller step. At a kink they differ by the jump of the slope,
    whatever the step. A parameter is on a kink when its error is not small, the two
    slopes disagree at least as much as backprop and the centred difference do, and
    their disagreement does not shrink with the step (by less than half for a step
    ten times smaller): a broken backward pass, where the loss is smooth, is never
    left out.
    """
    gap = np.abs(slopes[:, 0] - slopes[:, 1])
    candidates = np.flatnonzero((errors > 1e-6) & (gap >= np.abs(backprop - numeric)))
    kinks = np.zeros(len(idx), dtype=bool)
    for k in candidates:
        forward, backward = differences(idx[k], h / 10)
        kinks[k] = abs(forward - backward) / (h / 10) > 0.5 * gap[k]
    return kinks


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
