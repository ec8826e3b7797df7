"""Activation functions g(z) and their derivatives g'(z), in place.

The notes define, for a layer l, ``a[l] = g[l](z[l])``. Every activation here is
one entry in :data:`ACTIVATIONS` (the forward map, applied in place to ``z``)
and, when it can be trained through, one entry in :data:`DERIVATIVES`.

Which form the derivatives use
------------------------------
Backpropagation needs ``dz[l] = da[l] * g'(z[l])``. We do not keep ``z[l]``
once ``a[l]`` is computed (it would double the memory of a forward pass), so
each derivative is written **in terms of the output** ``a = g(z)``:

=========== ====================== ==================================
name        g(z)                   g'(z) written with a = g(z)
=========== ====================== ==================================
identity    z                      1
sigmoid     1 / (1 + exp(-z))      a (1 - a)
tanh        tanh(z)                1 - a**2
relu        max(0, z)              1 if a > 0 else 0
leakyrelu   max(gamma z, z)        1 if a > 0 else gamma   (0 < gamma < 1)
=========== ====================== ==================================

This works because every g here is monotone, so the sign of ``a`` is the sign
of ``z``. ``'logistic'`` is scikit-learn's name for ``'sigmoid'``. ``'abs'``
(|z|, used on convolution feature maps) has no derivative entry: its sign
cannot be recovered from its output, and nothing trains through it.

All functions keep the dtype of their input (float32 stays float32) and are
numerically stable: ``sigmoid(1e5)`` is 1.0 without an overflow warning.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from scipy.special import expit

from .geometry import float_dtype

#: gamma of the leaky ReLU, as in the notes' ``((z>0)*z)+((z<0)*0.01*z)``.
LEAKY_SLOPE = 0.01


def identity(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = z. Returns ``Z`` unchanged."""
    return Z


def sigmoid(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = 1 / (1 + exp(-z)), in place, stable for any finite z."""
    return expit(Z, out=Z)


def tanh(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = tanh(z) = (e^z - e^-z) / (e^z + e^-z), in place."""
    return np.tanh(Z, out=Z)


def relu(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = max(0, z), in place."""
    return np.maximum(Z, 0, out=Z)


def leakyrelu(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = max(gamma z, z) with gamma = ``slope`` (0.01 in the notes), in place.

    ``max`` is right because 0 <= gamma < 1: for z < 0, gamma z > z.
    """
    return np.maximum(Z, Z * Z.dtype.type(slope), out=Z)


def absolute(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = |z|, in place (a rectifier for signed filter responses)."""
    return np.abs(Z, out=Z)


def softmax(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """Softmax over the last axis, in place: ``a_k = exp(z_k - max z) / sum_j exp(z_j - max z)``.

    Subtracting the maximum makes every exponent <= 0, so nothing overflows.

    Parameters
    ----------
    Z : ndarray of shape (..., n_classes)
        Usually (n_samples, n_classes): each row becomes a distribution. A 1-D
        ``Z`` is one distribution; a 0-D one is 1.
    """
    if Z.ndim == 0:
        Z[...] = 1
        return Z
    Z -= Z.max(axis=-1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=-1, keepdims=True)
    return Z


def exp(Z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) = exp(z), in place: the output of a Poisson regression (positive means)."""
    return np.exp(Z, out=Z)


def identity_derivative(A: np.ndarray, delta: np.ndarray, slope: float = LEAKY_SLOPE) -> None:
    """delta *= 1 (nothing to do)."""


def sigmoid_derivative(A: np.ndarray, delta: np.ndarray, slope: float = LEAKY_SLOPE) -> None:
    """delta *= g'(z) = a (1 - a), in place."""
    delta *= A
    delta *= 1 - A


def tanh_derivative(A: np.ndarray, delta: np.ndarray, slope: float = LEAKY_SLOPE) -> None:
    """delta *= g'(z) = 1 - a**2, in place."""
    delta *= 1 - A**2


def relu_derivative(A: np.ndarray, delta: np.ndarray, slope: float = LEAKY_SLOPE) -> None:
    """delta *= g'(z) = [a > 0], in place."""
    np.multiply(delta, A > 0, out=delta)


def leakyrelu_derivative(A: np.ndarray, delta: np.ndarray, slope: float = LEAKY_SLOPE) -> None:
    """delta *= g'(z) = 1 if a > 0 else gamma, in place.

    ``max(sign(a), gamma)`` is 1 where a > 0 and gamma elsewhere.
    """
    delta *= np.maximum(np.sign(A), A.dtype.type(slope))


ActivationFn = Callable[..., np.ndarray]

#: name -> in-place forward map ``g``.
ACTIVATIONS: dict[str, ActivationFn] = {
    "identity": identity,
    "logistic": sigmoid,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leakyrelu": leakyrelu,
    "abs": absolute,
    "softmax": softmax,
    "exp": exp,
}

#: name -> in-place ``delta *= g'(z)``, written with ``a = g(z)``.
DERIVATIVES: dict[str, Callable[..., None]] = {
    "identity": identity_derivative,
    "logistic": sigmoid_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
    "relu": relu_derivative,
    "leakyrelu": leakyrelu_derivative,
}

#: Activations a hidden layer of a network may use (those with a derivative).
HIDDEN_ACTIVATIONS = tuple(DERIVATIVES)


def bind(name: str, slope: float = LEAKY_SLOPE) -> tuple[ActivationFn, Callable | None]:
    """``(g, g')`` of the activation ``name`` with its slope bound once, where a layer is built.

    ``g(Z)`` maps in place; ``g'(A, delta)`` does ``delta *= g'(z)`` in place, written with
    ``A = g(z)`` (None for an activation nothing trains through). Only ``'leakyrelu'``
    reads gamma (``slope``), so the layer's forward and backward pass it on no call. An
    unknown name is a ValueError (:func:`check_activation`).

    >>> g, g_prime = bind("leakyrelu", slope=0.1)
    >>> g(np.array([-2.0, 3.0])).tolist()
    [-0.2, 3.0]
    """
    g, g_prime = ACTIVATIONS[check_activation(name)], DERIVATIVES.get(name)
    if name == "leakyrelu":
        g, g_prime = partial(g, slope=slope), partial(g_prime, slope=slope)
    return g, g_prime


def activation(name: str, z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g(z) for the activation ``name``, on a copy of ``z`` (the notes' ``activation``).

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.
    z : array-like
        Pre-activations, any shape. Integer input is computed in float64.
        ``'softmax'`` normalises over the last axis.
    slope : float, default=0.01
        gamma of ``'leakyrelu'``.

    Returns
    -------
    a : ndarray, same shape as ``z``
    """
    g = ACTIVATIONS[check_activation(name)]
    z = np.asarray(z)
    return g(np.array(z, dtype=float_dtype(z.dtype), copy=True), slope)  # a float copy


def activation_derivative(name: str, z: np.ndarray, slope: float = LEAKY_SLOPE) -> np.ndarray:
    """g'(z) for the activation ``name`` (the notes' ``activationDerivative``).

    Parameters
    ----------
    name : str
        A key of :data:`DERIVATIVES`.
    z : array-like
        Pre-activations, any shape.
    slope : float, default=0.01
        gamma of ``'leakyrelu'``.

    Returns
    -------
    dg : ndarray, same shape as ``z``
    """
    deriv = DERIVATIVES[check_activation(name, DERIVATIVES, what="activation with a derivative")]
    a = activation(name, z, slope)
    out = np.ones_like(a)
    deriv(a, out, slope)
    return out


def check_activation(name, allowed=ACTIVATIONS, *, what: str = "activation",
                     none: bool = False) -> str | None:
    """``name`` if it is one of ``allowed`` (or None, with ``none``); else a ValueError.

    The one check of an activation name: every function, layer and estimator that takes
    one calls it, so the error always lists what is accepted.

    Parameters
    ----------
    name : object
        The name to check.
    allowed : collection of str, default=ACTIVATIONS
        The accepted names: :data:`ACTIVATIONS`, :data:`DERIVATIVES` (a layer trained
        through), :data:`HIDDEN_ACTIVATIONS`, or any other collection.
    what : str, default='activation'
        What ``name`` is, for the message ("activation of hidden layer 2").
    none : bool, default=False
        Whether None is accepted (and returned).

    Returns
    -------
    name : str or None

    Examples
    --------
    >>> from sknnedu.nn.activations import DERIVATIVES, check_activation
    >>> check_activation("relu", DERIVATIVES)
    'relu'
    >>> check_activation("abs", DERIVATIVES, what="activation of layer 0")
    Traceback (most recent call last):
    ...
    ValueError: Unknown activation of layer 0 'abs'; expected one of ['identity', ...].
    """
    if name is None and none:
        return None
    if not isinstance(name, str) or name not in allowed:
        expected = f"{'None or ' if none else ''}one of {sorted(allowed)}"
        raise ValueError(f"Unknown {what} {name!r}; expected {expected}.")
    return name

