"""What recovery reads from the other plugins, only through hooks (a plugin never imports another).

The breaker's state comes from the ``breaker`` check of ``dashboard_health_checks``; checks,
votes and thresholds are gathered by :mod:`dashboard.hooks.resilience`, the same way health gathers
them. The pool figures come from the live engine of the worker that answers, never from the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard import CheckResult, collect_thresholds, saturation_status
from dashboard import pool_figures as live_pool_figures

#: A pool with every connection checked out: full, whatever anyone's thresholds are.
FULL = 1.0

if TYPE_CHECKING:
    from dashboard import Host


def breaker_state(checks: Mapping[str, CheckResult]) -> str | None:
    """``CLOSED`` / ``OPEN`` / ``HALF_OPEN`` from the breaker check, ``None`` without a breaker."""
    check = checks.get("breaker")
    state = check.details.get("state") if check is not None else None
    return str(state) if state is not None else None


def pool_figures(host: Host, checks: Mapping[str, CheckResult]) -> dict[str, Any]:
    """``checks.pool`` as health shows it; computed from the live pool when health is off.

    Without health there are no saturation thresholds to judge by (they are health's settings,
    and recovery does not guess them): the status is then only ``fail`` when the pool is full.
    """
    check = checks.get("pool")
    if check is not None:
        return check.payload()
    figures = live_pool_figures(host.engine.pool, host.settings.database.max_overflow)
    thresholds = collect_thresholds(host)
    warning = float(thresholds.get("pool_saturation_warning", FULL))
    critical = float(thresholds.get("pool_saturation_critical", FULL))
    return {"status": saturation_status(figures["saturation"], warning, critical), **figures}


def database_figures(host: Host, checks: Mapping[str, CheckResult]) -> dict[str, Any]:
    """The ``database`` block of system-status: the live engine's pool settings, no URL."""
    engine = host.engine
    pool: Any = engine.pool
    database = host.settings.database
    return {
        "dialect": engine.dialect.name,
        "pool_size": pool.size(),
        "max_overflow": getattr(pool, "_max_overflow", None),
        "pool_timeout": getattr(pool, "_timeout", None),
        "connect_timeout": database.connect_timeout,
        "call_timeout_ms": database.call_timeout_ms,
        "pool_recycle": getattr(pool, "_recycle", None),
        "pool": pool_figures(host, checks),
    }
