"""The health endpoints in-process: payload rules, never 500, memo modes, probes, readiness."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashboard.checks import CheckResult
from dashboard.clock import ManualClock
from dashboard.host import Host
from dashboard.plugins.health.probe import PROBE_SQL
from dashboard.plugins.health.state import state_of
from tests.dashboard.plugins.health.fakes import FakeRecovery, FixedChecks, open_breaker_check
from tests.support.server import free_port

ECHO = 'app_factory = "dashboard.testing:echo_app"'


@pytest.fixture
def make_host(dashboard_host: Callable[..., Host]) -> Callable[..., Host]:
    """Hosts closed by ``dashboard_host`` at the end of the test (the probe's pool too)."""
    return dashboard_host


@pytest.fixture
def probe_statements() -> Iterator[list[str]]:
    """Every health probe statement run in this process while the test runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement == PROBE_SQL:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    yield seen
    event.remove(Engine, "before_cursor_execute", count)


def test_shallow_health_is_healthy_without_a_database_check(make_host, dashboard_client) -> None:
    host = make_host(f'[dashboard]\nplugins = ["breaker", "health"]\n{ECHO}\n')
    response = dashboard_client(host).get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert body["status"] == "healthy" and body["degraded_reason"] is None
    assert set(body["checks"]) == {"breaker", "pool"}
    assert body["cache"] == {"hit": False, "age_seconds": 0.0, "ttl_seconds": 0}
    assert body["resilience"]["policy"] is None and body["resilience"]["restart_churn"] is None
    assert body["resilience"]["recommendation"]["action"] == "observe"


def test_deep_health_probes_the_database(make_host, dashboard_client, probe_statements) -> None:
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n')
    client = dashboard_client(host)
    for _ in range(3):
        body = client.get("/health/deep").get_json()
        assert body["checks"]["database"]["status"] == "pass"
        assert body["checks"]["database"]["latency_ms"] >= 0
        assert body["cache"]["hit"] is False
    assert len(probe_statements) == 3, "testing mode: every request probes"
    client.get("/health")
    assert len(probe_statements) == 3, "/health never touches the database"


def test_unreachable_database_is_unhealthy_503_without_secrets(make_host, dashboard_client
                                                               ) -> None:
    port = free_port()
    url = f"postgresql+psycopg://alice:s3cr3t-pw@127.0.0.1:{port}/nowhere"
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n[database]\nurl = "{url}"\n'
                     '[plugins.health]\ndeep_timeout_ms = 1500\n')
    client = dashboard_client(host)
    shallow = client.get("/health")
    deep = client.get("/health/deep")
    body = deep.get_json()
    assert shallow.status_code == 200 and shallow.get_json()["status"] == "healthy"
    assert deep.status_code == 503
    assert body["status"] == "unhealthy" and body["degraded_reason"] == "database_unreachable"
    assert body["checks"]["database"]["status"] == "fail"
    assert body["checks"]["database"]["error"] == "connection_failed"
    # The engine is listed by its masked URL (docs/api/health.md), and nowhere else is any part
    # of the DSN, a path or the driver's message.
    masked = f"postgresql+psycopg://alice:***@127.0.0.1:{port}/nowhere"
    assert body["checks"]["database"]["engines"] == [
        {"name": "default", "url": masked, "status": "fail", "error": "connection_failed",
         "latency_ms": body["checks"]["database"]["engines"][0]["latency_ms"]}]
    text = deep.get_data(as_text=True)
    assert "s3cr3t" not in text
    rest = text.replace(f'"url":"{masked}"', "", 1)
    for secret in ("alice", "nowhere", str(host.runtime_dir), "psycopg", "Connection refused"):
        assert secret not in rest


def test_a_raising_check_is_fail_with_its_class_never_500(make_host, dashboard_client) -> None:
    broken = FixedChecks(error=ZeroDivisionError("secret detail /etc/passwd"))
    host = make_host(f'[dashboard]\nplugins = ["broken", "health"]\n{ECHO}\n',
                     plugins={"broken": broken})
    response = dashboard_client(host).get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["checks"]["broken"] == {"status": "fail", "error": "ZeroDivisionError"}
    assert body["checks"]["pool"]["status"] == "pass", "other checks are still reported"
    assert body["status"] == "degraded" and body["degraded_reason"] == "broken_check_fail"
    assert "secret detail" not in response.get_data(as_text=True)


def test_degraded_reason_follows_the_priority_order(make_host, dashboard_client) -> None:
    custom = CheckResult("queue", "warn", {"depth": 9}, degraded_reason="queue_backlog")
    plugin = FixedChecks(custom, open_breaker_check())
    host = make_host(f'[dashboard]\nplugins = ["fixed", "health"]\n{ECHO}\n'
                     "[plugins.health]\npool_saturation_warning = 0.0001\n",
                     plugins={"fixed": plugin})
    with host.engine.connect():
        body = dashboard_client(host).get("/health").get_json()
    assert body["status"] == "degraded"
    assert body["degraded_reason"] == "circuit_breaker_open"
    assert body["checks"]["pool"]["status"] == "warn"
    assert body["checks"]["queue"] == {"status": "warn", "depth": 9}


def test_plugin_reason_when_no_known_reason_applies(make_host, dashboard_client) -> None:
    custom = CheckResult("queue", "warn", {"depth": 9}, degraded_reason="queue_backlog")
    host = make_host(f'[dashboard]\nplugins = ["fixed", "health"]\n{ECHO}\n',
                     plugins={"fixed": FixedChecks(custom)})
    body = dashboard_client(host).get("/health").get_json()
    assert (body["status"], body["degraded_reason"]) == ("degraded", "queue_backlog")


def test_pool_saturation_warns_then_fails_and_throttles(make_host, dashboard_client) -> None:
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n'
                     "[database]\npool_size = 2\nmax_overflow = 1\npool_timeout = 1\n"
                     "[plugins.health]\npool_saturation_warning = 0.6\n")
    client = dashboard_client(host)
    held = [host.engine.connect() for _ in range(2)]
    try:
        warned = client.get("/health").get_json()
        held.append(host.engine.connect())
        failed = client.get("/health").get_json()
    finally:
        for connection in held:
            connection.close()
    assert warned["checks"]["pool"] == {"status": "warn", "size": 2, "checked_out": 2,
                                        "overflow": 0, "max_capacity": 3,
                                        "saturation": 0.6667}
    assert failed["checks"]["pool"]["status"] == "fail"
    assert failed["checks"]["pool"]["overflow"] == 1
    assert failed["checks"]["pool"]["saturation"] == 1.0
    for body in (warned, failed):
        assert body["degraded_reason"] == "db_pool_saturated"
        assert body["resilience"]["recommendation"]["action"] == "throttle"
    assert client.get("/health").get_json()["status"] == "healthy"


def test_policy_and_churn_come_from_the_recovery_plugin(make_host, dashboard_client) -> None:
    recovery = FakeRecovery(state="blocked", churn_count=3)
    host = make_host(f'[dashboard]\nplugins = ["health", "recovery"]\n{ECHO}\n',
                     plugins={"recovery": recovery})
    body = dashboard_client(host).get("/health").get_json()
    assert body["resilience"]["policy"]["state"] == "blocked"
    assert body["resilience"]["restart_churn"]["exceeded"] is True
    assert body["resilience"]["thresholds"]["restart_churn_threshold"] == 3
    assert (body["status"], body["degraded_reason"]) == ("degraded", "restart_churn_exceeded")
    assert body["resilience"]["recommendation"]["action"] == "throttle"


def test_sustained_breaker_open_recommends_recover_when_allowed(
        make_host, dashboard_client, dashboard_clock: ManualClock) -> None:
    recovery = FakeRecovery(state="allowed", auto_recover_after_seconds=120)
    host = make_host(f'[dashboard]\nplugins = ["fixed", "health", "recovery"]\n{ECHO}\n',
                     plugins={"fixed": FixedChecks(open_breaker_check()), "recovery": recovery},
                     clock=dashboard_clock)
    client = dashboard_client(host)
    first = client.get("/health").get_json()["resilience"]["recommendation"]
    dashboard_clock.advance(119)
    before = client.get("/health").get_json()["resilience"]["recommendation"]
    dashboard_clock.advance(1)
    after = client.get("/health").get_json()["resilience"]["recommendation"]
    recovery.state = "cooling_down"
    refused = client.get("/health").get_json()["resilience"]["recommendation"]
    assert [first["action"], before["action"], after["action"], refused["action"]] == [
        "throttle", "throttle", "recover", "throttle"]
    assert "cooling_down" in refused["reason"]


def test_memo_in_production_is_honest_about_hits_and_age(
        make_host, dashboard_client, dashboard_clock: ManualClock, probe_statements) -> None:
    host = make_host(f'[dashboard]\nenvironment = "production"\nplugins = ["health"]\n{ECHO}\n'
                     "[plugins.health]\nmemo_ttl_seconds = 5\n", clock=dashboard_clock)
    client = dashboard_client(host)
    first = client.get("/health/deep").get_json()
    dashboard_clock.advance(2.5)
    repeats = [client.get("/health/deep").get_json() for _ in range(10)]
    shallow = client.get("/health").get_json()
    dashboard_clock.advance(2.5)
    expired = client.get("/health/deep").get_json()
    assert first["cache"] == {"hit": False, "age_seconds": 0.0, "ttl_seconds": 5}
    assert all(r["cache"] == {"hit": True, "age_seconds": 2.5, "ttl_seconds": 5}
               for r in repeats)
    assert all(r["timestamp"] == first["timestamp"] for r in repeats)
    assert shallow["cache"]["hit"] is False, "deep and shallow are memoized separately"
    assert expired["cache"]["hit"] is False
    assert len(probe_statements) == 2


def test_livez_readyz_and_draining(make_host, dashboard_client) -> None:
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n')
    client = dashboard_client(host)
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").get_json()["status"] == "ready"
    state_of(host).readiness.mark_draining()
    draining = client.get("/readyz")
    assert (draining.status_code, draining.get_json()["status"]) == (503, "draining")
    assert client.get("/livez").status_code == 200


def test_drain_signal_marks_not_ready_and_chains_the_previous_handler(make_host) -> None:
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n')
    readiness = state_of(host).readiness
    received: list[int] = []
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGQUIT,
                                                             signal.SIGINT)}
    try:
        signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
        host.hook.dashboard_worker_started(host=host, pid=0)
        assert readiness.ready
        signal.raise_signal(signal.SIGTERM)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    assert received == [signal.SIGTERM], "gunicorn's own handler still runs"
    assert not readiness.ready


def test_other_paths_and_methods(make_host, dashboard_client) -> None:
    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n')
    client = dashboard_client(host)
    assert client.post("/health").status_code == 405
    assert client.head("/health").status_code == 200
    assert client.get("/health/").get_json()["status"] == "healthy"
    passed = client.get("/healthcheck-of-the-app")
    assert passed.status_code == 200
    assert passed.get_json()["data"]["path"] == "/healthcheck-of-the-app"


def test_metrics_lists_the_contract_series(make_host, dashboard_client) -> None:
    host = make_host(f'[dashboard]\nenvironment = "production"\nplugins = ["health"]\n{ECHO}\n')
    client = dashboard_client(host)
    client.get("/health")
    client.get("/health")
    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    for name in ("dashboard_breaker_state", "dashboard_degraded_responses_total",
                 "dashboard_db_pool_checked_out", "dashboard_health_cache_hits_total",
                 "dashboard_worker_restarts_total"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


def test_pool_gauge_follows_checkouts_and_checkins(make_host) -> None:
    from dashboard.metrics.series import series

    host = make_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n')
    host.build_app()
    gauge = series().pool_checked_out
    first = host.engine.connect()
    second = host.engine.connect()
    both = gauge._value.get()
    first.close()
    one = gauge._value.get()
    second.close()
    assert (both, one, gauge._value.get()) == (2, 1, 0)


def test_recover_with_the_real_recovery_plugin(make_host, dashboard_client,
                                               dashboard_clock: ManualClock) -> None:
    host = make_host(f'[dashboard]\nplugins = ["fixed", "health", "recovery"]\n{ECHO}\n'
                     "[plugins.recovery]\nauto_recover_after_seconds = 30\n",
                     plugins={"fixed": FixedChecks(open_breaker_check())}, clock=dashboard_clock)
    client = dashboard_client(host)
    early = client.get("/health").get_json()["resilience"]
    dashboard_clock.advance(30)
    late = client.get("/health").get_json()["resilience"]
    assert early["policy"]["state"] == late["policy"]["state"] == "allowed"
    assert early["thresholds"]["auto_recover_after_seconds"] == 30
    assert (early["recommendation"]["action"], late["recommendation"]["action"]) == (
        "throttle", "recover")
