"""The restart policy, driven by explicit times: no sleeping, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.plugins.recovery.policy import (
    ChurnRule,
    CooldownRule,
    RestartPolicy,
    remaining_seconds,
)

T0 = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def policy() -> RestartPolicy:
    return RestartPolicy(ChurnRule(window_seconds=600, threshold=3), CooldownRule(60))


def test_no_restarts_is_allowed(policy: RestartPolicy) -> None:
    verdict = policy.evaluate([], at(0))
    assert verdict.payload() == {"state": "allowed", "cooldown_remaining_seconds": 0,
                                 "next_action": "restart allowed if needed", "age_seconds": 0.0}
    assert verdict.churn.payload() == {"window_seconds": 600, "threshold": 3, "count": 0,
                                       "exceeded": False}


def test_cooling_down_reports_whole_seconds_left_rounded_up(policy: RestartPolicy) -> None:
    verdict = policy.evaluate([at(0)], at(10.2))
    assert verdict.state == "cooling_down"
    assert verdict.cooldown_remaining_seconds == 50
    assert policy.evaluate([at(0)], at(60)).state == "allowed"


def test_threshold_blocks_and_blocked_wins_over_cooling_down(policy: RestartPolicy) -> None:
    verdict = policy.evaluate([at(0), at(100), at(200)], at(210))
    assert verdict.state == "blocked"
    assert verdict.cooldown_remaining_seconds == 50
    assert verdict.churn.count == 3 and verdict.churn.exceeded
    assert "override" in verdict.next_action and "acknowledge" in verdict.next_action


def test_block_lifts_when_oldest_restart_leaves_the_window(policy: RestartPolicy) -> None:
    times = [at(0), at(100), at(200)]
    assert policy.evaluate(times, at(599)).state == "blocked"
    verdict = policy.evaluate(times, at(600))
    assert verdict.state == "allowed"
    assert verdict.churn.count == 2
    assert policy.evaluate(times, at(299)).churn.clears_at == at(600)


def test_block_lift_time_with_more_restarts_than_threshold() -> None:
    policy = RestartPolicy(ChurnRule(100, 2), CooldownRule(0))
    times = [at(0), at(10), at(20), at(30)]
    assert policy.evaluate(times, at(35)).churn.clears_at == at(120)
    assert policy.evaluate(times, at(119)).state == "blocked"
    assert policy.evaluate(times, at(120)).state == "allowed"


def test_restarts_outside_the_window_do_not_count(policy: RestartPolicy) -> None:
    verdict = policy.evaluate([at(0), at(1), at(2)], at(700))
    assert verdict.state == "allowed" and verdict.churn.count == 0


def test_zero_cooldown_never_cools_down() -> None:
    policy = RestartPolicy(ChurnRule(600, 5), CooldownRule(0))
    assert policy.evaluate([at(0)], at(0)).state == "allowed"


def test_lookback_covers_every_rule(policy: RestartPolicy) -> None:
    assert policy.lookback == timedelta(seconds=600)
    assert RestartPolicy(ChurnRule(10, 1), CooldownRule(60)).lookback == timedelta(seconds=60)


@pytest.mark.parametrize(("seconds", "expected"), [(0, 0), (-3, 0), (0.001, 1), (5, 5),
                                                    (5.5, 6)])
def test_remaining_seconds_rounds_up(seconds: float, expected: int) -> None:
    assert remaining_seconds(timedelta(seconds=seconds)) == expected
