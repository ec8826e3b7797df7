"""Moved to :mod:`sknnedu.nn.layers`; this old path is an alias kept for one release."""

import sys

from .nn import layers as _module

sys.modules[__name__] = _module
