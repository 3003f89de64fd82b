"""The Prometheus series the contract names (CONTRACT §7), defined once per process.

Under gunicorn, :func:`enable_multiprocess` runs in the master before any worker exists, so every
worker writes its samples to files in one directory and ``/metrics`` (any worker) reports the sum.
It must run before ``prometheus_client`` is first imported anywhere in the master, which is why this
module imports it lazily.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from types import SimpleNamespace

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enable_multiprocess(directory: Path) -> None:
    """Start a fresh multiprocess directory (stale files from a previous run are removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


@cache
def series() -> SimpleNamespace:
    """The metric objects, created on first use (after the multiprocess decision was made)."""
    from prometheus_client import Counter, Gauge

    return SimpleNamespace(
        breaker_state=Gauge(
            "dashboard_breaker_state",
            "Circuit breaker state per worker: 0 CLOSED, 1 HALF_OPEN, 2 OPEN.",
            multiprocess_mode="livemax"),
        degraded_responses=Counter(
            "dashboard_degraded_responses_total",
            "Responses answered with a degraded (retryable database) error code.", ["code"]),
        pool_checked_out=Gauge(
            "dashboard_db_pool_checked_out",
            "Connections checked out of the live engine's pool, summed over live workers.",
            multiprocess_mode="livesum"),
        health_cache_hits=Counter(
            "dashboard_health_cache_hits_total", "Health answers served from the memo."),
        worker_restarts=Counter(
            "dashboard_worker_restarts_total", "Worker restarts by source.", ["source"]),
    )
