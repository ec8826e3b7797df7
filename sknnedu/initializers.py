"""Moved to :mod:`sknnedu.nn.initializers`; this old path is an alias kept for one release."""

import sys

from .nn import initializers as _module

sys.modules[__name__] = _module
