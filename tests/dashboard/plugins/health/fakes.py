"""Small stand-in plugins for in-process health tests (a recovery policy, fixed checks)."""

from __future__ import annotations

from typing import Any

from dashboard import hookimpl
from dashboard.checks import CheckResult


class FakeRecovery:
    """Answers the restart policy the way the recovery plugin does (docs/api/health.md)."""

    def __init__(self, state: str = "allowed", churn_count: int = 0, threshold: int = 3,
                 auto_recover_after_seconds: int = 120) -> None:
        self.state = state
        self.churn_count = churn_count
        self.threshold = threshold
        self.auto_recover_after_seconds = auto_recover_after_seconds

    @hookimpl
    def dashboard_restart_policy(self) -> dict[str, Any]:
        return {
            "policy": {"state": self.state, "cooldown_remaining_seconds": 0,
                       "next_action": "restart allowed"},
            "restart_churn": {"window_seconds": 600, "threshold": self.threshold,
                              "count": self.churn_count,
                              "exceeded": self.churn_count >= self.threshold},
        }

    @hookimpl
    def dashboard_resilience_thresholds(self) -> dict[str, int]:
        return {"restart_churn_window_seconds": 600, "restart_churn_threshold": self.threshold,
                "restart_cooldown_seconds": 60,
                "auto_recover_after_seconds": self.auto_recover_after_seconds}


class FixedChecks:
    """Contributes the given checks, or raises ``error`` when asked."""

    def __init__(self, *checks: CheckResult, error: BaseException | None = None) -> None:
        self.checks = list(checks)
        self.error = error

    @hookimpl
    def dashboard_health_checks(self, deep: bool) -> list[CheckResult]:
        if self.error is not None:
            raise self.error
        return self.checks


def open_breaker_check() -> CheckResult:
    return CheckResult("breaker", "fail", {"state": "OPEN", "failure_rate": 1.0,
                                           "retry_after_seconds": 30},
                       degraded_reason="circuit_breaker_open")
