"""Assemble the docs/api/health.md payload from every plugin's checks, thresholds, votes and policy.

Status:

* ``unhealthy`` (HTTP 503) when the ``database`` check fails (``/health/deep``'s own round
  trip, or on ``/health`` the last background probe);
* ``degraded`` (200) when any check warns or fails, or restart churn is exceeded;
* ``healthy`` (200) otherwise.

``degraded_reason`` is the first that applies, in this priority order: ``database_unreachable``,
``circuit_breaker_open``, ``db_pool_saturated``, ``restart_churn_exceeded``, then reasons other
plugins contribute (their ``CheckResult.degraded_reason``, in TOML order). A check that is not
``pass`` without a reason of its own contributes ``<check>_check_<status>``, e.g.
``breaker_check_fail`` for a breaker check that raised. ``null`` when healthy.

A plugin whose check raises is reported under its plugin name as
``{"status": "fail", "error": "<ExceptionClass>"}``: the class, never the message.

``/health`` is public, so each check shows :meth:`CheckResult.payload` without its
``operator_details`` (e.g. the free-text reason of a breaker override, which only the
authenticated admin API's system-status shows; docs/api/admin.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard import (
    CheckResult,
    collect_checks,
    first_answer,
    resilience_block,
    strongest_vote,
    utc_timestamp,
)

if TYPE_CHECKING:
    from dashboard import Host

REASON_PRIORITY = ("database_unreachable", "circuit_breaker_open", "db_pool_saturated",
                   "restart_churn_exceeded")
RESTART_CHURN_EXCEEDED = "restart_churn_exceeded"


def restart_policy(host: Host) -> Mapping[str, Any] | None:
    """The recovery plugin's ``{"policy": ..., "restart_churn": ...}``, or ``None``."""
    answer = first_answer(host, "dashboard_restart_policy", host=host)
    return answer if isinstance(answer, Mapping) else None


def status_of(checks: Mapping[str, CheckResult], churn_exceeded: bool) -> str:
    database = checks.get("database")
    if database is not None and database.status == "fail":
        return "unhealthy"
    if churn_exceeded or any(check.status != "pass" for check in checks.values()):
        return "degraded"
    return "healthy"


def degraded_reason(checks: Mapping[str, CheckResult], churn_exceeded: bool) -> str | None:
    reasons = [check.degraded_reason or f"{check.name}_check_{check.status}"
               for check in checks.values() if check.status != "pass"]
    if churn_exceeded:
        reasons.append(RESTART_CHURN_EXCEEDED)
    for known in REASON_PRIORITY:
        if known in reasons:
            return known
    return reasons[0] if reasons else None


def build_payload(host: Host, deep: bool) -> dict[str, Any]:
    """The payload without its ``cache`` block (the memo adds that per request)."""
    checks = collect_checks(host, deep)
    policy = restart_policy(host)
    churn = policy.get("restart_churn") if policy else None
    churn_exceeded = bool(churn.get("exceeded")) if isinstance(churn, Mapping) else False
    recommendation = strongest_vote(host, checks)
    return {
        "status": status_of(checks, churn_exceeded),
        "degraded_reason": degraded_reason(checks, churn_exceeded),
        "timestamp": utc_timestamp(host.clock.now()),
        "worker_pid": os.getpid(),
        "checks": {name: check.payload(operator=False) for name, check in checks.items()},
        "resilience": resilience_block(host, recommendation, policy),
    }


def failure_payload(error: BaseException, host: Host) -> dict[str, Any]:
    """What health answers if assembling the payload itself failed: honest, never a 500."""
    return {
        "status": "unhealthy",
        "degraded_reason": "health_check_fail",
        "timestamp": utc_timestamp(host.clock.now()),
        "worker_pid": os.getpid(),
        "checks": {"health": {"status": "fail", "error": type(error).__name__}},
        "resilience": {"thresholds": {}, "recommendation": {
            "action": "observe", "reason": "health could not be computed"},
            "policy": None, "restart_churn": None},
    }
