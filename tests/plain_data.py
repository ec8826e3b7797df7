"""What a model file may hold: numpy arrays and (nested) builtins, nothing executable.

Shared by the tests of every estimator's fitted state (test_persistence.py,
test_sequence_cnn.py, test_transformer.py); imported as ``from plain_data import not_plain``
(pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import numpy as np

BUILTIN_SCALARS = (int, float, str, bool, type(None))


def not_plain(value, where: str = "model") -> list[str]:
    """Paths of the values that are neither numpy arrays nor (nested) builtins."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [p for i, v in enumerate(value.ravel()) for p in not_plain(v, f"{where}[{i}]")]
        return []
    if type(value) in BUILTIN_SCALARS:
        return []
    if type(value) in (list, tuple):
        return [p for i, v in enumerate(value) for p in not_plain(v, f"{where}[{i}]")]
    if type(value) is dict:
        return [p for k, v in value.items()
                for p in not_plain(k, f"{where} key") + not_plain(v, f"{where}[{k!r}]")]
    return [f"{where}: {type(value).__module__}.{type(value).__qualname__}"]
