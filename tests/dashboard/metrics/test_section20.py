"""docs/api/metrics.md series in one process: handler and STALE labels, probe readings and their log
lines, pool gauges and timeouts, breaker call counts, build info and process readings."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy
from prometheus_client import REGISTRY
from werkzeug.test import Client

from dashboard import contract
from dashboard.checks import CheckResult
from dashboard.clock import ManualClock
from dashboard.metrics.batch import flush_all
from dashboard.metrics.pools import watch_engine
from dashboard.metrics.process import HostProcessCollector, host_pids, read_process
from dashboard.metrics.series import series
from dashboard.pipeline.catcher import LastResortCatcher
from dashboard.pipeline.observe import RequestMeter, mark_stand_in
from dashboard.plugins.breaker.metrics import count_call, count_rejection
from dashboard.plugins.health.background import BackgroundProbe

DURATION = "dashboard_http_request_duration_seconds_count"


def value(name: str, **labels: str) -> float:
    flush_all()
    return REGISTRY.get_sample_value(name, labels) or 0.0


def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    if environ["PATH_INFO"] == "/stood-in":
        contract.error_response(environ, "CIRCUIT_BREAKER_OPEN")  # what the app answered ...
        mark_stand_in(environ)  # ... and what the fallback sent instead
    return contract.success_response(environ, {"ok": True})(environ, start_response)


def test_control_paths_and_stand_ins_are_labelled_apart() -> None:
    client = Client(LastResortCatcher(app, SimpleNamespace(), RequestMeter()))
    keys = {"app": dict(method="GET", status="2xx", code="", handler="app"),
            "control": dict(method="GET", status="2xx", code="", handler="control"),
            "stale": dict(method="GET", status="2xx", code="STALE", handler="app")}
    before = {key: value(DURATION, **labels) for key, labels in keys.items()}
    for path in ("/report", "/health", "/metrics", "/admin/x", "/static/a.js", "/livez",
                 "/stood-in"):
        client.get(path).close()
    after = {key: value(DURATION, **labels) for key, labels in keys.items()}
    assert {key: after[key] - before[key] for key in keys} == {"app": 1, "control": 5,
                                                               "stale": 1}


def failing() -> CheckResult:
    return CheckResult("database", "fail", {"error": "connection_failed"},
                       degraded_reason="database_unreachable")


def passing() -> CheckResult:
    return CheckResult("database", "pass", {"latency_ms": 1.0})


def test_probe_readings_are_gauges_and_turns_are_one_log_line_each(
        caplog: pytest.LogCaptureFixture) -> None:
    outcomes = iter([passing, failing, failing, failing, passing, passing])
    probe = BackgroundProbe(lambda: next(outcomes)(), ManualClock(), 0, engine="test-probe")
    readings = []
    with caplog.at_level(logging.INFO, logger="dashboard.health"):
        for _ in range(6):
            probe.tick()
            readings.append((value("dashboard_database_up", engine="test-probe"),
                             value("dashboard_health_status")))
    assert readings == [(1, 0), (0, 2), (0, 2), (0, 2), (1, 0), (1, 0)]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records
             if "background database probe" in r.getMessage()]
    assert lines == [
        ("WARNING", "health: background database probe failing (engine=test-probe, "
                    "error=connection_failed)"),
        ("INFO", "health: background database probe passes again (engine=test-probe)")]


def test_pool_gauges_follow_waiters_and_timeouts_are_counted(pg_url: str) -> None:
    engine = sqlalchemy.create_engine(pg_url, pool_size=1, max_overflow=1,
                                      pool_timeout=0.5)
    sampler = watch_engine("test-pool", engine)
    try:
        held = [engine.connect(), engine.connect()]  # the pool's one and its one overflow
        waiter = threading.Thread(target=lambda: _expect_timeout(engine))
        waiter.start()
        deadline = time.monotonic() + 5
        while value("dashboard_db_pool_waiting", engine="test-pool") < 1:
            assert time.monotonic() < deadline, "the waiting thread never showed"
            sampler.flush()
            time.sleep(0.01)
        assert value("dashboard_db_pool_size", engine="test-pool") == 1
        assert value("dashboard_db_pool_overflow", engine="test-pool") == 1
        waiter.join(5)
        sampler.flush()
        assert value("dashboard_db_pool_waiting", engine="test-pool") == 0
        assert value("dashboard_db_pool_timeouts_total", engine="test-pool") == 1
        for connection in held:
            connection.close()
    finally:
        engine.dispose()


def _expect_timeout(engine: Any) -> None:
    with pytest.raises(sqlalchemy.exc.TimeoutError):
        engine.connect()


def test_breaker_calls_are_counted_by_kind() -> None:
    kinds = ("success", "failure", "slow", "not_permitted")
    before = {kind: value("dashboard_breaker_calls_total", kind=kind) for kind in kinds}
    rejections = value("dashboard_breaker_rejections_total")
    for kind, times in (("success", 3), ("failure", 2), ("slow", 1)):
        for _ in range(times):
            count_call(kind)
    count_rejection()
    after = {kind: value("dashboard_breaker_calls_total", kind=kind) for kind in kinds}
    assert {k: after[k] - before[k] for k in kinds} == {"success": 3, "failure": 2, "slow": 1,
                                                        "not_permitted": 1}
    assert value("dashboard_breaker_rejections_total") == rejections + 1


def test_build_info_and_every_host_process_is_read(tmp_path: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import __version__

    series()  # registers the build info with the process's registry
    assert value("dashboard_build_info", version=__version__) == 1
    sibling = os.fork()
    if sibling == 0:  # a stand-in worker: alive until killed
        time.sleep(60)
        os._exit(0)
    try:
        (tmp_path / f"gauge_livesum_{sibling}.db").write_bytes(b"")
        monkeypatch.setenv("DASHBOARD_MASTER_PID", str(os.getppid()))
        assert host_pids(tmp_path) == sorted({os.getpid(), os.getppid(), sibling})
        families = {f.name: f for f in HostProcessCollector(tmp_path).collect()}
        pids = {s.labels["pid"] for s in families["process_start_time_seconds"].samples}
        assert pids == {str(os.getpid()), str(os.getppid()), str(sibling)}
        mine = read_process(os.getpid())
        assert mine is not None and mine["rss"] > 0 and mine["fds"] >= 3
        assert abs(mine["start"] - time.time()) < 86_400 * 30
    finally:
        os.kill(sibling, 9)
        os.waitpid(sibling, 0)
    assert read_process(sibling) is None
