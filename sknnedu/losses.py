"""Moved to :mod:`sknnedu.nn.losses`; this old path is an alias kept for one release."""

import sys

from .nn import losses as _module

sys.modules[__name__] = _module
