"""Health through a real gunicorn server and real PostgreSQL behind the fault proxy."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, gunicorn_server

APP = 'app_factory = "tests.dashboard.plugins.health.apps:create_app"'
PLUGINS = 'plugins = ["breaker", "degradation", "health"]'


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy() as running:
        yield running


def config(environment: str, database_url: str, extra: str = "", workers: int = 2,
           threads: int = 4) -> str:
    return f"""
        [dashboard]
        environment = "{environment}"
        {PLUGINS}
        {APP}
        [server]
        workers = {workers}
        threads = {threads}
        [database]
        url = "{database_url}"
        pool_size = 2
        max_overflow = 0
        pool_timeout = 1
        connect_timeout = 2
        {extra}
    """


def fresh_get(server: Server, path: str) -> requests.Response:
    """A new TCP connection each time, so gunicorn may hand it to either worker."""
    return requests.get(server.url + path, timeout=30, headers={"Connection": "close"})


def probe_counts(server: Server, pids: set[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for _ in range(200):
        data = fresh_get(server, "/test/probe-count").json()["data"]
        counts[data["pid"]] = data["count"]
        if pids <= set(counts):
            return counts
    raise AssertionError(f"workers {pids - set(counts)} never answered")


def deep_until_both_workers(server: Server, at_least: int) -> list[dict]:
    bodies: list[dict] = []
    while len(bodies) < at_least or len({b["worker_pid"] for b in bodies}) < 2:
        assert len(bodies) < 300, "the second worker never answered"
        response = fresh_get(server, "/health/deep")
        assert response.status_code == 200
        bodies.append(response.json())
    return bodies


def metric_value(text: str, name: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} not in /metrics")


def test_production_memo_probes_once_per_worker_and_metrics_sum(
        tmp_path: Path, pg_url: str, proxy: FaultProxy) -> None:
    toml = config("production", proxy.url_for(pg_url),  # no background probe: count deep ones
                  "[plugins.health]\nmemo_ttl_seconds = 60\nrefresh_seconds = 0")
    with gunicorn_server(tmp_path, toml, ready_path="/livez") as server:
        bodies = deep_until_both_workers(server, at_least=30)
        pids = {body["worker_pid"] for body in bodies}
        misses = Counter(body["worker_pid"] for body in bodies if not body["cache"]["hit"])
        assert all(body["status"] == "healthy" for body in bodies)
        assert all(body["checks"]["database"]["status"] == "pass" for body in bodies)
        assert misses == dict.fromkeys(pids, 1), "one computation per worker, hits after it"
        assert all(body["cache"]["age_seconds"] < 60 for body in bodies)
        assert probe_counts(server, pids) == dict.fromkeys(pids, 1), \
            "exactly one database probe per worker"

        hits = sum(body["cache"]["hit"] for body in bodies)
        scraped = fresh_get(server, "/metrics")
        assert scraped.status_code == 200
        assert metric_value(scraped.text, "dashboard_health_cache_hits_total") == hits, \
            "the sum over both workers"

        with requests.Session() as session:  # one kept-alive connection: one worker
            pid = session.get(server.url + "/health", timeout=10).json()["worker_pid"]
            assert session.get(server.url + "/readyz", timeout=10).status_code == 200
            live_gauges = tmp_path / "run" / "metrics" / f"gauge_livemax_{pid}.db"
            assert live_gauges.exists()
            os.kill(pid, signal.SIGTERM)  # what the master sends on reload or stop
            draining = session.get(server.url + "/readyz", timeout=10)
        assert (draining.status_code, draining.json()) == (
            503, {"status": "draining", "worker_pid": pid})
        deadline = time.monotonic() + 15
        while live_gauges.exists():  # the master marks the dead worker for prometheus
            assert time.monotonic() < deadline, "dead worker's live gauges were not dropped"
            time.sleep(0.1)


def test_faults_turn_into_honest_statuses(tmp_path: Path, pg_url: str, proxy: FaultProxy
                                          ) -> None:
    extra = ("[plugins.breaker]\nwindow_size = 4\nminimum_calls = 2\nopen_seconds = 120\n"
             "[plugins.health]\ndeep_timeout_ms = 1000")
    with gunicorn_server(tmp_path, config("testing", proxy.url_for(pg_url), extra),
                         ready_path="/livez") as server:
        with requests.Session() as session:
            healthy = [session.get(server.url + "/health/deep", timeout=10) for _ in range(5)]
            count = session.get(server.url + "/test/probe-count", timeout=10).json()["data"]
            assert [r.status_code for r in healthy] == [200] * 5
            assert {r.json()["status"] for r in healthy} == {"healthy"}
            assert not any(r.json()["cache"]["hit"] for r in healthy)
            assert count["count"] == 5, "testing: every request probes"

            session.get(server.url + "/test/hold?n=2&seconds=2", timeout=10).raise_for_status()
            saturated = session.get(server.url + "/health", timeout=10).json()
        assert saturated["checks"]["pool"]["saturation"] == 1.0
        assert saturated["status"] == "degraded"
        assert saturated["degraded_reason"] == "db_pool_saturated"
        assert saturated["resilience"]["recommendation"]["action"] == "throttle"

        proxy.refuse()
        for _ in range(4):
            down = fresh_get(server, "/health/deep")
            assert down.status_code == 503
            assert down.json()["status"] == "unhealthy"
            assert down.json()["degraded_reason"] == "database_unreachable"

        for _ in range(30):  # failures for both workers' breakers
            fresh_get(server, "/test/db")
        opened = [fresh_get(server, "/health") for _ in range(10)]
        open_bodies = [r.json() for r in opened
                       if r.json()["checks"]["breaker"]["state"] == "OPEN"]
        assert open_bodies, "a breaker opened"
        for body in open_bodies:
            assert body["status"] == "degraded"
            assert body["degraded_reason"] == "circuit_breaker_open"
            assert body["checks"]["breaker"]["retry_after_seconds"] >= 1
            assert body["resilience"]["recommendation"]["action"] == "throttle", \
                "breaker OPEN without sustained pressure + allowed policy: throttle"
        assert {r.status_code for r in opened} == {200}
        assert fresh_get(server, "/livez").status_code == 200
        assert fresh_get(server, "/readyz").status_code == 200, "an outage keeps pods in"

        proxy.pass_through()  # the database is back; the breakers stay OPEN (open_seconds)
        back = [fresh_get(server, "/health/deep").json() for _ in range(6)]
        for body in back:
            assert body["checks"]["database"]["status"] == "pass", "probes bypass the breaker"
            if body["checks"]["breaker"]["state"] == "OPEN":
                assert (body["status"], body["degraded_reason"]) == (
                    "degraded", "circuit_breaker_open")


def test_probe_storm_on_one_worker_costs_one_probe(tmp_path: Path, pg_url: str,
                                                   proxy: FaultProxy) -> None:
    toml = config("production", proxy.url_for(pg_url),
                  "[plugins.health]\nmemo_ttl_seconds = 2\nrefresh_seconds = 0", workers=1,
                  threads=8)
    with gunicorn_server(tmp_path, toml, ready_path="/livez", workers=1,
                         env={"HEALTH_TEST_SLOW_CHECK_MS": "800"}) as server:
        assert fresh_get(server, "/health/deep").json()["cache"]["hit"] is False
        threading.Event().wait(2.2)  # the memo expires
        start = threading.Barrier(200)

        def one(_: int) -> requests.Response:
            start.wait(30)
            return requests.get(server.url + "/health/deep", timeout=60)

        with ThreadPoolExecutor(200) as pool:
            responses = list(pool.map(one, range(200)))
        assert [r.status_code for r in responses] == [200] * 200
        assert len({r.json()["worker_pid"] for r in responses}) == 1
        computed = [r for r in responses if not r.json()["cache"]["hit"]]
        assert len(computed) == 1, "single flight: one computation for the whole storm"
        count = fresh_get(server, "/test/probe-count").json()["data"]["count"]
        assert count == 2, "one probe for the warm-up, one for the storm"
