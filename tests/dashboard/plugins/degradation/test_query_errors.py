"""The app's own bad SQL and a statement past call_timeout_ms, through a real gunicorn worker."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.dashboard.plugins.degradation.serving import breaker_state, error_code, server_toml
from tests.support.server import gunicorn_server


def test_bad_sql_is_db_query_error_and_leaves_the_breaker_closed_and_timeouts_are_504(
        tmp_path: Path, pg_url: str) -> None:
    toml = server_toml(pg_url, database={"call_timeout_ms": 1000},
                       breaker={"window_size": 4, "minimum_calls": 4},
                       degradation={"query_timeout_retry_after": 12})
    with gunicorn_server(tmp_path, toml, workers=1, ready_path="/page") as server:
        for _ in range(6):  # more than a window's worth of failures of the app's own making
            response = requests.get(server.url + "/bad-sql", timeout=10)
            body = response.json()
            assert response.status_code == 500
            assert error_code(response) == "DB_QUERY_ERROR"
            assert body["error"]["retryable"] is False
            assert "Retry-After" not in response.headers
            assert "retry_after_seconds" not in body["meta"]
            assert "no_such_table" not in response.text and "SELECT" not in response.text
        state = breaker_state(server.url)
        assert state["state"] == "CLOSED" and state["failure_rate"] == 0.0
        assert requests.get(server.url + "/query", timeout=10).status_code == 200

        started = time.monotonic()
        slow = requests.get(server.url + "/hold?seconds=10", timeout=30)
        assert time.monotonic() - started < 5  # cut by statement_timeout, not by pg_sleep(10)
        assert slow.status_code == 504
        assert error_code(slow) == "DB_QUERY_TIMEOUT"
        assert slow.headers["Retry-After"] == "12"
        assert slow.json()["meta"]["retry_after_seconds"] == 12
        assert requests.get(server.url + "/query", timeout=10).status_code == 200
        assert breaker_state(server.url)["failure_rate"] > 0  # a timeout counts; bad SQL didn't
