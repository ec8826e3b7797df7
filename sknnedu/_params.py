"""The training parameters every network estimator shares, and their checks.

:class:`ParameterChecks` is a base of :class:`sknnedu.engine.BaseNetwork`: it reads the
estimator's parameters (``solver``, ``alpha``, ``hidden_layer_sizes``, ...) and refuses a
bad one with a message that names it, says what it must be and what it got. An
estimator adds its own through the ``_check_own_params`` hook.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .nn.activations import HIDDEN_ACTIVATIONS, check_activation
from .nn.initializers import INITIALIZERS

STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop")
SOLVERS = STOCHASTIC_SOLVERS + ("lbfgs",)
LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _real(v) -> bool:
    """A finite real number, not a bool (any: ``10**30`` and ``Fraction(1, 3)`` too)."""
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond a float's range
        return False


def _integer(v) -> bool:
    """An integer, not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of shape (n,): finite, >= 0, finite sum.

    Parameters
    ----------
    sample_weight : array-like of shape (n,), scalar or None
    n : int
        Number of samples.

    Returns
    -------
    sample_weight : ndarray of shape (n,) or None
    """
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n, float(sample_weight))
    if sample_weight.shape != (n,):
        raise ValueError(
            f"sample_weight must have shape ({n},) like X; got {sample_weight.shape}."
        )
    if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    with np.errstate(over="ignore"):  # an overflowing sum is the error below, not a warning
        total = sample_weight.sum()
    if not np.isfinite(total):
        raise ValueError(
            f"sample_weight sums to {total}; rescale the weights "
            "(only their ratios matter, and alpha's strength)."
        )
    return sample_weight


def size_pairs(spec, name: str, pair: str, default: str, check_kind,
               example: str) -> list[tuple[int, str]]:
    """A layer-size parameter as ``(size, kind)`` pairs, validated: the one parser of
    ``hidden_layer_sizes`` (kind: activation) and ``recurrent_layers`` (kind: cell).

    ``spec`` is an int or a sequence of ints and ``(size, kind)`` pairs; an int entry
    takes ``default`` as its kind, and ``check_kind(kind, i)`` raises for a bad one.
    ``pair`` names the pair in messages (``"(size, activation)"``), ``example`` shows one.
    """
    entries = [spec] if _integer(spec) else spec
    if entries is spec and (isinstance(spec, (str, bytes)) or not hasattr(spec, "__iter__")
                            or getattr(spec, "ndim", 1) == 0):  # a 0-d array: no entries
        raise ValueError(f"{name} must be an int or a sequence of ints and {pair} pairs; "
                         f"got {spec!r}.")
    pairs = []
    for i, entry in enumerate(entries):
        if _integer(entry):
            size, kind = entry, default
        elif (isinstance(entry, (tuple, list)) and len(entry) == 2 and _integer(entry[0])
              and isinstance(entry[1], str)):
            size, kind = entry
            check_kind(kind, i)
        else:
            raise ValueError(f"{name}[{i}] must be an int or a {pair} pair such as "
                             f"{example}; got {entry!r}.")
        if size <= 0:
            raise ValueError(f"{name} must be > 0; got {size} at position {i} of {spec!r}.")
        pairs.append((int(size), kind))
    return pairs


class ParameterChecks:
    """Checks of the parameters that every network estimator has (a base class)."""

    def _hidden_layers(self) -> list[tuple[int, str]]:
        """hidden_layer_sizes as a list of ``(size, activation)`` pairs, validated."""
        self._check_activation(self.activation, "activation")
        return size_pairs(self.hidden_layer_sizes, "hidden_layer_sizes", "(size, activation)",
                          self.activation,
                          lambda act, i: self._check_activation(act, f"activation of hidden "
                                                                     f"layer {i}"),
                          "(24, 'relu')")

    @staticmethod
    def _check_activation(name, what: str) -> None:
        check_activation(name, HIDDEN_ACTIVATIONS, what=what)

    def _need(self, ok: bool, name: str, expected: str) -> None:
        if not ok:
            raise ValueError(f"{name} must be {expected}; got {getattr(self, name)!r}.")

    def _check_params(self) -> None:
        """Check the training parameters every network estimator has."""
        need = self._need
        need(self.solver in SOLVERS, "solver", f"one of {list(SOLVERS)}")
        need(self.learning_rate in LEARNING_RATES, "learning_rate",
             f"one of {list(LEARNING_RATES)}")
        need(self.init == "auto" or self.init in INITIALIZERS, "init",
             f"'auto' or one of {sorted(INITIALIZERS)}")
        need(_real(self.alpha) and self.alpha >= 0, "alpha", "a float >= 0")
        need(self.batch_size == "auto" or (_integer(self.batch_size) and self.batch_size >= 1),
             "batch_size", "'auto' or an int >= 1")
        need(_real(self.learning_rate_init) and self.learning_rate_init > 0,
             "learning_rate_init", "a float > 0")
        need(_real(self.power_t) and self.power_t >= 0, "power_t", "a float >= 0")
        need(_integer(self.max_iter) and self.max_iter >= 1, "max_iter", "an int >= 1")
        need(_real(self.tol) and self.tol >= 0, "tol", "a float >= 0")
        need(_real(self.momentum) and 0 <= self.momentum <= 1, "momentum", "in [0, 1]")
        need(_real(self.validation_fraction) and 0 <= self.validation_fraction < 1,
             "validation_fraction", "in [0, 1)")
        need(not self.early_stopping or self.validation_fraction > 0, "validation_fraction",
             "in (0, 1) with early_stopping=True (it is the share of the data held out "
             "to decide when to stop)")
        need(_real(self.beta_1) and 0 <= self.beta_1 < 1, "beta_1", "in [0, 1)")
        need(_real(self.beta_2) and 0 <= self.beta_2 < 1, "beta_2", "in [0, 1)")
        need(_real(self.epsilon) and self.epsilon > 0, "epsilon", "a float > 0")
        need(self.n_iter_no_change == np.inf
             or (_integer(self.n_iter_no_change) and self.n_iter_no_change >= 1),
             "n_iter_no_change", "an int >= 1 or np.inf")
        need(_integer(self.max_fun) and self.max_fun >= 1, "max_fun", "an int >= 1")
        need(_real(self.dropout) and 0 <= self.dropout < 1, "dropout", "in [0, 1)")
        need(self.dropout == 0 or self.solver in STOCHASTIC_SOLVERS, "dropout",
             "0 with solver='lbfgs' (a random loss breaks its line search)")
        need(_real(self.rho) and 0 <= self.rho < 1, "rho", "in [0, 1)")
        need(_real(self.negative_slope) and 0 <= self.negative_slope < 1, "negative_slope",
             "in [0, 1)")
        if hasattr(self, "clip_norm"):  # the recurrent estimators' gradient clipping
            clip = self.clip_norm
            need(clip is None or (_real(clip) and clip > 0), "clip_norm", "None or a float > 0")
        self._check_own_params()

    def _check_own_params(self) -> None:
        """Parameters of one estimator only (hook)."""
