"""The module paths that moved in 0.2, in one place: importing an old one warns and gives the new.

0.1 kept ten alias modules at the top of the package (``sknnedu/conv.py``, ``layers.py``,
``network.py``, ...) after the core moved into :mod:`sknnedu.nn`. They are gone; this
finder, installed by ``import sknnedu``, answers their names instead, for one more release:
``import sknnedu.conv`` raises a :class:`FutureWarning` that names the new path and returns
:mod:`sknnedu.nn.conv` itself (the same module object, so patches and ``isinstance`` hold).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old path -> new path
MOVED = {f"sknnedu.{name}": f"sknnedu.nn.{name}"
         for name in ("activations", "initializers", "losses", "optimizers", "layers", "conv",
                      "conv_layers", "network")}
MOVED["sknnedu.blas"] = MOVED["sknnedu.nn.blas"] = "sknnedu.nn.threads"


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A finder and loader for the names of :data:`MOVED` only."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new} in sknnedu 0.2; import {new} instead (the "
                      "old path goes in 0.3).", FutureWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module) -> None:
        """The new module is already executed."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import sknnedu`` calls this)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
