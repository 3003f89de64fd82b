"""The ``pool`` check: how full this worker's connection pools are, read without touching the DB.

At ``pool_saturation_warning`` the check warns, at ``pool_saturation_critical`` it fails; either
way the host is ``degraded`` with the reason ``db_pool_saturated``. The figures are per worker:
each gunicorn worker has its own pools (see :mod:`dashboard.db.pool`).

Every engine the app uses counts (:func:`dashboard.database_engines`): the check shows the most
saturated one's figures (the host's own, ``default``, on a tie), so with only the host's engine
it is exactly that engine's. With no engine at all its figures are zeros and it passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard import (
    DEFAULT_ENGINE,
    CheckResult,
    database_engines,
    pool_bounds,
    pool_figures,
    saturation_status,
)

if TYPE_CHECKING:
    from dashboard import Host

POOL_SATURATED = "db_pool_saturated"


def pool_check(host: Host, warning: float, critical: float) -> CheckResult:
    """The ``pool`` check over every engine of ``host``."""
    figures = worst_pool_figures(host)
    status = saturation_status(figures["saturation"], warning, critical)
    return CheckResult("pool", status, figures,
                       degraded_reason=None if status == "pass" else POOL_SATURATED)


def worst_pool_figures(host: Host) -> dict[str, Any]:
    """The figures of the most saturated pool among the host's engines (zeros with none)."""
    worst: dict[str, Any] | None = None
    for name, engine in database_engines(host):
        figures = pool_figures(engine.pool, max_overflow_of(host, name, engine.pool))
        if worst is None or figures["saturation"] > worst["saturation"]:
            worst = figures
    return worst if worst is not None else pool_figures(None, 0)


def max_overflow_of(host: Host, name: str, pool: Any) -> int:
    """The host's own pool: ``[database].max_overflow``; an adopted one: its own bound."""
    if name == DEFAULT_ENGINE:
        return host.settings.database.max_overflow
    value = pool_bounds(pool)["max_overflow"]
    return value if isinstance(value, int) else 0

