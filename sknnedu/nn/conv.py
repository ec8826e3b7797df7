"""2-D convolution, padding and pooling on batches of images: the functions, in one place.

The notes' ``conv2D``, ``padding`` and ``maxPool`` for batches of channels-last images
``(n, h, w, c)``, with their backward passes. The code lives in one module per concept,
read in this order:

1. :mod:`~sknnedu.nn.geometry`: output sizes, ``'same'`` padding, :func:`pad2d`, and
   how rows of a data set are read as images;
2. :mod:`~sknnedu.nn.im2col`: the patch matrix ``P`` (:func:`~sknnedu.nn.im2col.im2col`)
   and its adjoint (:func:`~sknnedu.nn.im2col.col2im`), the whole trick of a fast
   convolution;
3. :mod:`~sknnedu.nn.pooling`: max and average pooling, forward and backward;
4. :mod:`~sknnedu.nn.convolution`: :func:`conv2d`, :func:`conv_pool2d` (convolution,
   activation and pooling fused, chunk by chunk) and :func:`conv2d_backward`;
5. :mod:`~sknnedu.nn.threads`: how chunks of images are spread over threads.

This module gathers their public functions, so that ``from sknnedu.nn.conv import
conv2d`` (and ``sknnedu.conv2d``) keep working. The settings :data:`CHUNK_BYTES`,
:data:`N_THREADS` (of :mod:`~sknnedu.nn.threads`) and :data:`BLOCK_WIDTH` (of
:mod:`~sknnedu.nn.convolution`) may be read and set here too: ``conv.N_THREADS = 1``
sets :data:`sknnedu.nn.threads.N_THREADS`.
"""

from __future__ import annotations

import sys
import types

from . import convolution, threads
from .convolution import MONOTONE_ACTIVATIONS as MONOTONE_ACTIVATIONS
from .convolution import conv2d, conv2d_backward, conv_pool2d
from .geometry import PadWidths as PadWidths
from .geometry import Pair as Pair
from .geometry import conv_geometry, pad2d, pool_geometry
from .pooling import avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_backward

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_geometry",
    "conv_pool2d",
    "max_pool2d",
    "max_pool2d_backward",
    "pad2d",
    "pool_geometry",
]

PoolName = str | None

#: setting -> the module that owns it (read and written through this module)
_SETTINGS = {"CHUNK_BYTES": threads, "N_THREADS": threads, "BLOCK_WIDTH": convolution}


def _forwarded(name: str) -> property:
    """``conv.<name>`` reads and writes ``<owner>.<name>``."""
    owner = _SETTINGS[name]
    return property(lambda self: getattr(owner, name),
                    lambda self, value: setattr(owner, name, value),
                    doc=f"{owner.__name__}.{name}")


class _ConvModule(types.ModuleType):
    """This module, with :data:`_SETTINGS` forwarded to the modules that use them."""

    CHUNK_BYTES = _forwarded("CHUNK_BYTES")
    N_THREADS = _forwarded("N_THREADS")
    BLOCK_WIDTH = _forwarded("BLOCK_WIDTH")


sys.modules[__name__].__class__ = _ConvModule
