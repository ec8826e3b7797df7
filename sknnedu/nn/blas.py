"""One BLAS thread for a while, safely shared between threads.

Small matrix products (a batch of 200 x 64 x 128, a chunk of a convolution) run
faster on one BLAS thread than on several, and very much faster on a busy
machine. threadpoolctl's limits are process-wide, though: two overlapping
``with limit(...)`` blocks in two threads restore in the wrong order and can
leave the whole process on one thread. :func:`single_threaded` counts who is
inside: the first to enter sets the limit, the last to leave restores it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_state: dict = {"depth": 0, "limiter": None, "controller": None, "outer": 1}


def controller():
    """threadpoolctl's controller of the loaded BLAS libraries (made once)."""
    if _state["controller"] is None:
        _state["controller"] = ThreadpoolController().select(user_api="blas")
    return _state["controller"]


def n_threads() -> int:
    """The number of threads BLAS uses outside :func:`single_threaded` blocks.

    Inside a block it is the count from before the block (read once, when the
    first block was entered): code that splits work over Python threads, each
    running single-threaded BLAS, asks how many cores BLAS would have used.
    """
    with _lock:
        if _state["depth"] > 0:
            return _state["outer"]
    return _read_threads()


def _read_threads() -> int:
    return max((lib["num_threads"] for lib in controller().info()), default=1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Within this block BLAS uses one thread; nested and concurrent uses are safe."""
    with _lock:
        if _state["depth"] == 0:
            _state["outer"] = _read_threads()
            _state["limiter"] = controller().limit(limits=1)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None
