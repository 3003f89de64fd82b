"""The background probe (§9.3): what ``/health`` carries from it, on a manual clock; and its
thread's life (started only where asked, stopped on close, never in testing)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dashboard.checks import CheckResult
from dashboard.clock import ManualClock, SystemClock
from dashboard.host import Host
from dashboard.plugins.health.background import BackgroundProbe
from dashboard.plugins.health.state import state_of

TOML = '[dashboard]\nplugins = ["breaker", "health"]\napp_factory = "dashboard.testing:echo_app"\n'


def test_health_carries_the_last_background_probe_with_its_age(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        dashboard_clock: ManualClock) -> None:
    host = dashboard_host(TOML, clock=dashboard_clock)
    client = dashboard_client(host)
    background = state_of(host).background
    assert not background.enabled, "testing: no background probe"
    assert "database" not in client.get("/health").get_json()["checks"], "nothing probed yet"

    assert background.tick().status == "pass"  # a test drives one tick itself
    dashboard_clock.advance(2.5)
    body = client.get("/health").get_json()
    assert body["status"] == "healthy"
    assert body["checks"]["database"]["status"] == "pass"
    assert body["checks"]["database"]["age_seconds"] == 2.5
    state_of(host).close()


def test_a_failed_background_probe_makes_health_unhealthy_as_deep_does(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        dashboard_clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    host = dashboard_host(TOML, clock=dashboard_clock)
    client = dashboard_client(host)
    state = state_of(host)
    failed = CheckResult("database", "fail", {"latency_ms": 3.0, "error": "connection_failed"},
                         degraded_reason="database_unreachable")
    monkeypatch.setattr(state.probe, "check", lambda: failed)
    state.background = BackgroundProbe(state.probe.check, dashboard_clock, 0)
    state.background.tick()
    shallow = client.get("/health")
    deep = client.get("/health/deep")
    for response in (shallow, deep):
        body = response.get_json()
        assert response.status_code == 503
        assert (body["status"], body["degraded_reason"]) == ("unhealthy", "database_unreachable")
        assert body["checks"]["database"]["error"] == "connection_failed"
    assert shallow.get_json()["checks"]["database"]["age_seconds"] == 0.0
    state.close()


def test_a_probe_that_raises_is_a_failed_check_never_an_error() -> None:
    def broken() -> CheckResult:
        raise RuntimeError("secret-ish driver text")

    background = BackgroundProbe(broken, ManualClock(), 0)
    result = background.tick()
    assert (result.status, result.details["error"]) == ("fail", "RuntimeError")
    check = background.check()
    assert check is not None and "secret" not in repr(check)


def test_the_thread_probes_once_per_period_and_stops_on_close() -> None:
    ticked = threading.Event()
    calls: list[float] = []
    clock = SystemClock()

    def probe() -> CheckResult:
        calls.append(clock.monotonic())
        if len(calls) >= 3:
            ticked.set()
        return CheckResult("database", "pass", {"latency_ms": 1.0})

    background = BackgroundProbe(probe, clock, 0.2)
    assert background.start() and background.start(), "idempotent"
    assert ticked.wait(30), "the thread never probed three times"
    background.close()
    assert not background.running
    count = len(calls)
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert all(gap >= 0.2 - 0.02 for gap in gaps), f"more than one probe per period: {gaps}"
    threading.Event().wait(0.5)
    assert len(calls) == count, "no probe after close"


def test_off_when_refresh_seconds_is_zero() -> None:
    background = BackgroundProbe(lambda: CheckResult("database", "pass"), ManualClock(), 0)
    assert background.start() is False and not background.running


def test_production_host_probes_every_refresh_seconds(dashboard_host: Callable[..., Host]
                                                      ) -> None:
    host = dashboard_host('[dashboard]\nenvironment = "production"\nplugins = ["health"]\n'
                          'app_factory = "dashboard.testing:echo_app"\n'
                          "[plugins.health]\nrefresh_seconds = 0.5\n")
    background = state_of(host).background
    assert background.enabled and background.period == 0.5
    assert not background.running, "started only by dashboard_worker_started, after the fork"
    host.close()
