"""What recovery reads from the other plugins, only through hooks (a plugin never imports another).

The breaker's state comes from the ``breaker`` check of ``dashboard_health_checks``; the
recommendation is the strongest ``dashboard_recommendation`` vote (recover > throttle > observe),
the same rule the health plugin applies. The pool figures come from the live engine of the worker
that answers, never from the URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard.checks import ACTION_STRENGTH, CheckResult, Recommendation

if TYPE_CHECKING:
    from dashboard.host import Host

logger = logging.getLogger("dashboard.recovery")

NO_VOTE = Recommendation("observe", "no plugin recommends anything else")


def current_checks(host: Host) -> dict[str, CheckResult]:
    """The cheap checks (``deep=False``) by name; empty if a contributor fails."""
    try:
        answers = host.hook.dashboard_health_checks(host=host, deep=False)
    except Exception as error:
        logger.warning("health checks failed while recovery read them (%s)", type(error).__name__)
        return {}
    checks: dict[str, CheckResult] = {}
    for answer in answers:
        for check in answer if isinstance(answer, list | tuple) else [answer]:
            if isinstance(check, CheckResult):
                checks.setdefault(check.name, check)
    return checks


def breaker_state(checks: Mapping[str, CheckResult]) -> str | None:
    """``CLOSED`` / ``OPEN`` / ``HALF_OPEN`` from the breaker check, ``None`` without a breaker."""
    check = checks.get("breaker")
    state = check.details.get("state") if check is not None else None
    return str(state) if state is not None else None


def recommendation(host: Host, checks: Mapping[str, CheckResult]) -> Recommendation:
    """The strongest vote; ties keep TOML order (the first listed plugin's reason)."""
    try:
        votes = host.hook.dashboard_recommendation(host=host, checks=checks)
    except Exception as error:
        logger.warning("recommendation votes failed (%s)", type(error).__name__)
        return NO_VOTE
    best = NO_VOTE
    for vote in votes:
        if isinstance(vote, Recommendation) and (
                ACTION_STRENGTH[vote.action] > ACTION_STRENGTH[best.action] or best is NO_VOTE):
            best = vote
    return best


def pool_figures(host: Host, checks: Mapping[str, CheckResult]) -> dict[str, Any]:
    """``checks.pool`` as health shows it; computed from the live pool when health is off."""
    check = checks.get("pool")
    if check is not None:
        return check.payload()
    pool: Any = host.engine.pool
    size = pool.size()
    max_overflow = max(getattr(pool, "_max_overflow", 0), 0)
    checked_out = pool.checkedout()
    capacity = size + max_overflow
    saturation = round(checked_out / capacity, 3) if capacity else 0.0
    settings = host.plugin_settings("health") if "health" in host.settings.plugins else None
    warning = getattr(settings, "pool_saturation_warning", 0.8)
    critical = getattr(settings, "pool_saturation_critical", 1.0)
    status = "fail" if saturation >= critical else "warn" if saturation >= warning else "pass"
    return {"status": status, "size": size, "checked_out": checked_out,
            "overflow": max(pool.overflow(), 0), "max_capacity": capacity,
            "saturation": saturation}


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


def thresholds(host: Host) -> dict[str, Any]:
    """``resilience.thresholds``: every plugin's contribution merged."""
    merged: dict[str, Any] = {}
    try:
        for answer in host.hook.dashboard_resilience_thresholds(host=host):
            merged.update(answer or {})
    except Exception as error:
        logger.warning("thresholds failed (%s)", type(error).__name__)
    return merged
