"""A table locked by a migration opens the breaker on slow calls, long before any timeout.

In-process host on a real PostgreSQL engine (real pool, real statement_timeout, the real
sweeper thread): a second connection holds ``ACCESS EXCLUSIVE`` on the table the app reads.
Queries then wait for the lock; each counts as slow at ``slow_call_ms`` (300 ms) while still
waiting, so the breaker opens after ~0.3 s instead of after ``call_timeout_ms`` (10 s) cut
them. Meanwhile requests fail fast with ``CIRCUIT_BREAKER_OPEN``; a probe still stuck behind the
lock is a failed probe (the open time doubles); once the lock is gone and the open time has
passed, one probe closes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from werkzeug.test import Client

from dashboard.host import Host
from dashboard.plugins.breaker.runtime import BREAKER
from dashboard.testing import assert_error_envelope, assert_success_envelope
from tests.dashboard.plugins.breaker.lockapp import TABLE, create_table

CALL_TIMEOUT_MS = 10_000
TOML = """
[dashboard]
plugins = ["breaker", "degradation"]
app_factory = "tests.dashboard.plugins.breaker.lockapp:create_app"
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
slow_call_rate_threshold = 1.0
open_seconds = 2
open_seconds_max = 8
"""


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def transitions() -> Iterator[Records]:
    logger = logging.getLogger("dashboard.breaker")
    handler = Records()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_locked_table_opens_the_breaker_on_slow_calls_before_any_timeout(
        dashboard_host: Callable[..., Host], pg_url: str, transitions: Records) -> None:
    create_table(pg_url)
    host = dashboard_host(TOML.format(url=pg_url, call_timeout_ms=CALL_TIMEOUT_MS))
    runtime = host.find_state(BREAKER)
    assert runtime is not None
    app = host.build_app()

    def get(path: str) -> Any:
        return Client(app).get(path)

    locker = create_engine(pg_url).connect()
    pool = ThreadPoolExecutor(max_workers=6)
    try:
        assert_success_envelope(get("/items"))
        locker.execute(text(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"))  # held: no commit

        started = time.monotonic()
        stuck: list[Future[Any]] = [pool.submit(get, "/items") for _ in range(4)]
        opened_after = wait_for(lambda: runtime.breaker.snapshot().state.value == "OPEN",
                                CALL_TIMEOUT_MS / 1000 * 0.8, "the breaker to open")
        assert not any(f.done() for f in stuck), "a stuck query ended before the breaker opened"
        assert opened_after < CALL_TIMEOUT_MS / 1000 / 2
        check = assert_success_envelope(get("/breaker"))
        assert check["state"] == "OPEN" and check["slow_call_rate"] == 1.0
        assert check["failure_rate"] == 0.0

        runtime.notifier.wait_idle(timeout=10)
        opening = [m for m in transitions.messages if "CLOSED -> OPEN" in m]
        assert len(opening) == 1 and "slow call rate 1.00" in opening[0], transitions.messages

        # OPEN: new requests fail fast, Retry-After is the real time left of the 2 s period.
        asked = time.monotonic()
        refused = get("/items")
        assert time.monotonic() - asked < 1.0
        body = assert_error_envelope(refused, "CIRCUIT_BREAKER_OPEN")
        assert 1 <= body["meta"]["retry_after_seconds"] <= 2

        # Still locked when the period ends: the probe is slow too, so it reopens for 4 s.
        wait_for(lambda: runtime.breaker.snapshot().state.value == "HALF_OPEN", 10,
                 "HALF_OPEN")
        probe = pool.submit(get, "/items")
        wait_for(lambda: runtime.breaker.snapshot().state.value == "OPEN", 8,
                 "the slow probe to reopen it")
        assert not probe.done()
        runtime.notifier.wait_idle(timeout=10)
        assert any("HALF_OPEN -> OPEN (probe slow; open 4s)" in m for m in transitions.messages)
        assert runtime.breaker.open_period == 4
        hint = assert_error_envelope(get("/items"), "CIRCUIT_BREAKER_OPEN")
        assert 1 <= hint["meta"]["retry_after_seconds"] <= 4

        # The migration commits: the stuck queries finish (late outcomes, not counted) ...
        locker.rollback()
        for future in [*stuck, probe]:
            assert_success_envelope(future.result(timeout=30))
        assert time.monotonic() - started < CALL_TIMEOUT_MS / 1000 + 5
        # ... and after the open time one probe closes it.
        wait_for(lambda: runtime.breaker.snapshot().state.value == "HALF_OPEN", 10,
                 "HALF_OPEN again")
        assert_success_envelope(get("/items"))
        assert runtime.breaker.snapshot().state.value == "CLOSED"
        assert runtime.breaker.open_period == 2  # back to open_seconds after a close
        for _ in range(3):
            assert_success_envelope(get("/items"))
    finally:
        locker.close()
        pool.shutdown(wait=True, cancel_futures=True)
        runtime.close()
        assert not any(t.name == "breaker-slow-calls" and t.is_alive()
                       for t in threading.enumerate())
