"""Running one function over many files, in worker processes when there are enough of them."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

PARALLEL_THRESHOLD = 8  # below this many files, starting workers costs more than it saves
Job = TypeVar("Job")
Result = TypeVar("Result")


def run_all(function: Callable[[Job], Result], jobs: Sequence[Job], workers: int | None = None,
            max_chunk: int = 32) -> list[Result]:
    """``[function(job) for job in jobs]``, spread over ``workers`` processes (default: one per CPU)."""
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(jobs) < PARALLEL_THRESHOLD:
        return [function(job) for job in jobs]
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(max_chunk, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(function, jobs, chunksize=chunk))
