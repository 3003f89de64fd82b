"""``dashboard_breaker_control`` in-process: the override reaches the gate, health, the vote and
the ``dashboard_breaker_forced`` gauge, and ends by itself (manual clock)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dashboard.clock import ManualClock
from dashboard.db.faults import Fault
from dashboard.hooks.calls import first_answer
from dashboard.host import Host
from dashboard.metrics.series import series
from tests.dashboard.plugins.breaker.test_plugin import TOML, breaker_check, fail


@pytest.fixture
def host(dashboard_host: Callable[..., Host], dashboard_clock: ManualClock) -> Host:
    return dashboard_host(TOML, clock=dashboard_clock)


def control(host: Host, action: str, seconds: int | None, reason: str = "drill") -> dict:
    return first_answer(host, "dashboard_breaker_control", host=host, action=action,
                        duration_seconds=seconds, reason=reason)


def vote(host: Host) -> tuple[str, str]:
    checks = {c.name: c for group in host.hook.dashboard_health_checks(host=host, deep=False)
              for c in group}
    votes = host.hook.dashboard_recommendation(host=host, checks=checks)
    assert len(votes) == 1
    return votes[0].action, votes[0].reason


def operator_details(host: Host) -> dict:
    checks = [c for group in host.hook.dashboard_health_checks(host=host, deep=False)
              for c in group if c.name == "breaker"]
    return checks[0].operator_details


def forced_gauge() -> float:
    return series().breaker_forced._value.get()


def test_force_open_refuses_guarded_calls_with_the_time_left_then_ends(
        host: Host, dashboard_client, dashboard_clock: ManualClock) -> None:
    client = dashboard_client(host)
    # Worker scope: the override reaches every worker of the host (the relay), so "host".
    answer = control(host, "force_open", 90, "failover of the primary")
    assert answer == {"action": "force_open", "scope": "host", "forced": "open",
                      "expires_at": "2026-01-01T00:01:30.000Z", "seconds_left": 90.0}
    assert forced_gauge() == 1

    dashboard_clock.advance(30.2)
    response = client.get("/query")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "CIRCUIT_BREAKER_OPEN"
    assert response.headers["Retry-After"] == "60"
    check = breaker_check(host)
    assert check == {"status": "fail", "state": "OPEN", "failure_rate": 0.0,
                     "slow_call_rate": 0.0, "retry_after_seconds": 60, "scope": "worker",
                     "forced": "open", "forced_seconds_left": 60,
                     "degraded_reason": "circuit_breaker_open"}
    # The reason is for authenticated operators only (the admin API's system-status).
    assert operator_details(host) == {"forced_reason": "failover of the primary"}
    assert vote(host) == ("throttle", "circuit breaker forced open by an operator: database "
                                      "calls fail fast for 60s more")

    dashboard_clock.advance(60)
    assert breaker_check(host)["forced"] is None
    assert forced_gauge() == 0
    assert client.get("/query").status_code == 200  # the probe succeeded: CLOSED
    assert breaker_check(host)["state"] == "CLOSED"


def test_disable_lets_calls_through_while_failing_and_warns(
        host: Host, dashboard_client, dashboard_clock: ManualClock) -> None:
    client = dashboard_client(host)
    answer = control(host, "disable", 60)
    assert (answer["forced"], answer["seconds_left"]) == ("disabled", 60.0)
    assert forced_gauge() == 2
    fail(host, Fault.CONNECTION_FAILED, 6)
    assert client.get("/query").status_code == 200  # not refused
    check = breaker_check(host)
    assert (check["status"], check["state"], check["forced"]) == ("warn", "CLOSED", "disabled")
    assert check["degraded_reason"] == "circuit_breaker_disabled"
    assert check["failure_rate"] > 0.5
    action, reason = vote(host)
    assert action == "observe" and "disabled by an operator for 60s more" in reason

    dashboard_clock.advance(60)
    fail(host, Fault.CONNECTION_FAILED)
    assert breaker_check(host)["state"] == "OPEN"


def test_reset_clears_an_override_at_once(host: Host, dashboard_client) -> None:
    control(host, "force_open", 600)
    answer = control(host, "reset", None, "false alarm")
    assert answer == {"action": "reset", "scope": "host", "forced": None,
                      "expires_at": None, "seconds_left": None}
    assert dashboard_client(host).get("/query").status_code == 200
    assert breaker_check(host)["status"] == "pass"
    assert forced_gauge() == 0


def test_no_breaker_no_answer(dashboard_host: Callable[..., Host]) -> None:
    bare = dashboard_host('[dashboard]\nplugins = ["degradation"]\n'
                          'app_factory = "tests.dashboard.plugins.degradation.apps:create_app"\n')
    assert control(bare, "force_open", 10) is None
