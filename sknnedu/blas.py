"""Moved to :mod:`sknnedu.nn.blas`; this old path is an alias kept for one release."""

import sys

from .nn import blas as _module

sys.modules[__name__] = _module
