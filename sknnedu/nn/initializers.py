"""Weight initialisers: how W[l] and b[l] start.

Each initialiser maps ``(fan_in, fan_out, rng, dtype)`` to ``(W, b)`` with
``W`` of shape ``(fan_in, fan_out)`` and ``b`` of shape ``(fan_out,)``, where
``fan_in = n[l-1]`` and ``fan_out = n[l]`` are the unit counts of the layers a
weight matrix joins.

========= =================================================================
name      distribution
========= =================================================================
glorot    W, b ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)), or
          sqrt(2 / (fan_in + fan_out)) for a sigmoid layer (scikit-learn's
          MLPClassifier, Glorot & Bengio 2010)
he        W ~ N(0, 2 / fan_in), b = 0 (He et al. 2015, for the ReLU family)
lecun     W ~ N(0, 1 / fan_in), b = 0
normal    W ~ N(0, 0.01**2), b = 0 (the "small random numbers" of the notes;
          too small for deep sigmoid networks, which is the lesson)
zeros     W = 0, b = 0: every unit of a layer computes the same function and
          receives the same gradient, so they stay identical (symmetry)
========= =================================================================

``'auto'`` picks ``'he'`` for ReLU-family layers and ``'glorot'`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[..., tuple[np.ndarray, np.ndarray]]


def glorot(fan_in: int, fan_out: int, rng: np.random.RandomState, dtype=np.float64,
           activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """Glorot uniform, as scikit-learn's MLP: ``U(-r, r)`` for W and b."""
    factor = 2.0 if activation in ("logistic", "sigmoid") else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))
    W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
    b = rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
    return W, b


def he(fan_in: int, fan_out: int, rng: np.random.RandomState, dtype=np.float64,
       activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """He normal: ``W ~ N(0, 2 / fan_in)``, ``b = 0``."""
    W = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)).astype(dtype, copy=False)
    return W, np.zeros(fan_out, dtype=dtype)


def lecun(fan_in: int, fan_out: int, rng: np.random.RandomState, dtype=np.float64,
          activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """LeCun normal: ``W ~ N(0, 1 / fan_in)``, ``b = 0``."""
    W = rng.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)).astype(dtype, copy=False)
    return W, np.zeros(fan_out, dtype=dtype)


def normal(fan_in: int, fan_out: int, rng: np.random.RandomState, dtype=np.float64,
           activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """Naive small normal: ``W ~ N(0, 0.01**2)``, ``b = 0``."""
    W = rng.normal(0.0, 0.01, (fan_in, fan_out)).astype(dtype, copy=False)
    return W, np.zeros(fan_out, dtype=dtype)


def zeros(fan_in: int, fan_out: int, rng: np.random.RandomState, dtype=np.float64,
          activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """All zeros: the symmetric start that gradient descent can never break."""
    return np.zeros((fan_in, fan_out), dtype=dtype), np.zeros(fan_out, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    "glorot": glorot,
    "he": he,
    "lecun": lecun,
    "normal": normal,
    "zeros": zeros,
}

#: Activations whose layers ``init='auto'`` starts with He initialisation.
RELU_FAMILY = ("relu", "leakyrelu")


def resolve_init(init: str, activation: str) -> str:
    """The initialiser ``init='auto'`` means for a layer with ``activation``."""
    if init == "auto":
        return "he" if activation in RELU_FAMILY else "glorot"
    if init not in INITIALIZERS:
        raise ValueError(
            f"Unknown init {init!r}; expected 'auto' or one of {sorted(INITIALIZERS)}."
        )
    return init
