"""One pool of worker processes per process, shared by every flow run: CPU-bound work on every core."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, TypeVar

from flows.params import Executor
from flows.work import worker_init

T = TypeVar("T")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0


def resolve_workers(workers: int) -> int:
    return workers if workers > 0 else max(1, os.cpu_count() or 1)


def pool(workers: int) -> ProcessPoolExecutor:
    """The shared pool, (re)made with `workers` processes; 'spawn' because Prefect's threads make fork unsafe."""
    global _pool, _size
    n = resolve_workers(workers)
    with _lock:
        if _pool is None or _size != n:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=worker_init)
            _size = n
        return _pool


def run(executor: Executor, workers: int, fn: Callable[..., T], *args: Any) -> T:
    """Run one unit of work where the parameters say: in a worker process, or right here."""
    if executor is Executor.thread:
        return fn(*args)
    future: Future[T] = pool(workers).submit(fn, *args)
    return future.result()


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


atexit.register(shutdown)
