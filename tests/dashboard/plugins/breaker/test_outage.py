"""A database outage through a real gunicorn worker and a fault proxy in front of PostgreSQL.

Connection failures first, then the breaker opens and fails fast without touching the network,
with a Retry-After that counts down; after the open period exactly one probe reaches the
database, and its success closes the breaker.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.dashboard.plugins.degradation.serving import breaker_state, error_code, server_toml
from tests.support.faultproxy import FaultProxy
from tests.support.server import gunicorn_server

BREAKER = {"window_size": 4, "minimum_calls": 4, "failure_rate_threshold": 0.5,
           "open_seconds": 4, "half_open_max_calls": 1}


def get(url: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=30)
    return response, time.monotonic() - started


def test_outage_opens_fails_fast_counts_down_then_one_probe_closes(
        tmp_path: Path, pg_url: str) -> None:
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path, server_toml(proxy.url_for(pg_url), breaker=BREAKER),
            workers=1, ready_path="/page") as server:
        assert get(server.url + "/query")[0].status_code == 200
        proxy.refuse()

        codes = []
        for _ in range(6):
            response, _elapsed = get(server.url + "/query")
            codes.append(error_code(response))
            assert not any(leak in response.text.lower()
                           for leak in ("refused", "postgres", "127.0.0.1", "psycopg"))
            if codes[-1] != "DB_CONNECTION_FAILED":
                break
            assert response.status_code == 503
            assert response.json()["error"]["retryable"] is True
            assert response.headers["Retry-After"] == "30"
        assert codes[0] == "DB_CONNECTION_FAILED"
        assert codes[-1] == "CIRCUIT_BREAKER_OPEN", codes
        assert len(codes) <= BREAKER["minimum_calls"] + 1

        # OPEN: fail fast, never reaching the network (a hanging proxy would show it by hanging).
        proxy.hang()
        accepted = proxy.accepted_total
        first, elapsed = get(server.url + "/query")
        assert elapsed < 1.0
        assert first.status_code == 503 and error_code(first) == "CIRCUIT_BREAKER_OPEN"
        body = first.json()
        assert body["error"]["retryable"] is True
        first_hint = int(first.headers["Retry-After"])
        assert 1 <= first_hint <= BREAKER["open_seconds"]
        assert body["meta"]["retry_after_seconds"] == first_hint
        assert get(server.url + "/page")[0].status_code == 200  # no database, still served
        state = breaker_state(server.url)
        assert state["state"] == "OPEN" and state["status"] == "fail"

        time.sleep(1.2)
        later, _ = get(server.url + "/own-engine")  # an engine the app made itself is gated too
        assert error_code(later) == "CIRCUIT_BREAKER_OPEN"
        assert int(later.headers["Retry-After"]) < first_hint
        assert proxy.accepted_total == accepted

        # HALF_OPEN after the real time left: one probe goes through, the others are refused.
        proxy.pass_through()
        time.sleep(int(later.headers["Retry-After"]) + 0.3)
        accepted = proxy.accepted_total
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: get(server.url + "/hold?seconds=1.5"), range(4)))
        statuses = sorted(r.status_code for r, _ in results)
        assert statuses == [200, 503, 503, 503], statuses
        for response, elapsed in results:
            if response.status_code == 503:
                assert error_code(response) == "CIRCUIT_BREAKER_OPEN"
                assert elapsed < 1.4  # refused at once, not after waiting for the probe
        assert proxy.accepted_total - accepted == 1

        assert breaker_state(server.url)["state"] == "CLOSED"
        for _ in range(3):
            assert get(server.url + "/query")[0].status_code == 200
        log = server.log_text()
        for transition in ("CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> CLOSED"):
            assert f"circuit breaker {transition}" in log
