"""Odd inputs, built from small specs, and the contract every estimator keeps with them.

The contract that the tests using these helpers check, for every input: the estimator either
works and gives finite output, or raises ``ValueError``/``TypeError`` with a message. Never NaN
or inf out, never an error from deep inside numpy (``IndexError``, ``LinAlgError``,
``ZeroDivisionError``), never a ``RuntimeWarning`` (overflow, invalid value): these run as
errors (:func:`outcome`), as they do under ``-W error`` or ``np.seterr(all='raise')``.

Also: inputs are never modified in place, the same ``random_state`` gives bit-identical models,
fitted estimators can be used from several threads at once, and a tampered or truncated model
file fails cleanly without importing or running anything (:mod:`sknnedu.persistence`).

The tests that use these helpers sit with the module they test (test_neural_network.py,
test_feature_extraction.py, test_persistence.py); they import them as
``from odd_inputs import outcome`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import copy
import itertools
import os
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

#: Modest and reproducible: the same examples on every run (failures are bugs to fix, not
#: flakes), no shrinking (the examples are small specs already, and shrinking a failure
#: costs more time than the whole run), well under a minute for the whole module.
PROPERTY = settings(max_examples=120, deadline=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])

DTYPES = [np.bool_, np.uint8, np.int8, np.int64, np.float16, np.float32, np.float64]

#: Typical magnitude of the values: tiny, ordinary and huge (clipped to the dtype's range).
SCALES = [0.0, 1e-310, 1e-300, 1e-30, 1e-3, 1.0, 1e3, 1e30, 1e150, 1e300, np.inf]

LAYOUTS = ["C", "F", "strided", "reversed", "readonly", "memmap", "list", "frame",
           "frame_named"]

SPECIALS = [None] * 6 + ["nan", "inf", "-inf"]


class Refused:
    """What :func:`outcome` returns when the estimator raised a clean error."""

    def __init__(self, exc: Exception):
        self.exc = exc

    def __repr__(self) -> str:
        return f"Refused({type(self.exc).__name__}: {self.exc})"


@contextmanager
def strict_numerics():
    """RuntimeWarnings (overflow, invalid value, divide by zero) raise; convergence is moot."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@contextmanager
def lenient_numerics():
    """RuntimeWarnings ignored, as most users run: what comes out must still be finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def outcome(fn, *args, strict: bool = True, **kwargs):
    """``fn(*args, **kwargs)``, or :class:`Refused` if it raised ValueError/TypeError.

    Anything else propagates and fails the test: IndexError, ZeroDivisionError, a
    RuntimeWarning turned into an error (unless ``strict=False``), and numpy's LinAlgError
    (a ValueError subclass, but a crash inside numpy that tells the user nothing about
    their input).
    """
    with strict_numerics() if strict else lenient_numerics():
        try:
            return fn(*args, **kwargs)
        except np.linalg.LinAlgError:
            raise
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} raised with an empty message"
            return Refused(exc)


def assert_finite(a, what: str) -> None:
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        bad = ~np.isfinite(a)
        assert not bad.any(), f"{what} has {bad.sum()} non-finite value(s): {a[bad][:5]}"


_counter = itertools.count()


def make_values(shape, dtype, scale, special, seed) -> np.ndarray:
    """Random values of ``dtype`` around ``scale``, clipped to what the dtype holds."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        hi = int(min(max(scale, 1.0), info.max)) if np.isfinite(scale) else info.max
        lo = 0 if dtype.kind == "u" else -hi
        return rng.integers(lo, hi, size=shape, endpoint=True, dtype=dtype)
    top = float(np.finfo(dtype).max)
    values = np.clip(rng.standard_normal(shape) / 3, -1, 1) * min(scale, top)
    values = values.astype(dtype)
    if special is not None and values.size:
        values.flat[rng.integers(values.size)] = {"nan": np.nan, "inf": np.inf,
                                                  "-inf": -np.inf}[special]
    return values


def with_layout(a: np.ndarray, layout: str, workdir):
    """The same values as ``a`` (2-D or more), presented in another way."""
    if layout == "C":
        return np.ascontiguousarray(a)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided":  # a non-contiguous view: every other column of a wider array
        wide = np.repeat(a, 2, axis=-1)
        return wide[..., ::2]
    if layout == "reversed":  # negative strides: a reversed view of a reversed copy
        return a[::-1].copy()[::-1]
    if layout == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "memmap":
        path = os.path.join(workdir, f"x{next(_counter)}.npy")
        np.save(path, a)
        return np.load(path, mmap_mode="r")
    if layout == "list":
        return a.tolist()
    if a.ndim != 2:
        return a
    if layout == "frame":
        return pd.DataFrame(a)
    columns = [f"pixel{j}" for j in range(a.shape[1])]
    return pd.DataFrame(a, columns=columns)


@st.composite
def matrix_specs(draw, max_samples=25, max_features=6, n_samples=None, n_features=None):
    return dict(
        n_samples=draw(st.integers(0, max_samples)) if n_samples is None else n_samples,
        n_features=draw(st.integers(0, max_features)) if n_features is None else n_features,
        dtype=draw(st.sampled_from(DTYPES)),
        scale=draw(st.sampled_from(SCALES)),
        layout=draw(st.sampled_from(LAYOUTS)),
        special=draw(st.sampled_from(SPECIALS)),
        seed=draw(st.integers(0, 2**16)),
    )


def build_matrix(spec, workdir):
    values = make_values((spec["n_samples"], spec["n_features"]), spec["dtype"], spec["scale"],
                         spec["special"], spec["seed"])
    return with_layout(values, spec["layout"], workdir)


# checking outputs
def n_rows(X) -> int:
    return len(X)


#: (dtype, value): values the dtype holds, from its largest finite value to its smallest
#: subnormal.
EXTREMES = [(np.float64, v) for v in ("max", 1e300, 1e200, 1e30, 1e-300, 5e-324)] + [
    (np.float32, v) for v in ("max", 1e37, 1e30, 1e20, 1e-30, 1e-45)]

EXTREME_IDS = [f"{np.dtype(d).name}-{v}" for d, v in EXTREMES]


def extreme(dtype, value) -> float:
    return float(np.finfo(dtype).max) if value == "max" else value


# inputs are never modified in place
def snapshot(obj):
    """A deep, independent copy of obj, with the array flags that must not change."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.copy(deep=True)
    if isinstance(obj, np.ndarray):
        return np.array(obj, copy=True), obj.flags.writeable, obj.dtype, obj.strides
    return copy.deepcopy(obj)


def assert_unchanged(before, obj, what: str) -> None:
    if isinstance(obj, pd.DataFrame):
        pd.testing.assert_frame_equal(obj, before, obj=what)
    elif isinstance(obj, pd.Series):
        pd.testing.assert_series_equal(obj, before, obj=what)
    elif isinstance(obj, np.ndarray):
        values, writeable, dtype, strides = before
        np.testing.assert_array_equal(obj, values, err_msg=f"{what} was modified")
        assert (obj.flags.writeable, obj.dtype, obj.strides) == (writeable, dtype, strides)
    else:
        assert obj == before, f"{what} was modified"
