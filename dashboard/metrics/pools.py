"""Pool gauges per engine, sampled on the metrics beat, and the pool-timeout counter.

``dashboard_db_pool_size``, ``_overflow`` and ``_waiting`` (``livesum`` gauges, ``engine``
label) are read from the pool itself every :data:`dashboard.metrics.batch.FLUSH_SECONDS` by each
process that has the engine, and written only when they changed: nothing on the request path,
and a scrape sees every worker's figures at most one beat old. ``waiting`` is the number of
threads blocked in the pool's queue for a free connection (SQLAlchemy's ``QueuePool`` keeps them
on a ``threading.Condition``); pools without a queue report 0.

``dashboard_db_pool_timeouts_total{engine}`` counts checkouts that gave up after
``pool_timeout`` (SQLAlchemy's ``TimeoutError``): the pool's ``connect`` is wrapped on the
instance, and wrapped again when ``engine.dispose()`` replaced the pool (the sampler notices).

Saturation in PromQL: ``dashboard_db_pool_checked_out / dashboard_db_pool_size`` above 1 means
overflow connections are in use, and ``dashboard_db_pool_waiting > 0`` that requests queue.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dashboard.metrics.batch import register
from dashboard.metrics.series import series

_WRAPPED = "_dashboard_timeouts_counted"
#: Strong references: the beat holds its flushables weakly. One sampler per engine name.
_samplers: dict[str, PoolSampler] = {}


def watch_engine(name: str, engine: Any) -> PoolSampler:
    """Sample ``engine``'s pool as ``engine=name`` from now on (replacing an earlier one)."""
    sampler = PoolSampler(name, engine)
    _samplers[name] = sampler
    sampler.flush()
    register(sampler)
    return sampler


def waiting(pool: Any) -> int:
    """Threads waiting for a connection of ``pool`` now (0 when the pool has no queue)."""
    queue = getattr(pool, "_pool", None)
    condition = getattr(queue, "not_empty", None)
    waiters = getattr(condition, "_waiters", None)
    try:
        return len(waiters) if waiters is not None else 0
    except TypeError:
        return 0


def figures(pool: Any) -> tuple[int, int, int]:
    """``(size, overflow above size, waiting)`` of ``pool``; zeros where it has no such idea."""
    size = _int(pool, "size")
    overflow = max(0, _int(pool, "overflow"))
    return size, overflow, waiting(pool)


def _int(pool: Any, method: str) -> int:
    function = getattr(pool, method, None)
    value = function() if callable(function) else 0
    return value if isinstance(value, int) else 0


class PoolSampler:
    """Writes one engine's pool gauges when they change; counts its pool's timeouts."""

    def __init__(self, name: str, engine: Any) -> None:
        self.name = name
        self._engine = engine
        self._last: tuple[int, tuple[int, int, int]] | None = None  # (pid, figures)
        metrics = series()
        self._gauges = tuple(gauge.labels(engine=name) for gauge in
                             (metrics.pool_size, metrics.pool_overflow, metrics.pool_waiting))
        self._timeouts = metrics.pool_timeouts.labels(engine=name)

    def flush(self) -> None:
        pool = self._engine.pool
        if not getattr(pool, _WRAPPED, False):
            self._count_timeouts(pool)
        now = (os.getpid(), figures(pool))  # a forked worker writes its own files afresh
        if now != self._last:
            self._last = now
            for gauge, value in zip(self._gauges, now[1], strict=True):
                gauge.set(value)

    def _count_timeouts(self, pool: Any) -> None:
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        connect = getattr(pool, "connect", None)
        if connect is None:
            return
        timeouts = self._timeouts

        def connect_counting_timeouts() -> Any:
            try:
                return connect()
            except PoolTimeout:
                with contextlib.suppress(Exception):
                    timeouts.inc()
                raise

        pool.connect = connect_counting_timeouts
        setattr(pool, _WRAPPED, True)
