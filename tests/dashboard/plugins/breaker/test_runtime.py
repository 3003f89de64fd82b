"""``BreakerRuntime``: the breaker of the configured scope, and operator overrides that reach the
whole host (``apply_control``), on a manual clock and across real processes on the real clock."""

from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta
from pathlib import Path

import pytest

from dashboard.clock import ManualClock, SystemClock
from dashboard.plugins.breaker.control import apply_control
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.runtime import BreakerRuntime
from dashboard.plugins.breaker.settings import BreakerSettings

FORK = multiprocessing.get_context("fork")


def settings(scope: str = "worker", **values: object) -> BreakerSettings:
    return BreakerSettings(scope=scope, window_size=10, minimum_calls=4, open_seconds=10,
                           **values)  # type: ignore[arg-type]


def refused(state: BreakerRuntime) -> bool:
    try:
        state.breaker.acquire()
    except CircuitOpenError:
        return True
    return False


def test_the_scope_picks_the_breaker(tmp_path: Path) -> None:
    clock = ManualClock()
    worker = BreakerRuntime(settings(), clock, tmp_path)
    host = BreakerRuntime(settings("host"), clock, tmp_path)
    assert isinstance(worker.breaker, CircuitBreaker) and worker.scope_label == "worker"
    assert isinstance(host.breaker, HostBreaker) and host.scope_label == "host"
    assert "shared block" in host.describe() and "every worker" in worker.describe()
    with pytest.raises(ValueError, match="runtime_dir"):
        BreakerRuntime(settings("host"), clock, None)


def test_worker_scope_control_reaches_the_other_workers_through_the_relay(
        tmp_path: Path) -> None:
    clock = ManualClock()
    a, b = (BreakerRuntime(settings(), clock, tmp_path) for _ in range(2))
    result = apply_control(a, "force_open", 60, "failover drill")
    assert (result.action, result.scope, result.forced) == ("force_open", "host", "open")
    assert result.seconds_left == pytest.approx(60)
    assert result.expires_at == clock.now() + timedelta(seconds=60)
    assert refused(a) and not refused(b)
    assert b.relay is not None and b.relay.poll()
    assert refused(b) and b.breaker.snapshot().forced_reason == "failover drill"
    late = BreakerRuntime(settings(), clock, tmp_path)  # a worker started after the command
    assert late.relay is not None and late.relay.poll() and refused(late)
    apply_control(b, "reset", None, "drill over")
    assert a.relay is not None and a.relay.poll()
    assert not refused(a) and not refused(b)
    assert not BreakerRuntime(settings(), clock, tmp_path).relay.poll()  # type: ignore[union-attr]


def test_worker_scope_without_a_runtime_dir_controls_the_answering_worker(
        tmp_path: Path) -> None:
    state = BreakerRuntime(settings(), ManualClock(), None)
    result = apply_control(state, "disable", 30, "x")
    assert (result.scope, result.forced) == ("worker", "disabled")


def test_host_scope_control_is_the_block(tmp_path: Path) -> None:
    clock = ManualClock()
    a, b = (BreakerRuntime(settings("host"), clock, tmp_path) for _ in range(2))
    result = apply_control(a, "force_open", 30, "x")
    assert (result.scope, result.forced) == ("host", "open")
    assert refused(b)
    clock.advance(30.01)
    assert b.breaker.acquire() is not None  # it ended on time: one probe decides
    result = apply_control(b, "reset", None, "y")
    assert (result.forced, result.expires_at, result.seconds_left) == (None, None, None)
    assert a.breaker.is_closed


@pytest.mark.parametrize(("action", "seconds", "says"), [
    ("explode", 10, "unknown breaker action"), ("force_open", None, "needs a duration"),
    ("disable", 0, "duration")])
def test_a_bad_control_is_refused(tmp_path: Path, action: str, seconds: float | None,
                                  says: str) -> None:
    state = BreakerRuntime(settings("host"), ManualClock(), tmp_path)
    with pytest.raises(ValueError, match=says):
        apply_control(state, action, seconds, "x")


# -- across processes, on the real clock -----------------------------------------------------

def watch_worker(scope: str, runtime_dir: str, ready: object, report: object) -> None:
    """A worker that serves nothing: how long until its own copy says OPEN, then CLOSED-able."""
    state = BreakerRuntime(settings(scope), SystemClock(), Path(runtime_dir))
    state.start_sync()
    state.start_relay()
    ready.set()  # type: ignore[attr-defined]
    breaker = state.breaker
    deadline = time.monotonic() + 30
    while breaker._state is not BreakerState.OPEN and time.monotonic() < deadline:  # no call made:
        time.sleep(0.001)  # only its background thread can tell it
    seen_open = time.monotonic()
    while time.monotonic() < deadline:  # then: when does it let a call through again?
        try:
            permit = breaker.acquire()
        except CircuitOpenError:
            time.sleep(0.005)
            continue
        if permit is not None:
            breaker.release(permit)
        break
    report.send((seen_open, time.monotonic()))  # type: ignore[attr-defined]
    state.close()


@pytest.mark.parametrize("scope", ["host", "worker"])
def test_a_force_open_reaches_every_worker_process_within_100ms_and_ends_on_time(
        tmp_path: Path, scope: str) -> None:
    pipes, children = [], []
    for _ in range(3):
        ready, (receive, send) = FORK.Event(), FORK.Pipe(duplex=False)
        child = FORK.Process(target=watch_worker, args=(scope, str(tmp_path), ready, send))
        child.start()
        assert ready.wait(30)
        pipes.append(receive)
        children.append(child)
    mine = BreakerRuntime(settings(scope), SystemClock(), tmp_path)
    sent = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    apply_control(mine, "force_open", 1.5, "drill")
    for receive, child in zip(pipes, children, strict=True):
        assert receive.poll(30)
        seen_open, let_through = receive.recv()
        child.join(30)
        assert seen_open - sent < 0.1, seen_open - sent
        assert 1.5 <= let_through - sent < 1.5 + 0.5, let_through - sent
