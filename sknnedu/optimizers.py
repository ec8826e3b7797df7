"""Moved to :mod:`sknnedu.nn.optimizers`; this old path is an alias kept for one release."""

import sys

from .nn import optimizers as _module

sys.modules[__name__] = _module
