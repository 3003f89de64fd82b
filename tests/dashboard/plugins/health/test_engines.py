"""Health follows every engine the app uses (docs/api/health.md): the host's own (``default``)
and each engine the app made and the host adopted, each probed on its own bounded pool; with no
engine at all, nothing is probed, created or logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url

from dashboard.checks import CheckResult
from dashboard.clock import ManualClock
from dashboard.host import Host
from dashboard.metrics.batch import flush_all
from dashboard.plugins.health.background import BackgroundProbe
from dashboard.plugins.health.state import state_of
from dashboard.plugins.recovery.readings import database_figures
from tests.conftest import pg_url_for
from tests.dashboard.plugins.health.engine_apps import APP_DB_URL_ENV
from tests.support.faultproxy import FaultProxy, fault_proxy

APP = 'app_factory = "tests.dashboard.plugins.health.engine_apps:create_app"'
ECHO = 'app_factory = "dashboard.testing:echo_app"'


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with fault_proxy() as running:
        yield running


def app_url(pg_database: str, proxy: FaultProxy) -> str:
    """The app's database through the proxy, with a password (trust auth ignores it)."""
    url = make_url(proxy.url_for(pg_url_for(pg_database))).set(password="s3cr3t-pw")
    return url.render_as_string(hide_password=False)


def test_deep_lists_every_engine_and_is_the_worst_of_them(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        pg_database: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(APP_DB_URL_ENV, app_url(pg_database, proxy))
    host = dashboard_host(f'[dashboard]\nplugins = ["breaker", "health"]\n{APP}\n'
                         "[plugins.health]\ndeep_timeout_ms = 1500\n")
    client = dashboard_client(host)
    assert client.get("/").get_json() == {"value": 1}  # the app's engine, adopted
    name = f"postgresql:{pg_database}"
    masked = f"postgresql+psycopg://postgres:***@{proxy.address}/{pg_database}"

    deep = client.get("/health/deep")
    database = deep.get_json()["checks"]["database"]
    assert deep.status_code == 200 and database["status"] == "pass"
    assert [(e["name"], e["url"], e["status"]) for e in database["engines"]] == [
        ("default", host.settings.database.url, "pass"), (name, masked, "pass")]
    assert database["latency_ms"] == max(e["latency_ms"] for e in database["engines"])

    proxy.refuse()
    deep = client.get("/health/deep")
    body = deep.get_json()
    assert deep.status_code == 503
    assert (body["status"], body["degraded_reason"]) == ("unhealthy", "database_unreachable")
    database = body["checks"]["database"]
    assert (database["status"], database["error"]) == ("fail", "connection_failed")
    assert [(e["name"], e["status"], e.get("error")) for e in database["engines"]] == [
        ("default", "pass", None), (name, "fail", "connection_failed")]
    assert "s3cr3t" not in deep.get_data(as_text=True)

    proxy.pass_through()
    assert client.get("/health/deep").status_code == 200


def test_no_engine_at_all_passes_with_nothing_probed_created_or_logged(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    host = dashboard_host(f'[dashboard]\nplugins = ["health"]\n{ECHO}\n[database]\nurl = ""\n')
    client = dashboard_client(host)
    with caplog.at_level(logging.DEBUG):
        assert state_of(host).background.tick().status == "pass"
        shallow, deep = client.get("/health"), client.get("/health/deep")
        metrics = client.get("/metrics")
    for response in (shallow, deep):
        body = response.get_json()
        assert response.status_code == 200 and body["status"] == "healthy", body
        database = body["checks"]["database"]
        assert (database["status"], database["engines"]) == ("pass", [])
        assert body["checks"]["pool"] == {"status": "pass", "size": 0, "checked_out": 0,
                                          "overflow": 0, "max_capacity": 0, "saturation": 0.0}
    assert metrics.status_code == 200
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not list(tmp_path.rglob("*.db")), "no database file of the host's own"
    figures = database_figures(host, {})
    assert figures["engines"] == [] and figures["dialect"] is None
    assert figures["pool"]["max_capacity"] == 0


def test_pool_check_and_system_status_follow_the_adopted_engine(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        pg_database: str, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(APP_DB_URL_ENV, app_url(pg_database, proxy))
    host = dashboard_host(f'[dashboard]\nplugins = ["health"]\n{APP}\n'
                         "[database]\nurl = \"\"\npool_size = 1\nmax_overflow = 0\n"
                         "pool_timeout = 3\npool_recycle = 900\nconnect_timeout = 4\n"
                         "call_timeout_ms = 2500\n")
    client = dashboard_client(host)
    assert client.get("/").status_code == 200
    (name, engine), = host_engines(host)
    with engine.connect():  # the one connection of the bounded pool, held
        pool = client.get("/health").get_json()["checks"]["pool"]
        assert pool == {"status": "fail", "size": 1, "checked_out": 1, "overflow": 0,
                        "max_capacity": 1, "saturation": 1.0}
    figures = database_figures(host, {})
    assert figures["engines"] == [{
        "name": name, "dialect": "postgresql", "pool_class": "BoundedPool", "pool_size": 1,
        "max_overflow": 0, "pool_timeout": 3.0, "pool_recycle": 900, "pool_pre_ping": True,
        "connect_timeout": 4, "call_timeout_ms": 2500}]
    # No host engine: the top-level fields are the first adopted engine's.
    assert (figures["dialect"], figures["pool_size"], figures["pool_timeout"]) == (
        "postgresql", 1, 3.0)
    assert "s3cr3t" not in repr(figures)


def host_engines(host: Host) -> list[tuple[str, Any]]:
    from dashboard import database_engines

    return database_engines(host)


def value(name: str, **labels: str) -> float:
    flush_all()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_background_reading_is_published_per_engine(caplog: pytest.LogCaptureFixture) -> None:
    def reading(app_status: str) -> CheckResult:
        engines = [{"name": "test-own", "url": "sqlite://", "status": "pass", "latency_ms": 1.0},
                   {"name": "test-app", "url": "postgresql://x", "status": app_status,
                    "latency_ms": 2.0}]
        if app_status == "fail":
            engines[1]["error"] = "connection_failed"
        return CheckResult("database", app_status, {"latency_ms": 2.0, "engines": engines})

    outcomes = iter(["pass", "fail", "fail", "pass"])
    probe = BackgroundProbe(lambda: reading(next(outcomes)), ManualClock(), 0)
    seen = []
    with caplog.at_level(logging.INFO, logger="dashboard.health"):
        for _ in range(4):
            probe.tick()
            seen.append((value("dashboard_database_up", engine="test-own"),
                         value("dashboard_database_up", engine="test-app"),
                         value("dashboard_health_status")))
    assert seen == [(1, 1, 0), (1, 0, 2), (1, 0, 2), (1, 1, 0)]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records
             if "background database probe" in r.getMessage()]
    assert lines == [
        ("WARNING", "health: background database probe failing (engine=test-app, "
                    "error=connection_failed)"),
        ("INFO", "health: background database probe passes again (engine=test-app)")]
