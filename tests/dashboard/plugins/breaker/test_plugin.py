"""The breaker plugin in-process: hooks, the contract answer, health check, thresholds, vote."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from werkzeug.wrappers import Response

from dashboard.clock import ManualClock
from dashboard.db.faults import DbOutcome, Fault
from dashboard.host import Host
from dashboard.metrics.series import series
from dashboard.plugins.breaker.runtime import BREAKER

TOML = """
[dashboard]
plugins = ["breaker", "degradation"]
app_factory = "tests.dashboard.plugins.degradation.apps:create_app"
[plugins.breaker]
window_size = 4
minimum_calls = 2
failure_rate_threshold = 0.5
open_seconds = 30
"""


@pytest.fixture
def host(dashboard_host: Callable[..., Host], dashboard_clock: ManualClock) -> Host:
    return dashboard_host(TOML, clock=dashboard_clock)


def fail(host: Host, fault: Fault, times: int = 1) -> None:
    for _ in range(times):
        host.hook.dashboard_db_outcome(host=host, outcome=DbOutcome(fault))


def breaker_check(host: Host) -> dict:
    checks = [c for group in host.hook.dashboard_health_checks(host=host, deep=False)
              for c in group if c.name == "breaker"]
    assert len(checks) == 1
    return {**checks[0].payload(), "degraded_reason": checks[0].degraded_reason}


def test_closed_check_is_pass_exactly_as_the_contract_shows_it(host: Host) -> None:
    assert breaker_check(host) == {"status": "pass", "state": "CLOSED", "failure_rate": 0.0,
                                   "slow_call_rate": 0.0, "retry_after_seconds": None,
                                   "scope": "worker", "forced": None,
                                   "forced_seconds_left": None, "degraded_reason": None}
    assert host.hook.dashboard_resilience_thresholds(host=host) == [
        {"breaker_failure_rate": 0.5}]


def test_only_availability_failures_count(host: Host) -> None:
    fail(host, Fault.QUERY_ERROR, 4)
    fail(host, Fault.AUTH_FAILED, 4)
    assert breaker_check(host)["state"] == "CLOSED"
    assert breaker_check(host)["failure_rate"] == 0.0
    host.hook.dashboard_db_outcome(host=host, outcome=DbOutcome(None))
    fail(host, Fault.POOL_EXHAUSTED)
    assert breaker_check(host)["failure_rate"] == 0.5
    assert breaker_check(host)["state"] == "OPEN"


@pytest.mark.parametrize("fault", [Fault.POOL_EXHAUSTED, Fault.QUERY_TIMEOUT,
                                   Fault.CONNECTION_FAILED])
def test_each_availability_failure_opens_it(host: Host, fault: Fault) -> None:
    fail(host, fault, 2)
    assert breaker_check(host)["state"] == "OPEN"


def test_open_answers_circuit_breaker_open_with_the_real_time_left(
        host: Host, dashboard_client, dashboard_clock: ManualClock) -> None:
    client = dashboard_client(host)
    assert client.get("/query").status_code == 200
    fail(host, Fault.CONNECTION_FAILED, 2)
    dashboard_clock.advance(10.4)
    response = client.get("/query")
    body = response.get_json()
    assert response.status_code == 503
    assert body["error"]["code"] == "CIRCUIT_BREAKER_OPEN" and body["error"]["retryable"]
    assert response.headers["Retry-After"] == "20"
    assert body["meta"]["retry_after_seconds"] == 20
    assert client.get("/page").status_code == 200  # no database access, not gated
    check = breaker_check(host)
    assert check.pop("failure_rate") >= 0.5  # the rate that opened it, kept while OPEN
    assert check == {"status": "fail", "state": "OPEN", "slow_call_rate": 0.0,
                     "retry_after_seconds": 20, "degraded_reason": "circuit_breaker_open",
                     "scope": "worker", "forced": None, "forced_seconds_left": None}
    assert series().breaker_state._value.get() == 2


def test_half_open_is_warn_and_a_successful_probe_closes(
        host: Host, dashboard_client, dashboard_clock: ManualClock) -> None:
    client = dashboard_client(host)
    fail(host, Fault.CONNECTION_FAILED, 2)
    dashboard_clock.advance(30)
    check = breaker_check(host)
    assert check["status"] == "warn" and check["state"] == "HALF_OPEN"
    assert check["degraded_reason"] == "circuit_breaker_open"
    assert check["retry_after_seconds"] is None
    assert series().breaker_state._value.get() == 1
    assert client.get("/query").status_code == 200  # the probe
    assert breaker_check(host)["state"] == "CLOSED"
    assert series().breaker_state._value.get() == 0


def test_a_probe_that_ends_without_an_outcome_gives_its_permit_back(
        host: Host, dashboard_client, dashboard_clock: ManualClock) -> None:
    runtime = host.find_state(BREAKER)
    assert runtime is not None
    fail(host, Fault.CONNECTION_FAILED, 2)
    dashboard_clock.advance(30)
    client = dashboard_client(host)
    # /bad-sql takes the permit and fails with an error that is not counted: no verdict.
    assert client.get("/bad-sql").get_json()["error"]["code"] == "DB_QUERY_ERROR"
    assert breaker_check(host)["state"] == "HALF_OPEN"
    assert client.get("/query").status_code == 200  # the permit came back at request end
    assert breaker_check(host)["state"] == "CLOSED"


def test_recommendation_votes_throttle_only_when_not_closed(
        host: Host, dashboard_clock: ManualClock) -> None:
    def vote() -> list:
        checks = {c.name: c for group in host.hook.dashboard_health_checks(host=host, deep=False)
                  for c in group}
        return [v for v in host.hook.dashboard_recommendation(host=host, checks=checks) if v]

    assert vote() == []
    fail(host, Fault.QUERY_TIMEOUT, 2)
    (recommendation,) = vote()
    assert recommendation.action == "throttle" and "open" in recommendation.reason
    dashboard_clock.advance(30)
    (recommendation,) = vote()
    assert recommendation.action == "throttle" and "half-open" in recommendation.reason


def test_a_breaker_refusal_wrapped_by_a_library_is_still_recognised(host: Host) -> None:
    from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError

    try:
        try:
            raise CircuitOpenError(3.2, BreakerState.OPEN)
        except CircuitOpenError as refusal:
            raise RuntimeError("wrapped") from refusal
    except RuntimeError as wrapped:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}
        answer = host.hook.dashboard_map_exception(exc=wrapped, environ=environ, host=host)
    response = Response.from_app(answer, environ)
    assert response.status_code == 503 and response.headers["Retry-After"] == "4"


def test_open_refuses_before_waiting_for_an_exhausted_pool(
        dashboard_host: Callable[..., Host], dashboard_client) -> None:
    host = dashboard_host(TOML + """
[database]
pool_size = 1
max_overflow = 0
pool_timeout = 5
""")
    client = dashboard_client(host)
    assert client.get("/query").status_code == 200
    fail(host, Fault.POOL_EXHAUSTED, 2)

    def refused_at_once() -> bool:
        held = host.engine.connect()  # the only connection, busy elsewhere
        try:
            started = time.monotonic()
            response = client.get("/query")
            return (time.monotonic() - started < 2  # not after pool_timeout (5 s)
                    and response.get_json()["error"]["code"] == "CIRCUIT_BREAKER_OPEN")
        finally:
            held.close()

    assert refused_at_once()
    host.engine.dispose()  # the new pool that dispose() makes is gated too
    assert refused_at_once()
