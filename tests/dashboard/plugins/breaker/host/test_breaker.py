"""``HostBreaker``: two "workers" (two instances) on one block file, on a manual clock.

Each instance stands for one gunicorn worker: its own local copy, its own counted successes,
the same block. Cross-process behaviour of the locks is in ``test_block.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Transition
from dashboard.plugins.breaker.host.breaker import HostBreaker


def make(tmp_path: Path, clock: ManualClock, **options: object) -> HostBreaker:
    settings: dict[str, object] = {"window_size": 10, "minimum_calls": 4,
                                   "failure_rate_threshold": 0.5, "open_seconds": 10}
    settings.update(options)
    return HostBreaker(tmp_path / "breaker", clock=clock, **settings)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def pair(tmp_path: Path, clock: ManualClock) -> tuple[HostBreaker, HostBreaker]:
    return make(tmp_path, clock), make(tmp_path, clock)


def refusal(breaker: HostBreaker) -> CircuitOpenError:
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire()
    return raised.value


def test_failures_of_both_workers_fill_one_window(pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    for breaker in (a, b, a):
        assert breaker.acquire() is None
        breaker.record_failure()
    assert a.is_closed and b.is_closed  # 3 of minimum_calls = 4
    b.record_failure()
    assert not a.is_closed and not b.is_closed
    assert refusal(a).retry_after == pytest.approx(10)
    assert refusal(b).retry_after == pytest.approx(10)  # the same shared open time


def test_successes_are_flushed_in_order_before_the_next_failure(
        pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    for _ in range(6):
        a.record_success()
    assert a._window.count == 0  # counted in the worker only
    a.record_failure()  # flushes the six first: S S S S S S F
    assert (a._window.count, a._window.failures) == (7, 1)
    b.record_success()
    b.sync()  # the background flush
    assert b.snapshot().calls_in_window == 8
    for _ in range(3):
        b.record_failure()  # 4 failures of 10: not yet
    assert b.is_closed
    b.record_failure()  # the ring drops the oldest success: 5 of 10
    assert not a.is_closed


def test_one_probe_for_the_host_and_its_success_closes_it(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock) -> None:
    a, b = pair
    for _ in range(4):
        a.record_failure()
    clock.advance(10.01)
    permit = b.acquire()
    assert permit is not None
    assert refusal(a).state is BreakerState.HALF_OPEN
    assert refusal(b).state is BreakerState.HALF_OPEN  # the same worker's other threads too
    assert b.holds(permit) and not a.holds(None)
    b.record_success(permit)
    assert a.is_closed and b.is_closed
    assert a.snapshot().calls_in_window == 0  # an empty window


def test_a_failed_probe_reopens_for_twice_as_long_up_to_the_maximum(
        tmp_path: Path, clock: ManualClock) -> None:
    a = make(tmp_path, clock, open_seconds_max=25)
    b = make(tmp_path, clock, open_seconds_max=25)
    for _ in range(4):
        a.record_failure()
    for expected in (20, 25):
        clock.advance(a.open_period + 0.01)
        permit = a.acquire()
        a.record_failure(permit)
        assert refusal(b).retry_after == pytest.approx(expected)
    assert b.open_period == 25


def test_a_released_probe_permit_lets_another_worker_probe(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock) -> None:
    a, b = pair
    for _ in range(4):
        a.record_failure()
    clock.advance(10.01)
    permit = a.acquire()
    assert permit is not None
    a.release(permit)  # its request ended without a database outcome
    assert b.acquire() is not None


def test_an_expired_probe_lease_cannot_wedge_half_open(
        tmp_path: Path, clock: ManualClock) -> None:
    a = make(tmp_path, clock, lease_seconds=5)
    b = make(tmp_path, clock, lease_seconds=5)
    for _ in range(4):
        a.record_failure()
    clock.advance(10.01)
    assert a.acquire() is not None  # and then "a" is never heard of again
    assert refusal(b).state is BreakerState.HALF_OPEN
    clock.advance(5.01)
    assert b.acquire() is not None


def test_late_outcomes_while_open_change_nothing(pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    for _ in range(4):
        a.record_failure()
    version = a.cluster.view().version
    b.record_failure()
    b.record_success()
    b.sync()
    assert a.cluster.view().version == version


def test_transitions_are_reported_once_by_the_worker_that_made_them_and_seen_by_all(
        tmp_path: Path, clock: ManualClock) -> None:
    made: list[tuple[str, Transition]] = []
    seen: list[tuple[str, BreakerState]] = []
    a = make(tmp_path, clock, on_transition=lambda t: made.append(("a", t)),
             on_seen=lambda s: seen.append(("a", s)))
    b = make(tmp_path, clock, on_transition=lambda t: made.append(("b", t)),
             on_seen=lambda s: seen.append(("b", s)))
    for _ in range(4):
        a.record_failure()
    b.sync()
    assert [(who, t.before, t.after, t.reason) for who, t in made] == [
        ("a", BreakerState.CLOSED, BreakerState.OPEN, "failure rate")]
    assert ("b", BreakerState.OPEN) in seen and ("a", BreakerState.OPEN) in seen


def test_slow_calls_open_it_and_a_slow_call_that_fails_counts_once(
        tmp_path: Path, clock: ManualClock) -> None:
    a = make(tmp_path, clock, slow_call_rate_threshold=0.5)
    b = make(tmp_path, clock, slow_call_rate_threshold=0.5)
    for _ in range(4):
        a.record_success()
    ticket = a.record_slow()
    assert ticket is not None
    b.record_failure_of_slow(ticket)
    snap = a.snapshot()
    assert (snap.calls_in_window, round(snap.failure_rate, 2), snap.slow_call_rate) == (5, 0.2, 0)
    for _ in range(5):
        b.record_slow()
    assert not a.is_closed


def test_a_time_window_is_shared_too(tmp_path: Path, clock: ManualClock) -> None:
    a = make(tmp_path, clock, window_seconds=5, minimum_calls=4)
    b = make(tmp_path, clock, window_seconds=5, minimum_calls=4)
    for _ in range(10):
        a.record_success()
    a.sync()
    b.record_failure()
    assert b.snapshot().calls_in_window == 11
    clock.advance(6)  # everything aged out
    assert a.snapshot().calls_in_window == 0
    for breaker in (a, b, a, b):
        breaker.record_failure()
    assert not a.is_closed and not b.is_closed


def test_the_block_starts_afresh_after_a_reboot(tmp_path: Path, clock: ManualClock) -> None:
    from dashboard.plugins.breaker.host.block import BOOT

    a = make(tmp_path, clock)
    for _ in range(4):
        a.record_failure()
    a.block.q[BOOT] = 12345  # what the block of an earlier boot looks like
    a.close()
    assert make(tmp_path, clock).is_closed


def test_workers_with_other_window_shapes_use_other_blocks(
        tmp_path: Path, clock: ManualClock) -> None:
    a = make(tmp_path, clock)
    b = make(tmp_path, clock, window_size=20)
    for _ in range(4):
        a.record_failure()
    assert b.is_closed and b.block.path != a.block.path


def test_settings_it_cannot_honour_are_refused(tmp_path: Path, clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="half_open_max_calls"):
        make(tmp_path, clock, half_open_max_calls=17)
    with pytest.raises(ValueError, match="minimum_calls"):
        make(tmp_path, clock, minimum_calls=11)
