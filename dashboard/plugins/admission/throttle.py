"""The ``throttle`` recommendation lowers the adaptive limit's ceiling; ``observe`` restores it.

Plugins meet only through hooks, and ``dashboard_recommendation(host, checks)`` hands each voter
the checks, not the other votes. So admission reads, in those checks, exactly the signals the
health plugin's rules turn into ``throttle`` (or, when sustained, ``recover``) for the database
side: the breaker ``OPEN`` or ``HALF_OPEN``, the pool saturation check at ``warn`` or ``fail``,
the deep ``database`` check failed. While any is present the ceiling is halved (rounded up, never
below ``min_concurrent``); the first evaluation without any restores ``max_concurrent``.
Evaluations happen whenever health computes a payload and on every recovery heartbeat.
Admission's own check is not a signal: its own rejections must not tighten it further.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from dashboard import CheckResult


def pressure_reasons(checks: Mapping[str, CheckResult]) -> list[str]:
    """The database-side pressures in ``checks`` that health answers with ``throttle``."""
    reasons = []
    breaker = checks.get("breaker")
    if breaker is not None and breaker.details.get("state") in ("OPEN", "HALF_OPEN"):
        reasons.append(f"breaker {breaker.details['state']}")
    pool = checks.get("pool")
    if pool is not None and pool.status in ("warn", "fail"):
        reasons.append("pool saturated")
    database = checks.get("database")
    if database is not None and database.status == "fail":
        reasons.append("database unreachable")
    return reasons


def throttled_ceiling(max_limit: int, min_limit: int) -> int:
    """Half of ``max_limit``, rounded up, never below ``min_limit``."""
    return max(min_limit, math.ceil(max_limit / 2))
