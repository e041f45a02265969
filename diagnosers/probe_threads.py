"""The probe judge's threads: how many measure one clip, and the long-lived pool they run in (decision 102)."""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor


def probe_threads() -> int:
    """Threads the judge measures one clip with: `MTAVG_PROBE_THREADS`, else 1 in a process whose math
    libraries are pinned to one thread (`OMP_NUM_THREADS=1`: the flows' worker processes, one per
    core, already fill the machine), else 2 where there are two cores or more."""
    env = os.environ.get("MTAVG_PROBE_THREADS")
    if env:
        return max(1, int(env))
    if os.environ.get("OMP_NUM_THREADS") == "1":
        return 1
    return min(2, os.cpu_count() or 1)


@functools.cache
def one_blas_thread() -> None:
    """numpy's BLAS on one thread in a process that runs the probe judge (decision 102).

    The probes' matrix products are small (a 40x201 mel basis times a clip's spectrum, per-pixel
    3-vectors): a second OpenBLAS thread costs more in hand-offs and spinning than it computes
    (`_mel`: 15 ms of CPU with two BLAS threads, 2.3 ms with one; the whole judge ~15 % less CPU),
    and the judge brings its own threads. The flows' worker processes are already set so
    (`OPENBLAS_NUM_THREADS=1`). Results do not change: each product is still summed by one thread.
    Done once per process, not per judge built.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it BLAS keeps its default
        return
    threadpool_limits(limits=1, user_api="blas")


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def pool(threads: int) -> ThreadPoolExecutor:
    """One long-lived pool per size: torch sets up its kernels once per thread (~0.25 s for the
    voice encoder's LSTM), so fresh threads for every clip would pay that every time."""
    with _POOLS_LOCK:
        if threads not in _POOLS:
            _POOLS[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="probes")
        return _POOLS[threads]
