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
correct backward pass can differ from it by half the jump. So can it where a kink lies
within the step of the parameter without being at it: two values of a max-pooling
window that differ by less than the step moves them (in digits, a background patch
of the value ``tanh(b)`` beside a patch that differs from it by 2e-6). Such
parameters are found by their one-sided slopes (see :func:`_kinks`) and left out of
the maximum, with a warning that counts them.

Entries of a parameter that never learn are not checked either: a layer may declare
them in its ``frozen`` attribute (one entry per parameter: None, or an index of the
entries its backward leaves at 0), as the padding row ``E[0]`` of an embedding. The
loss reads them, but their gradient is 0 by definition.
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
from .nn.embedding import PAD, Embedding
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
    check works on a copy, in float64. Entries that never learn (a layer's ``frozen``
    ones, such as the padding row of an embedding) are not checked.

    Parameters
    ----------
    estimator : NNClassifier, NNRegressor or CNNClassifier
    X : {array-like, sparse matrix} of shape (n_samples, n_features) (or images for a CNN)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,), default=None
    h : float, default=1e-5
        Finite-difference step, > 0.
    n_params : int or None, default=None
        Check only this many randomly chosen parameters, >= 1 (None: all of them that
        learn).
    random_state : int, RandomState or None, default=0
        Chooses the parameters when ``n_params`` is set.
    return_details : bool, default=False
        Also return the two gradient vectors.

    Warns
    -----
    UserWarning
        When parameters whose finite difference crosses a kink of the loss (a tie or a
        near tie in a max-pooling window, a ReLU input at exactly 0) are left out of the
        maximum: the derivative is undefined there, or the step reaches past it. The
        warning says how many.

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
    idx = np.flatnonzero(~_frozen(net))
    if n_params is not None and n_params < idx.size:
        idx = check_random_state(random_state).choice(idx, n_params, replace=False)

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
    kinks = _kinks(idx, errors, bp, numeric, one_sided / h, differences, h, scale)
    if kinks.any():
        warn(
            f"{kinks.sum()} of the {idx.size} parameters checked are left out of the maximum: "
            "their finite difference crosses a kink of the loss (a tie or near tie in a "
            "max-pooling window, a ReLU input at exactly 0), where the centred difference "
            "averages two one-sided slopes. Backprop agreed with the finite differences "
            "on the others.")
    err = float(np.max(errors[~kinks], initial=0.0))
    if return_details:
        return err, (bp, numeric)
    return err


def _kinks(idx, errors, backprop, numeric, slopes, differences, h, scale) -> np.ndarray:
    """Which checked parameters sit on a kink, or within ``h`` of one: a mask (n_checked,).

    Where the loss is smooth, the one-sided slopes ``(J(theta + s) - J(theta)) / s``
    and ``(J(theta) - J(theta - s)) / s`` differ by about ``s J''``: by ten times less
    with a ten times smaller step ``s``. A candidate is a parameter whose error is not
    small and whose slopes at ``s = h`` disagree at least as much as backprop and the
    centred difference do. With the steps ``s = h / 10`` and ``h / 100`` it is on a
    kink when

    - at ``h / 10`` the slopes still disagree by more than half as much as at ``h``
      (the kink sits at theta: the jump of the slope, whatever the step), or
    - at ``s`` the slopes agree at least twice as much better than the step explains
      (``gap(s) < gap(h) s / (2 h)``) and the centred difference agrees with backprop
      (relative error < 1e-6): the kink lies between ``s`` and ``h`` away (a near tie
      in a max-pooling window), and backprop is right where the loss is smooth.

    A broken backward pass, where the loss is smooth, is never left out: its slopes
    shrink with the step as ``J''`` says, and no step brings them to backprop.
    """
    gap = np.abs(slopes[:, 0] - slopes[:, 1])
    candidates = np.flatnonzero((errors > 1e-6) & (gap >= np.abs(backprop - numeric)))
    kinks = np.zeros(len(idx), dtype=bool)
    for k in candidates:
        for step in (h / 10, h / 100):
            forward, backward = differences(idx[k], step)
            gap_s = abs(forward - backward) / step
            at_theta = step == h / 10 and gap_s > 0.5 * gap[k]
            centred = (forward + backward) / (2 * step)
            beyond = (gap_s < 0.5 * gap[k] * step / h
                      and relative_error(backprop[k:k + 1], np.array([centred]),
                                         scale=scale)[0] < 1e-6)
            if at_theta or beyond:
                kinks[k] = True
                break
    return kinks


def _frozen(net) -> np.ndarray:
    """The entries of the packed parameters that never learn: a mask (n_params,).

    A layer declares them by its ``frozen`` attribute: one entry per parameter, None
    or an index of the parameter's entries (``0``: its first row). An
    :class:`~sknnedu.nn.embedding.Embedding` without one freezes its padding row
    ``E[PAD]``, which its backward sets to 0.
    """
    masks = {}
    for layer in net.layers:
        frozen = getattr(layer, "frozen", None)
        if frozen is None:
            frozen = (PAD,) if isinstance(layer, Embedding) else (None,) * len(layer.params)
        for p, entries in zip(layer.params, frozen):
            mask = np.zeros(p.shape, dtype=bool)
            if entries is not None:
                mask[entries] = True
            masks[id(p)] = mask
    return np.concatenate([masks[id(p)].ravel() for p in net.params] or [np.zeros(0, bool)])


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
