"""Connections lost or hanging under a real gunicorn worker, faults made by the proxy.

* Cut mid-query: the running request gets DB_CONNECTION_FAILED; the pool throws the broken
  connections away, so the next requests succeed on fresh ones, even without pre-ping.
* Hang (the proxy accepts and stays silent): each attempt ends at ``connect_timeout`` with
  DB_CONNECTION_FAILED, then the breaker opens and answers at once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from tests.dashboard.plugins.degradation.serving import breaker_state, error_code, server_toml
from tests.support.faultproxy import FaultProxy
from tests.support.server import gunicorn_server


@pytest.mark.parametrize("pre_ping", [True, False], ids=["pre_ping", "no_pre_ping"])
def test_cut_mid_query_answers_connection_failed_and_next_requests_use_fresh_connections(
        tmp_path: Path, pg_url: str, pre_ping: bool) -> None:
    toml = server_toml("", database={"pool_size": 2, "pool_pre_ping": pre_ping})
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path, toml.replace('url = ""', f'url = "{proxy.url_for(pg_url)}"'),
            workers=1, ready_path="/page") as server:
        for _ in range(2):  # a warm pool: its idle connection is cut too
            assert requests.get(server.url + "/query", timeout=10).status_code == 200
        threading.Timer(0.8, proxy.cut).start()
        started = time.monotonic()
        cut = requests.get(server.url + "/hold?seconds=5", timeout=30)
        assert time.monotonic() - started < 4
        assert cut.status_code == 503
        assert error_code(cut) == "DB_CONNECTION_FAILED"
        assert cut.json()["error"]["retryable"] is True
        assert cut.headers["Retry-After"] == "30"
        assert "server closed" not in cut.text and "consuming input" not in cut.text

        accepted = proxy.accepted_total
        for _ in range(3):
            response = requests.get(server.url + "/query", timeout=10)
            assert response.status_code == 200, response.text
        assert proxy.accepted_total > accepted  # fresh connections replaced the broken ones
        assert breaker_state(server.url)["state"] == "CLOSED"


def test_hang_is_bounded_by_connect_timeout_then_the_breaker_opens(
        tmp_path: Path, pg_url: str) -> None:
    breaker = {"window_size": 3, "minimum_calls": 3, "open_seconds": 30}
    with FaultProxy() as proxy:
        toml = server_toml(proxy.url_for(pg_url), breaker=breaker,
                           database={"connect_timeout": 1, "call_timeout_ms": 1000})
        # The pool starts empty (the readiness probe needs no database), so every access opens
        # a new connection: the part of a hang that connect_timeout bounds.
        with gunicorn_server(tmp_path, toml, workers=1, ready_path="/page") as server:
            proxy.hang()
            codes = []
            for _ in range(breaker["minimum_calls"]):
                started = time.monotonic()
                response = requests.get(server.url + "/query", timeout=30)
                elapsed = time.monotonic() - started
                codes.append(error_code(response))
                assert response.status_code == 503
                assert elapsed < 6  # libpq waits at least 2 s per address; never unbounded
            assert codes == ["DB_CONNECTION_FAILED"] * breaker["minimum_calls"]
            assert proxy.accepted_total >= breaker["minimum_calls"]

            started = time.monotonic()
            response = requests.get(server.url + "/query", timeout=30)
            assert time.monotonic() - started < 1
            assert error_code(response) == "CIRCUIT_BREAKER_OPEN"
            assert 25 <= int(response.headers["Retry-After"]) <= 30
            state = breaker_state(server.url)
            assert state["state"] == "OPEN" and state["retry_after_seconds"] >= 25


def test_a_frozen_pooled_connection_is_cut_by_the_bounded_pre_ping_then_the_breaker_opens(
        tmp_path: Path, pg_url: str) -> None:
    breaker = {"window_size": 3, "minimum_calls": 3, "open_seconds": 30}
    with FaultProxy() as proxy:
        toml = server_toml(proxy.url_for(pg_url), breaker=breaker,
                           database={"connect_timeout": 1, "call_timeout_ms": 1000,
                                     "pool_pre_ping": True})
        with gunicorn_server(tmp_path, toml, workers=1, ready_path="/page") as server:
            assert requests.get(server.url + "/query", timeout=10).status_code == 200
            proxy.hang()  # the idle pooled connection freezes: its pre-ping would never return
            codes = []
            for _ in range(4):
                started = time.monotonic()
                response = requests.get(server.url + "/query", timeout=30)
                assert time.monotonic() - started < 8  # ping bound + one connect_timeout
                assert response.status_code == 503
                codes.append(error_code(response))
                if codes[-1] == "CIRCUIT_BREAKER_OPEN":
                    break
            assert codes[0] == "DB_CONNECTION_FAILED"
            assert codes[-1] == "CIRCUIT_BREAKER_OPEN", codes
            assert "WORKER TIMEOUT" not in server.log_text()
