"""Per-engine series and this worker's probe readings, primed once per process.

Why once: ``prime`` runs at every scrape, and a probe reading (``database_up`` 0) must never be
overwritten by the starting value. A forked worker starts afresh (its samples live in its own
files), which is why the mark is kept per pid.
"""

from __future__ import annotations

import os

from dashboard.metrics.series import series


def prime_engine(engine: str) -> None:
    """The per-engine series at 0, and this worker's probe readings at their starting values.

    ``database_up`` starts at 1 and ``dashboard_health_status`` at 0 (healthy): nothing has
    failed yet, and the background probe's first reading (taken as the worker starts) replaces
    them. Starting them at 0 would make an engine nobody probes read as down. They are set once
    per process (a later prime, at every scrape, must not overwrite a probe's reading).
    """
    metrics = series()
    for gauge in (metrics.pool_size, metrics.pool_overflow, metrics.pool_waiting):
        gauge.labels(engine=engine)
    metrics.pool_timeouts.labels(engine=engine)
    if mark_set(("database_up", engine)):
        metrics.database_up.labels(engine=engine).set(1)
    if mark_set(("health_status",)):
        metrics.health_status.set(0)


_set_in: dict[tuple[str, ...], int] = {}


def mark_set(key: tuple[str, ...]) -> bool:
    """``True`` the first time this process asks for ``key`` (a forked worker starts afresh)."""
    pid = os.getpid()
    if _set_in.get(key) == pid:
        return False
    _set_in[key] = pid
    return True
