"""The ``pool`` check: how full this worker's connection pool is, read without touching the DB.

At ``pool_saturation_warning`` the check warns, at ``pool_saturation_critical`` it fails; either
way the host is ``degraded`` with the reason ``db_pool_saturated``. The figures are per worker:
each gunicorn worker has its own pool (see :mod:`dashboard.db.pool`).
"""

from __future__ import annotations

from typing import Any

from dashboard import CheckResult, pool_figures, saturation_status

POOL_SATURATED = "db_pool_saturated"


def pool_check(pool: Any, max_overflow: int, warning: float, critical: float) -> CheckResult:
    figures = pool_figures(pool, max_overflow)
    status = saturation_status(figures["saturation"], warning, critical)
    return CheckResult("pool", status, figures,
                       degraded_reason=None if status == "pass" else POOL_SATURATED)
