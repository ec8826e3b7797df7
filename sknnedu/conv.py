"""Moved to :mod:`sknnedu.nn.conv`; this old path is an alias kept for one release."""

import sys

from .nn import conv as _module

sys.modules[__name__] = _module
