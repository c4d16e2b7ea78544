"""BLAS thread pinning.

A web worker answers one request at a time per thread; letting OpenBLAS/MKL spawn a
thread per core for each small product only adds contention between workers. Serving
pins BLAS to ``blas_threads`` (default 1) per process with threadpoolctl; training
lifts the limit to every core for its own duration. Without threadpoolctl, set
``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1`` in the web workers'
environment before they start (see docs/recommendations.md).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
    threadpool_limits = None

_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pin_blas(threads: int = 1) -> str:
    """Limit BLAS threads in this process; returns how it was done."""
    threads = max(int(threads), 1)
    if threadpool_limits is not None:
        threadpool_limits(limits=threads, user_api="blas")
        return f"threadpoolctl:{threads}"
    for var in _ENV_VARS:  # only effective if BLAS is not loaded yet
        os.environ.setdefault(var, str(threads))
    return f"env:{threads}"


def blas_threads() -> int | None:
    """Current BLAS thread count (None when unknown)."""
    if threadpool_limits is None:
        return None
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return min(counts) if counts else None


@contextmanager
def training_threads() -> Iterator[None]:
    """Every core for the duration of a training run, then the previous limit."""
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=os.cpu_count() or 1, user_api="blas"):
        yield
