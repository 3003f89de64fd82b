"""Connection-attempt reservations: two "workers" (two ``HostBreaker``) on one block, a manual
clock whose ``sleep`` runs what another worker does while this one waits.

Each :class:`AttemptReservations` holds at most one reservation per thread, so several of them
over the same breaker stand for several threads making attempts at once.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.model import CircuitOpenError
from dashboard.plugins.breaker.host.attempts import AttemptReservations
from dashboard.plugins.breaker.host.breaker import HostBreaker

MINIMUM_CALLS = 4
FORK = multiprocessing.get_context("fork")


class WaitClock(ManualClock):
    """A manual clock: each ``sleep`` advances it and runs ``during_sleep`` (another worker's
    move), so a wait ends the way it would in real time, without real time."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps = 0
        self.during_sleep: Callable[[int], None] = lambda _n: None

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        super().sleep(seconds)
        self.during_sleep(self.sleeps)


@pytest.fixture
def clock() -> WaitClock:
    return WaitClock()


def breaker(tmp_path: Path, clock: ManualClock) -> HostBreaker:
    return HostBreaker(tmp_path / "breaker", window_size=10, minimum_calls=MINIMUM_CALLS,
                       failure_rate_threshold=0.5, open_seconds=10, clock=clock)


@pytest.fixture
def a(tmp_path: Path, clock: WaitClock) -> HostBreaker:
    return breaker(tmp_path, clock)


@pytest.fixture
def b(tmp_path: Path, clock: WaitClock) -> HostBreaker:
    return breaker(tmp_path, clock)


def threads(host: HostBreaker, clock: ManualClock, n: int,
            lease_seconds: float = 30) -> list[AttemptReservations]:
    return [AttemptReservations(host, lease_seconds, clock) for _ in range(n)]


def test_minimum_calls_attempts_run_together_and_the_next_waits_for_one_to_end(
        a: HostBreaker, b: HostBreaker, clock: WaitClock) -> None:
    first = threads(a, clock, 2) + threads(b, clock, 2)
    for attempt in first:
        attempt.begin()
    assert clock.sleeps == 0  # no waiting while there is room (the healthy case)
    assert first[0].held() == MINIMUM_CALLS
    clock.during_sleep = lambda n: first[3].end() if n == 3 else None  # b's attempt connects
    late = threads(a, clock, 1)[0]
    late.begin()
    assert clock.sleeps == 3  # waited, was not refused, got the freed reservation
    assert late.held() == MINIMUM_CALLS


def test_each_failure_in_a_row_leaves_one_fewer_attempt_in_flight_and_a_success_resets_it(
        a: HostBreaker, b: HostBreaker, clock: WaitClock) -> None:
    attempts = threads(a, clock, 1)[0]
    assert attempts.allowed == MINIMUM_CALLS
    a.record_failure()
    b.record_failure()
    assert (attempts.streak, attempts.allowed) == (2, MINIMUM_CALLS - 2)
    b.record_failure()
    assert attempts.allowed == 1  # the next failure may open it: one attempt at a time
    b.record_success()
    b.sync()  # the success is flushed into the block: the database answered
    assert (attempts.streak, attempts.allowed) == (0, MINIMUM_CALLS)


def test_at_the_limit_an_attempt_waits_and_is_refused_when_the_host_opens(
        a: HostBreaker, b: HostBreaker, clock: WaitClock) -> None:
    for _ in range(MINIMUM_CALLS - 1):
        a.record_failure()
    in_flight = threads(b, clock, 1)[0]
    in_flight.begin()  # allowed: 1, held by b

    def b_fails(n: int) -> None:
        if n == 2:
            b.record_failure()  # the outcome first, then the end (as the plugin does)
            in_flight.end()

    clock.during_sleep = b_fails
    with pytest.raises(CircuitOpenError) as raised:
        threads(a, clock, 1)[0].begin()
    assert raised.value.retry_after == pytest.approx(10, abs=0.1)
    assert in_flight.held() == 0


def test_a_reservation_whose_end_was_missed_expires(a: HostBreaker, b: HostBreaker,
                                                    clock: WaitClock) -> None:
    for attempt in threads(b, clock, MINIMUM_CALLS, lease_seconds=5):
        attempt.begin()  # never ended (a missed event)
    started = clock.monotonic()
    late = threads(a, clock, 1, lease_seconds=5)[0]
    clock.during_sleep = lambda _n: clock.advance(0.5)
    late.begin()
    assert 5 <= clock.monotonic() - started < 6
    assert late.held() == 1  # the four expired; this one holds a fresh lease


def test_a_thread_that_begins_again_gives_its_previous_reservation_back(
        a: HostBreaker, clock: WaitClock) -> None:
    attempt = threads(a, clock, 1)[0]
    attempt.begin()
    attempt.begin()
    assert attempt.held() == 1
    attempt.end()
    attempt.end()
    assert attempt.held() == 0


def take_and_die(directory: str, took: multiprocessing.synchronize.Event) -> None:
    host = HostBreaker(Path(directory), window_size=10, minimum_calls=1)
    AttemptReservations(host, 3600, ManualClock()).begin()
    took.set()
    os._exit(0)  # killed in the middle of its connection attempt


def test_a_dead_workers_reservation_is_freed_by_the_sync(tmp_path: Path) -> None:
    directory = tmp_path / "breaker"
    mine = HostBreaker(directory, window_size=10, minimum_calls=1)
    attempts = AttemptReservations(mine, 3600, ManualClock())
    took = FORK.Event()
    child = FORK.Process(target=take_and_die, args=(str(directory), took))
    child.start()
    child.join(30)
    assert took.is_set()
    assert attempts.held() == 1
    mine.sync_tasks.append(attempts.sweep)
    mine.sync()  # the sync thread's round: the holder is gone
    assert attempts.held() == 0


def test_no_reservation_is_taken_unless_closed_nor_while_an_operator_disabled_it(
        a: HostBreaker, clock: WaitClock) -> None:
    attempts = threads(a, clock, MINIMUM_CALLS + 2)
    a.disable(60, "drill")
    for attempt in attempts:
        attempt.begin()  # never waits: nothing may hold the database back
    assert clock.sleeps == 0 and attempts[0].held() == 0
    a.force_open(60, "drill")
    attempts[0].begin()  # the gate refused before this; nothing to reserve
    assert attempts[0].held() == 0


def test_the_streak_never_exceeds_the_failures_still_in_the_window(
        a: HostBreaker, clock: WaitClock) -> None:
    attempts = threads(a, clock, 1)[0]
    a.record_failure()
    a.reset("drill")  # an empty window: no streak either
    assert (attempts.streak, attempts.allowed) == (0, MINIMUM_CALLS)
