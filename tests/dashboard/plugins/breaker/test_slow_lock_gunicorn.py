"""Through a real gunicorn worker: a locked table opens the breaker on slow calls, not timeouts.

One worker (so every request meets the same breaker), eight threads, PostgreSQL with
``call_timeout_ms = 10000``. A second connection holds ``ACCESS EXCLUSIVE`` on the table the app
reads; the stuck requests count as slow at 300 ms while they wait, the worker's log says the
slow call rate opened it, and new requests fail fast with ``CIRCUIT_BREAKER_OPEN`` while the
stuck ones are still waiting. After the lock is released and the open time has passed, it
closes again.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.dashboard.plugins.breaker.lockapp import TABLE, create_table
from tests.support.server import gunicorn_server

CALL_TIMEOUT_S = 10
TOML = """
[dashboard]
environment = "testing"
plugins = ["breaker", "degradation"]
app_factory = "tests.dashboard.plugins.breaker.lockapp:create_app"

[server]
threads = 8
timeout = 60

[database]
url = "{url}"
pool_size = 8
max_overflow = 0
pool_timeout = 20
call_timeout_ms = {call_timeout_ms}

[plugins.breaker]
window_size = 4
minimum_calls = 4
slow_call_ms = 300
open_seconds = 3
"""


def code_of(response: requests.Response) -> str | None:
    body = response.json()
    return None if body["success"] else body["error"]["code"]


def test_a_locked_table_opens_the_breaker_on_slow_calls_in_a_gunicorn_worker(
        tmp_path: Path, pg_url: str) -> None:
    create_table(pg_url)
    toml = TOML.format(url=pg_url, call_timeout_ms=CALL_TIMEOUT_S * 1000)
    locker = create_engine(pg_url).connect()
    try:
        with gunicorn_server(tmp_path, toml, workers=1, ready_path="/breaker") as server, \
                ThreadPoolExecutor(max_workers=5) as pool:
            assert server.get("/items").status_code == 200
            locker.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            stuck = [pool.submit(server.get, "/items") for _ in range(5)]

            opening = "circuit breaker CLOSED -> OPEN (slow call rate"
            while opening not in server.log_text():
                assert time.monotonic() - started < CALL_TIMEOUT_S * 0.8, server.log_text()
                time.sleep(0.05)
            assert not any(f.done() for f in stuck), "a stuck query ended before the breaker opened"

            asked = time.monotonic()
            refused = server.get("/items")
            assert time.monotonic() - asked < 1.0
            assert refused.status_code == 503 and code_of(refused) == "CIRCUIT_BREAKER_OPEN"
            hint = int(refused.headers["Retry-After"])
            assert 1 <= hint <= 3 and refused.json()["meta"]["retry_after_seconds"] == hint
            state = server.get("/breaker").json()["data"]
            assert state["state"] == "OPEN" and state["slow_call_rate"] == 1.0
            assert state["failure_rate"] == 0.0

            locker.rollback()  # the migration is done
            results = [f.result(timeout=30) for f in stuck]
            assert [r.status_code for r in results] == [200] * 5  # never cut by a timeout
            assert "DB_QUERY_TIMEOUT" not in server.log_text()

            state = server.get("/breaker").json()["data"]
            if state["state"] == "OPEN":
                time.sleep(state["retry_after_seconds"] + 0.3)
            assert server.get("/items").status_code == 200  # the probe
            assert server.get("/breaker").json()["data"]["state"] == "CLOSED"
            assert "circuit breaker HALF_OPEN -> CLOSED" in server.log_text()
    finally:
        locker.close()
