"""Fits in the tests without the ConvergenceWarning of their few epochs: one helper for all."""

import warnings

from sklearn.exceptions import ConvergenceWarning


def quiet(est, method: str, *args, **kwargs):
    """``getattr(est, method)(*args, **kwargs)`` with ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(est, method)(*args, **kwargs)


def quiet_fit(est, *args, **kwargs):
    """``est.fit(*args, **kwargs)`` with ConvergenceWarning silenced; returns ``est``."""
    return quiet(est, "fit", *args, **kwargs)
