"""A log handler that takes 200 ms per record (or raises) cannot hold up breaker decisions.

Eight threads keep asking the breaker (through the real hooks) while another thread drives it
CLOSED -> OPEN, whose transition record goes to a handler that sleeps 200 ms. The bound here is
generous (the box is shared); ``bench/breaker.py`` measures the stall precisely.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dashboard.db.faults import DbOutcome, Fault
from dashboard.host import Host
from dashboard.plugins.breaker.core.model import CircuitOpenError
from dashboard.plugins.breaker.runtime import BREAKER

TOML = """
[dashboard]
plugins = ["breaker"]
app_factory = "tests.dashboard.plugins.degradation.apps:create_app"
[plugins.breaker]
window_size = 10
minimum_calls = 5
open_seconds = 30
"""
HANDLER_SECONDS = 0.2


class SlowHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(HANDLER_SECONDS)
        self.records.append(record)


class RaisingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        raise RuntimeError("handler broke")

    def handleError(self, record: logging.LogRecord) -> None:
        raise RuntimeError("and so did its error handling")


@pytest.fixture
def breaker_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("dashboard.breaker")
    handlers, level = list(logger.handlers), logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def decide(host: Host) -> float:
    """One guarded decision through the hooks; its duration in seconds."""
    started = time.perf_counter()
    try:
        host.hook.dashboard_db_checkout(host=host)
        host.hook.dashboard_db_outcome(host=host, outcome=DbOutcome(None))
    except CircuitOpenError:
        pass
    return time.perf_counter() - started


def test_decisions_stay_fast_while_a_200ms_handler_logs_the_transition(
        dashboard_host: Callable[..., Host], breaker_logger: logging.Logger) -> None:
    host = dashboard_host(TOML)
    handler = SlowHandler()
    breaker_logger.addHandler(handler)
    stop = threading.Event()
    worst: list[float] = []

    def worker() -> None:
        longest = 0.0
        while not stop.wait(0.001):  # a request does other work between database calls
            longest = max(longest, decide(host))
        worst.append(longest)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    runtime = host.find_state(BREAKER)
    assert runtime is not None
    gc.collect()
    gc.disable()  # a full collection pauses every thread; that is not what is measured here
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        started = time.perf_counter()
        for _ in range(10):
            host.hook.dashboard_db_outcome(host=host,
                                           outcome=DbOutcome(Fault.CONNECTION_FAILED))
        opening = time.perf_counter() - started
        opened_before_the_record = runtime.breaker.snapshot().state.value == "OPEN"
        time.sleep(HANDLER_SECONDS * 1.5)  # the workers keep deciding while the handler sleeps
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        gc.enable()

    assert opened_before_the_record

    assert runtime.notifier.wait_idle(timeout=5)
    assert handler.records
    assert handler.records[0].getMessage().startswith("circuit breaker CLOSED -> OPEN")
    assert opening < HANDLER_SECONDS / 2
    assert len(worst) == 8
    assert max(worst) < HANDLER_SECONDS / 2, worst  # nobody waited for the handler


def test_a_raising_handler_cannot_stop_the_breaker_from_opening(
        dashboard_host: Callable[..., Host], breaker_logger: logging.Logger) -> None:
    host = dashboard_host(TOML)
    breaker_logger.addHandler(RaisingHandler())
    for _ in range(5):
        host.hook.dashboard_db_outcome(host=host, outcome=DbOutcome(Fault.QUERY_TIMEOUT))
    with pytest.raises(CircuitOpenError):
        host.hook.dashboard_db_checkout(host=host)
    runtime = host.find_state(BREAKER)
    assert runtime is not None and runtime.notifier.wait_idle(timeout=5)
    with pytest.raises(CircuitOpenError):  # and the notifier thread survived it
        host.hook.dashboard_db_checkout(host=host)
