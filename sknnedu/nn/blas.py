"""Moved to :mod:`sknnedu.nn.threads`, the one thread policy of the core (BLAS threads
included); this old module re-exports its BLAS functions for one release."""

from .threads import blas_threads, controller, single_threaded

__all__ = ["controller", "n_threads", "single_threaded"]

#: The old name of :func:`sknnedu.nn.threads.blas_threads`.
n_threads = blas_threads
