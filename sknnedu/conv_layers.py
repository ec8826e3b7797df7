"""Moved to :mod:`sknnedu.nn.conv_layers`; this old path is an alias kept for one release."""

import sys

from .nn import conv_layers as _module

sys.modules[__name__] = _module
