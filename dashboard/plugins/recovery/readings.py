"""What recovery reads from the other plugins, only through hooks (a plugin never imports another).

The breaker's state comes from the ``breaker`` check of ``dashboard_health_checks``; checks,
votes and thresholds are gathered by :mod:`dashboard.hooks.resilience`, the same way health gathers
them. The pool figures and bounds come from the live engines of the worker that answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard import (
    DEFAULT_ENGINE,
    CheckResult,
    collect_thresholds,
    database_engines,
    engine_bounds,
    pool_bounds,
    saturation_status,
)
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
    """``checks.pool`` as health shows it; computed from the live pools when health is off (the
    most saturated engine's, as health does; zeros with no engine).

    Without health there are no saturation thresholds to judge by (they are health's settings,
    and recovery does not guess them): the status is then only ``fail`` when the pool is full.
    """
    check = checks.get("pool")
    if check is not None:
        return check.payload()
    worst: dict[str, Any] | None = None
    for name, engine in database_engines(host):
        overflow = (host.settings.database.max_overflow if name == DEFAULT_ENGINE
                    else pool_bounds(engine.pool)["max_overflow"])
        now = live_pool_figures(engine.pool, overflow if isinstance(overflow, int) else 0)
        if worst is None or now["saturation"] > worst["saturation"]:
            worst = now
    figures = worst if worst is not None else live_pool_figures(None, 0)
    thresholds = collect_thresholds(host)
    warning = float(thresholds.get("pool_saturation_warning", FULL))
    critical = float(thresholds.get("pool_saturation_critical", FULL))
    return {"status": saturation_status(figures["saturation"], warning, critical), **figures}


#: The top-level fields of system-status ``database``, from one engine's bounds.
TOP_LEVEL = ("dialect", "pool_size", "max_overflow", "pool_timeout", "connect_timeout",
             "call_timeout_ms", "pool_recycle")


def database_figures(host: Host, checks: Mapping[str, CheckResult]) -> dict[str, Any]:
    """The ``database`` block of system-status, read from the live engines (credentials masked).

    ``engines`` lists every engine the app uses with its effective bounds
    (:func:`dashboard.engine_bounds`). The top-level fields are the host's own engine's when it
    builds one (as in edition 2), else the first adopted engine's, and ``null`` while there is
    no engine at all; ``pool`` is the most saturated engine's (``checks.pool``).
    """
    engines = [engine_bounds(host, name, engine) for name, engine in database_engines(host)]
    first = engines[0] if engines else {}
    return {**{key: first.get(key) for key in TOP_LEVEL},
            "pool": pool_figures(host, checks), "engines": engines}
