"""``/metrics``: the Prometheus text format, summed over every gunicorn worker of the host.

Under gunicorn the master prepares a multiprocess directory before any worker forks (see
:mod:`dashboard.metrics.series`); each worker writes its samples there and whichever worker
answers a scrape reads them all (``MultiProcessCollector``), so counters are sums over workers,
the pool gauge (``livesum``) sums live workers and the breaker gauge (``livemax``) shows the
worst live worker. When a worker exits, the master marks it dead (:func:`mark_worker_dead`),
so its live gauges stop counting while its counters keep their totals.

``prometheus_client`` is imported lazily everywhere here: importing it before the multiprocess
directory is chosen would pin the process to single-process values.
"""

from __future__ import annotations

from typing import Any

from dashboard import (
    DEFAULT_ENGINE,
    DEGRADED_CODES,
    RESTART_SOURCES,
    prime_metrics,
    render_metrics,
    series,
)

__all__ = ["RESTART_SOURCES", "mark_worker_dead", "prime_series", "render", "track_pool"]


def prime_series() -> Any:
    """Create every series and the label values clients expect, so a scrape lists them at 0."""
    return prime_metrics(DEGRADED_CODES)


def render(pool: Any) -> tuple[bytes, str]:
    """The exposition text and its content type; ``pool`` is the live pool of this worker's
    own engine (``None`` when the host builds none: the per-engine gauges still follow the
    app's engines)."""
    metrics = prime_series()
    checked_out = getattr(pool, "checkedout", None)
    if checked_out is not None:
        metrics.pool_checked_out.set(checked_out())
    return render_metrics()


def mark_worker_dead(pid: int) -> None:
    """Archive a dead worker's counters and drop its live gauges (in the master, on reaping).

    The host's ``child_exit`` does this too, whether or not this plugin is enabled; doing it
    twice is harmless.
    """
    from dashboard import retire_worker_metrics

    retire_worker_metrics(pid)


def track_pool(engine: Any, name: str = DEFAULT_ENGINE) -> None:
    """Keep ``engine``'s pool series current between scrapes.

    ``dashboard_db_pool_checked_out`` (the host's engine only, no label: it predates the
    per-engine gauges and dashboards read it as it is) is set, never incremented, on every
    checkout and checkin, so a checkout that another listener refused (the breaker) cannot make
    the gauge drift. SQLAlchemy fires ``checkin`` before the connection is back in the pool,
    hence the ``- 1``; the listeners move with the pool when ``engine.dispose()`` replaces it,
    so they read the engine's current pool. Size, overflow, waiting and timeouts, per engine,
    come from :func:`dashboard.metrics.pools.watch_engine`. Accepts a bare pool too (no
    per-engine gauges then).
    """
    from sqlalchemy import event

    from dashboard import watch_engine

    pool_of = (lambda: engine.pool) if hasattr(engine, "pool") else (lambda: engine)
    if hasattr(engine, "pool"):
        watch_engine(name, engine)
    if name != DEFAULT_ENGINE:
        return

    def on_checkout(*_args: Any) -> None:
        series().pool_checked_out.set(pool_of().checkedout())

    def on_checkin(*_args: Any) -> None:
        series().pool_checked_out.set(max(0, pool_of().checkedout() - 1))

    pool = pool_of()
    if hasattr(pool, "checkedout"):
        event.listen(pool, "checkout", on_checkout)
        event.listen(pool, "checkin", on_checkin)
