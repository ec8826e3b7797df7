"""The one thread splitter of the core: who runs on how many threads, BLAS included.

Layers and functions say what their work costs and how it divides; this module decides
how many threads run it. Three decisions live here, and nowhere else:

1. **BLAS threads.** Small matrix products (a batch of 200 x 64 x 128, a chunk of a
   convolution) run faster on one BLAS thread than on several, and very much faster on a
   busy machine. threadpoolctl's limits are process-wide, though: two overlapping
   ``with limit(...)`` blocks in two threads restore in the wrong order and can leave the
   whole process on one thread. :func:`single_threaded` counts who is inside: the first
   to enter sets the limit, the last to leave restores it.
2. **Splitting work over Python threads.** Independent pieces of work (the chunks of
   images of :func:`~sknnedu.nn.conv.conv2d`, the parts of a batch of a conv layer) run
   on as many Python threads as BLAS would use (:func:`n_workers`), each piece with
   single-threaded BLAS: numpy releases the GIL in copies, ufuncs and products, so
   several small products side by side beat one product split over threads, and a thread
   slowed by another program delays only its own piece. :func:`run_chunks` hands out
   chunks of about :data:`CHUNK_BYTES` of scratch each, in turn, to workers with their
   own buffers; :func:`run_parts` runs a batch in :func:`n_parts` consecutive parts of at
   least :data:`MIN_PART` samples. :data:`N_THREADS` overrides the count (1: one piece
   at a time, with BLAS's own threads).
3. **A training step.** :func:`step_blas` gives the BLAS threads of a whole step from the
   cost the layers report (``flops``, multiply-adds per sample): one thread when a layer
   splits its batch over Python threads, or when the largest product is small
   (``batch_size * flops < SMALL_PRODUCT``).

Processes
---------
The worker threads belong to one process-wide pool, made on first use. A process made
by ``fork`` (``multiprocessing``'s default on Linux, joblib's ``'multiprocessing'``
backend) inherits the pool object but none of its threads: work submitted there would
wait forever. So the pool remembers the id of the process that made it, a child makes
its own on first use, and ``os.register_at_fork`` gives the child fresh locks and
forgets BLAS limits entered by threads that did not survive the fork.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

__all__ = [
    "CHUNK_BYTES",
    "MAX_THREADS",
    "MIN_PART",
    "N_THREADS",
    "SMALL_PRODUCT",
    "blas_threads",
    "chunk_size",
    "n_parts",
    "n_workers",
    "run_chunks",
    "run_parts",
    "single_threaded",
    "step_blas",
]

#: Python threads splitting work (at most :data:`MAX_THREADS`). None: as many as BLAS
#: would use (:func:`blas_threads`), each running BLAS single-threaded; 1: one piece at a
#: time, with BLAS's own threads.
N_THREADS: int | None = None

#: Most worker threads (each holds its own scratch buffers).
MAX_THREADS = 16

#: Target size in bytes of the scratch of one chunk of images (at least one image per
#: chunk). About the size of the CPU's L2/L3 cache: larger chunks do not make the matrix
#: product faster, only the copies slower.
CHUNK_BYTES = 4 * 2**20

#: Fewest samples in a part of a batch run by one thread (:func:`n_parts`).
MIN_PART = 8

#: Below this many multiply-adds per batch and layer, BLAS runs on one thread: waking
#: threads for a 200 x 64 x 128 product costs more than it saves (:func:`step_blas`).
SMALL_PRODUCT = 4_000_000


# ----------------------------------------------------------------------------------------
# BLAS threads
# ----------------------------------------------------------------------------------------
_blas_lock = threading.Lock()
#: depth: blocks inside single_threaded; outer: BLAS's threads before the first block;
#: generation: bumped in a forked child, so blocks entered before the fork do not count
_blas: dict = {"depth": 0, "limiter": None, "controller": None, "outer": 1, "generation": 0}


def controller():
    """threadpoolctl's controller of the loaded BLAS libraries (made once)."""
    if _blas["controller"] is None:
        _blas["controller"] = ThreadpoolController().select(user_api="blas")
    return _blas["controller"]


def blas_threads() -> int:
    """The number of threads BLAS uses outside :func:`single_threaded` blocks.

    Inside a block it is the count from before the block (read when the first block was
    entered): code that splits work over Python threads, each running single-threaded
    BLAS, asks how many cores BLAS would have used.
    """
    with _blas_lock:
        if _blas["depth"] > 0:
            return _blas["outer"]
    return _read_blas_threads()


def _read_blas_threads() -> int:
    return max((lib["num_threads"] for lib in controller().info()), default=1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Within this block BLAS uses one thread; nested and concurrent uses are safe."""
    with _blas_lock:
        if _blas["depth"] == 0:
            _blas["outer"] = _read_blas_threads()
            _blas["limiter"] = controller().limit(limits=1)
        _blas["depth"] += 1
        generation = _blas["generation"]
    try:
        yield
    finally:
        with _blas_lock:
            if generation == _blas["generation"]:  # else a fork reset the count
                _blas["depth"] -= 1
                if _blas["depth"] == 0:
                    _blas["limiter"].restore_original_limits()
                    _blas["limiter"] = None


def step_blas(layers, batch_size: int) -> contextlib.AbstractContextManager:
    """The BLAS threads of a training step, as a context manager to run the step in.

    :func:`single_threaded` when a layer splits its batch over Python threads itself
    (``runs_own_threads``: each part already runs single-threaded BLAS, and the step is
    then many times faster on a busy machine), or when the largest product of the other
    layers is small, ``batch_size * max(flops) < SMALL_PRODUCT``; else BLAS's own threads.

    Parameters
    ----------
    layers : list of layers
        Each reports ``flops``, its multiply-adds per sample.
    batch_size : int

    Returns
    -------
    context : context manager
    """
    splits = any(getattr(layer, "runs_own_threads", False) for layer in layers)
    flops = max((layer.flops for layer in layers
                 if not getattr(layer, "runs_own_threads", False)), default=0.0)
    if splits or batch_size * flops < SMALL_PRODUCT:
        return single_threaded()
    return contextlib.nullcontext()


# ----------------------------------------------------------------------------------------
# the worker pool, one per process
# ----------------------------------------------------------------------------------------
_pool_lock = threading.Lock()
_pool: dict = {"executor": None, "pid": None}
_in_worker = threading.local()  # .active: this thread is one of the pool's workers


def _executor() -> ThreadPoolExecutor:
    """The pool of this process: made on first use, and again in a forked child."""
    with _pool_lock:
        if _pool["executor"] is None or _pool["pid"] != os.getpid():
            _pool["executor"] = ThreadPoolExecutor(
                MAX_THREADS, thread_name_prefix="sknnedu", initializer=_mark_worker)
            _pool["pid"] = os.getpid()
        return _pool["executor"]


def _mark_worker() -> None:
    _in_worker.active = True


def _after_fork_in_child() -> None:
    """A forked child has only the thread that forked: fresh locks, no pool, no BLAS blocks."""
    global _pool_lock, _blas_lock
    _pool_lock, _blas_lock = threading.Lock(), threading.Lock()
    _pool["executor"] = _pool["pid"] = None
    if _blas["depth"] > 0:  # entered by threads that do not exist here
        with contextlib.suppress(Exception):
            _blas["limiter"].restore_original_limits()
        _blas["depth"], _blas["limiter"] = 0, None
    _blas["generation"] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def n_workers(n_tasks: int) -> int:
    """Threads for ``n_tasks`` pieces: :data:`N_THREADS` or :func:`blas_threads`, capped.

    At most ``n_tasks`` and :data:`MAX_THREADS`; 1 inside a worker of the pool (a piece
    of work that splits again runs its pieces itself, so no worker waits for a free one).
    """
    if getattr(_in_worker, "active", False):
        return 1
    wanted = blas_threads() if N_THREADS is None else N_THREADS
    return max(1, min(wanted, n_tasks, MAX_THREADS))


def chunk_size(n: int, bytes_per_image: int) -> int:
    """Images per chunk: about :data:`CHUNK_BYTES` of scratch, at least 1 (also for n = 0)."""
    return int(max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image))))


def run_chunks(n: int, chunk: int, work: Callable, make_buffers: Callable) -> None:
    """Call ``work(start, stop, buffers)`` on every chunk ``start:stop`` of ``range(n)``.

    With several workers (:func:`n_workers`) each has its own ``make_buffers()`` and
    takes the next chunk when done, under :func:`single_threaded` BLAS; nothing grows
    with ``n`` (no future per chunk), and all stop at the first error, which is raised.
    With one, the chunks run here in order, with BLAS's own threads.
    """
    starts = range(0, n, chunk)
    workers = n_workers(len(starts))
    if workers == 1:
        bufs = make_buffers()
        for start in starts:
            work(start, min(start + chunk, n), bufs)
        return
    lock, failed = threading.Lock(), threading.Event()
    chunks = iter(starts)

    def worker():
        bufs = make_buffers()
        while not failed.is_set():
            with lock:
                start = next(chunks, None)
            if start is None:
                return
            try:
                work(start, min(start + chunk, n), bufs)
            except BaseException:
                failed.set()
                raise

    _run_in_pool([worker] * workers)


def n_parts(m: int) -> int:
    """Parts of a batch of ``m``: one per worker (:func:`n_workers`), each of at least
    :data:`MIN_PART` samples."""
    return max(1, min(n_workers(m), m // MIN_PART))


def run_parts(m: int, parts: int, work: Callable) -> None:
    """Call ``work(start, stop, part)`` on ``parts`` consecutive parts of ``range(m)``.

    ``part`` is the index of the part (a layer keeps one gradient buffer per part). With
    several parts they run in the pool under :func:`single_threaded` BLAS, each on its
    own slices of the caller's buffers; the first error is raised.
    """
    if parts == 1:
        work(0, m, 0)
        return
    bounds = [m * p // parts for p in range(parts + 1)]
    _run_in_pool([
        (lambda p=p: work(bounds[p], bounds[p + 1], p)) for p in range(parts)])


def _run_in_pool(tasks: list[Callable]) -> None:
    """Run ``tasks`` in the pool with single-threaded BLAS; wait for all, raise the first error."""
    pool = _executor()
    with single_threaded():
        futures = [pool.submit(task) for task in tasks]
        errors = [future.exception() for future in futures]  # waits for every task
    for error in errors:
        if error is not None:
            raise error
