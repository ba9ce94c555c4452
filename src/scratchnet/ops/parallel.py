"""Split a batch across threads: NumPy and BLAS release the GIL, so element-wise work (im2col
copies, masks, pooling) uses every core instead of one.

While chunks run, BLAS is limited to one thread per chunk so the cores are not oversubscribed.
``set_num_threads(n)`` chooses how many chunks (threads) are used; 1 runs everything inline.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

T = TypeVar("T")

_controller: ThreadpoolController | None = None
_pool: ThreadPoolExecutor | None = None
_threads = 0  # 0: not chosen yet


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def num_threads() -> int:
    """How many threads a batch is split across (default: the usable CPU cores)."""
    global _threads
    if _threads == 0:
        _threads = _default_threads()
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for batch-split work (1 = no threads). BLAS is limited separately."""
    global _threads, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of threads must be an integer >= 1, got {n!r}")
    _threads = n
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None


def chunk_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """Split range(n) into at most ``parts`` contiguous, near-equal, non-empty (start, stop)."""
    parts = max(1, min(parts, n))
    step, extra = divmod(n, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + step + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def run_chunks(work: Callable[[int, int], T], n: int, min_chunk: int = 1) -> list[T]:
    """Call ``work(start, stop)`` on contiguous chunks of range(n), one per thread; results in
    chunk order. Small batches (fewer than ``2 * min_chunk`` items) run inline."""
    global _pool, _controller
    parts = min(num_threads(), max(1, n // max(1, min_chunk)))
    if parts <= 1:
        return [work(0, n)]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=num_threads(), thread_name_prefix="scratchnet")
    if _controller is None:
        _controller = ThreadpoolController()
    # NumPy's floating-point error settings are per thread: carry the caller's into the
    # workers, so np.errstate(...) around a model call governs all of its chunks.
    settings = np.geterr()

    def in_callers_errstate(a: int, b: int) -> T:
        with np.errstate(**settings):
            return work(a, b)
    # The calling thread runs the first chunk itself: one thread hand-off fewer per call.
    first, *rest = chunk_bounds(n, parts)
    with _controller.limit(limits=1, user_api="blas"):
        futures = [_pool.submit(in_callers_errstate, a, b) for a, b in rest]
        try:
            results = [work(*first)]
        finally:
            wait(futures)
        return results + [f.result() for f in futures]


def one_blas_thread():
    """A context in which BLAS runs on one thread (the inference path's tiny batches: on a
    busy machine a multi-threaded BLAS call on one sample can wait milliseconds for its
    second thread, e.g. the 9216x128 GEMV of the MNIST CNN)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
