"""§9.3 through real gunicorn (2 workers) and real PostgreSQL behind the fault proxy: with no
traffic at all, ``/health`` notices a database outage within ``refresh_seconds +
memo_ttl_seconds + 2``, from each worker's background probe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.dashboard.plugins.health.test_gunicorn import config, fresh_get, probe_counts
from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, gunicorn_server

REFRESH_SECONDS = 1
MEMO_TTL_SECONDS = 1
NOTICE_WITHIN = REFRESH_SECONDS + MEMO_TTL_SECONDS + 2  # the contract's bound


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy() as running:
        yield running


def health_of_each_worker(server: Server, want: set[int] | None = None,
                          attempts: int = 200) -> dict[int, requests.Response]:
    """One fresh ``/health`` answer per worker (new connections until both answered)."""
    seen: dict[int, requests.Response] = {}
    for _ in range(attempts):
        response = fresh_get(server, "/health")
        seen.setdefault(response.json()["worker_pid"], response)
        if len(seen) == 2 and (want is None or set(seen) == want):
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered")


def test_no_traffic_outage_makes_health_unhealthy_within_the_bound(
        tmp_path: Path, pg_url: str, proxy: FaultProxy) -> None:
    extra = (f"[plugins.health]\nrefresh_seconds = {REFRESH_SECONDS}\n"
             f"memo_ttl_seconds = {MEMO_TTL_SECONDS}\ndeep_timeout_ms = 1000")
    with gunicorn_server(tmp_path, config("production", proxy.url_for(pg_url), extra),
                         ready_path="/livez") as server:
        deadline = time.monotonic() + 30
        while True:  # both workers have probed in the background and say so on /health
            answers = health_of_each_worker(server)
            databases = [r.json()["checks"].get("database") for r in answers.values()]
            if all(d is not None and d["status"] == "pass" for d in databases):
                break
            assert time.monotonic() < deadline, f"no background probe result: {databases}"
            time.sleep(0.2)
        pids = set(answers)
        for response in answers.values():
            body = response.json()
            assert response.status_code == 200 and body["status"] == "healthy"
            assert 0 <= body["checks"]["database"]["age_seconds"] < REFRESH_SECONDS + 2

        before = probe_counts(server, pids)
        time.sleep(3 * REFRESH_SECONDS)
        after = probe_counts(server, pids)
        for pid in pids:  # at most one background probe per period (and some probing at all)
            assert 1 <= after[pid] - before[pid] <= 3 + 1, (before, after)

        proxy.refuse()  # no app traffic from here on: only the background probes can notice
        down_at = time.monotonic()
        noticed: dict[int, float] = {}
        last: dict[int, dict] = {}
        while len(noticed) < 2 and time.monotonic() - down_at < NOTICE_WITHIN + 10:
            response = fresh_get(server, "/health")
            body = response.json()
            last[body["worker_pid"]] = body
            if body["status"] == "unhealthy" and body["worker_pid"] not in noticed:
                noticed[body["worker_pid"]] = time.monotonic() - down_at
                assert response.status_code == 503
                assert body["degraded_reason"] == "database_unreachable"
                assert body["checks"]["database"]["status"] == "fail"
                assert body["checks"]["database"]["error"] == "connection_failed"
                assert body["checks"]["breaker"]["state"] == "CLOSED", "probes bypass the breaker"
            time.sleep(0.05)
        assert set(noticed) == pids, f"not every worker noticed: {last}"
        assert max(noticed.values()) <= NOTICE_WITHIN, noticed
        assert fresh_get(server, "/livez").status_code == 200
        assert fresh_get(server, "/readyz").status_code == 200, "an outage keeps pods in"

        proxy.pass_through()
        deadline = time.monotonic() + NOTICE_WITHIN + 10
        while True:
            answers = health_of_each_worker(server, pids)
            if all(r.json()["status"] == "healthy" for r in answers.values()):
                break
            assert time.monotonic() < deadline, "health did not come back after the outage"
            time.sleep(0.2)
