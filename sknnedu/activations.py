"""Moved to :mod:`sknnedu.nn.activations`; this old path is an alias kept for one release."""

import sys

from .nn import activations as _module

sys.modules[__name__] = _module
