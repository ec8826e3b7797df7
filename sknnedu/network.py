"""Moved to :mod:`sknnedu.nn.network`; this old path is an alias kept for one release."""

import sys

from .nn import network as _module

sys.modules[__name__] = _module
