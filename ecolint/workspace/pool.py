"""Running one function over many files, in worker processes when there are enough of them.

Workers die with the process that started them: on Linux the kernel kills them when it goes
(``PR_SET_PDEATHSIG``), and everywhere :func:`parent_alive` tells a worker, before it writes a
file, whether the run it works for is still there.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

PARALLEL_THRESHOLD = 8  # below this many files, starting workers costs more than it saves
Job = TypeVar("Job")
Result = TypeVar("Result")
_PR_SET_PDEATHSIG = 1
_parent: int | None = None  # in a worker: the process id of the run that started it


def run_all(function: Callable[[Job], Result], jobs: Sequence[Job], workers: int | None = None,
            max_chunk: int = 32, on_result: Callable[[], None] | None = None) -> list[Result]:
    """``[function(job) for job in jobs]``, spread over ``workers`` processes (default: one per CPU).

    ``on_result()``, when given, is called in this process as each result comes in (for progress)."""
    workers = workers or os.cpu_count() or 1
    _fewer_collections()
    if workers < 2 or len(jobs) < PARALLEL_THRESHOLD:
        return [_counted(function(job), on_result) for job in jobs]
    import multiprocessing  # only a run with enough files pays for loading the pool (about 25 ms)
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(max_chunk, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(os.getpid(),)) as pool:
        return [_counted(result, on_result) for result in pool.map(function, jobs, chunksize=chunk)]


GC_THRESHOLDS = (50_000, 20, 100)  # linting allocates many short-lived syntax-tree objects


def _fewer_collections() -> None:
    """Run the cyclic garbage collector less often than Python's default (700 allocations): parsing makes
    hundreds of thousands of objects that die young, and frequent collections cost about a fifth of the
    run. Forked workers inherit the setting."""
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


def _counted(result: Result, on_result: Callable[[], None] | None) -> Result:
    if on_result is not None:
        on_result()
    return result


def _start_worker(parent: int) -> None:
    """In each worker: remember the parent, and on Linux ask to be killed when it dies."""
    global _parent
    _parent = parent
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # the check in parent_alive still stops the worker before it writes
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def parent_alive() -> bool:
    """False in a worker whose run was killed (it has been handed to another parent): write nothing."""
    return _parent is None or os.getppid() == _parent
