"""The recommendation rules of dashboard.plugins.health.rules, one test per rule, clock injected."""

from __future__ import annotations

import pytest

from dashboard.checks import CheckResult
from dashboard.plugins.health.rules import PressureClock, Situation, recommend, situation_of

AUTO = 120.0


@pytest.mark.parametrize(("situation", "action", "words"), [
    (Situation(breaker_state="OPEN", pressure_seconds=AUTO, auto_recover_after_seconds=AUTO,
               policy_state="allowed"), "recover", "restart the workers"),
    (Situation(pool_status="fail", pressure_seconds=AUTO + 1, auto_recover_after_seconds=AUTO,
               policy_state="allowed"), "recover", "pool critically saturated"),
    (Situation(breaker_state="OPEN", pressure_seconds=AUTO, auto_recover_after_seconds=AUTO,
               policy_state="cooling_down"), "throttle", "cooling_down"),
    (Situation(breaker_state="OPEN", pressure_seconds=AUTO, auto_recover_after_seconds=AUTO,
               policy_state="blocked"), "throttle", "blocked"),
    (Situation(breaker_state="OPEN", pressure_seconds=AUTO - 1, auto_recover_after_seconds=AUTO,
               policy_state="allowed"), "throttle", "circuit breaker OPEN"),
    (Situation(breaker_state="OPEN", pressure_seconds=10_000, auto_recover_after_seconds=None),
     "throttle", "circuit breaker OPEN"),
    (Situation(policy_state="blocked"), "throttle", "restart churn exceeded"),
    (Situation(breaker_state="HALF_OPEN"), "throttle", "HALF_OPEN"),
    (Situation(pool_status="warn", policy_state="allowed"), "throttle", "pool_saturation_warning"),
    (Situation(pool_status="fail", pressure_seconds=1, auto_recover_after_seconds=AUTO,
               policy_state="allowed"), "throttle", "pool_saturation_warning"),
    (Situation(database_failed=True, policy_state="allowed"), "throttle",
     "database unreachable"),
    (Situation(breaker_state="CLOSED", pool_status="pass", policy_state="allowed"), "observe",
     "no pressure"),
    # Forced open by an operator: open on purpose, so no restart, however long it lasts.
    (Situation(breaker_state="OPEN", breaker_forced="open", pressure_seconds=AUTO * 10,
               auto_recover_after_seconds=AUTO, policy_state="allowed"), "throttle",
     "circuit breaker OPEN: clients should back off"),
])
def test_rules(situation: Situation, action: str, words: str) -> None:
    vote = recommend(situation)
    assert vote.action == action
    assert words in vote.reason


def test_situation_reads_checks_thresholds_and_policy() -> None:
    checks = {
        "breaker": CheckResult("breaker", "fail", {"state": "OPEN"}),
        "pool": CheckResult("pool", "warn", {"saturation": 0.9}),
        "database": CheckResult("database", "fail", {"latency_ms": 2000}),
    }
    situation = situation_of(checks, {"auto_recover_after_seconds": 30},
                             {"state": "allowed"}, pressure_seconds=12)
    assert situation == Situation(breaker_state="OPEN", pool_status="warn", database_failed=True,
                                  policy_state="allowed", pressure_seconds=12,
                                  auto_recover_after_seconds=30.0)
    assert situation.under_pressure
    checks["breaker"] = CheckResult("breaker", "fail", {"state": "OPEN", "forced": "open"})
    forced = situation_of(checks, {}, None)
    assert forced.breaker_forced == "open" and not forced.breaker_tripped
    assert forced.under_pressure is False  # the pool only warns


def test_pressure_clock_counts_continuous_pressure_only() -> None:
    clock = PressureClock()
    assert clock.observe(True, 100.0) == 0.0
    assert clock.observe(True, 160.0) == 60.0
    assert clock.observe(False, 170.0) == 0.0
    assert clock.observe(True, 200.0) == 0.0
    assert clock.observe(True, 205.5) == 5.5
