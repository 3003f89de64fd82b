"""Slow calls, the time window and the growing open time, on a manual clock.

The slow-call watch's wheel is turned by hand (``watch.advance()``, one tick) so that "seen
while still running" is a statement about ticks, not about a thread's timing.
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import (
    FAILURE_RATE,
    PROBE_SLOW,
    SLOW_CALL_RATE,
    BreakerState,
    CircuitOpenError,
    Transition,
)
from dashboard.plugins.breaker.slowwatch import SlowCallWatch


def make(clock: ManualClock, **options: object) -> tuple[CircuitBreaker, list[Transition]]:
    seen: list[Transition] = []
    settings = {"window_size": 10, "minimum_calls": 5, "failure_rate_threshold": 0.5,
                "open_seconds": 30, "half_open_max_calls": 1, **options}
    breaker = CircuitBreaker(clock=clock, on_transition=seen.append,
                             **settings)  # type: ignore[arg-type]
    return breaker, seen


# -- slow calls are an outcome of their own -------------------------------------------------------

def test_slow_calls_open_only_through_the_slow_call_rate() -> None:
    breaker, _ = make(ManualClock(), failure_rate_threshold=0.5, slow_call_rate_threshold=0.8)
    for _ in range(3):
        breaker.record_slow()
    breaker.record_success()
    breaker.record_success()
    # 0.6 slow: above the failure threshold, not a failure
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().failure_rate == 0.0
    breaker.record_slow()  # 4 of 6
    assert breaker.state is BreakerState.CLOSED
    breaker.record_slow()  # 5 of 7 = 0.71
    breaker.record_slow()  # 6 of 8 = 0.75
    breaker.record_slow()  # 7 of 9 = 0.78
    assert breaker.state is BreakerState.CLOSED
    breaker.record_slow()  # 8 of 10 = 0.8
    assert breaker.state is BreakerState.OPEN


def test_slow_call_rate_opens_and_says_so() -> None:
    breaker, seen = make(ManualClock(), slow_call_rate_threshold=0.5)
    breaker.record_success()
    breaker.record_success()
    breaker.record_slow()
    breaker.record_slow()
    assert breaker.state is BreakerState.CLOSED  # below minimum_calls
    breaker.record_slow()  # 3 of 5 slow
    assert breaker.state is BreakerState.OPEN
    assert [(t.after, t.reason) for t in seen] == [(BreakerState.OPEN, SLOW_CALL_RATE)]
    assert seen[0].slow_call_rate == pytest.approx(0.6) and seen[0].failure_rate == 0.0
    snapshot = breaker.snapshot()
    assert snapshot.slow_call_rate == pytest.approx(0.6) and snapshot.failure_rate == 0.0


def test_slow_calls_do_not_add_to_the_failure_rate() -> None:
    breaker, seen = make(ManualClock(), slow_call_rate_threshold=1.0)
    for _ in range(3):
        breaker.record_slow()
    breaker.record_failure()
    breaker.record_failure()  # 2 failures of 5: 0.4, slow 0.6; neither threshold reached
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()  # 3 of 6 failures
    assert breaker.state is BreakerState.OPEN and seen[0].reason == FAILURE_RATE


def test_minimum_calls_holds_for_slow_calls() -> None:
    breaker, _ = make(ManualClock(), minimum_calls=5)
    for _ in range(4):
        breaker.record_slow()
    assert breaker.state is BreakerState.CLOSED


def test_a_slow_probe_is_a_failed_probe() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=10, open_seconds_max=40)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10)
    permit = breaker.acquire()
    breaker.record_slow(permit)
    assert breaker.state is BreakerState.OPEN
    assert seen[-1].reason == PROBE_SLOW and seen[-1].open_seconds == 20


# -- seen while still running, counted once -------------------------------------------------------

def watched(clock: ManualClock, slow_call_ms: float = 300, **options: object
            ) -> tuple[CircuitBreaker, SlowCallWatch, list[Transition]]:
    breaker, seen = make(clock, **options)
    return breaker, SlowCallWatch(breaker, slow_call_ms), seen


def run_past_slow_call_ms(watch: SlowCallWatch) -> int:
    """Turn the wheel until everything started before is slow; return how many were marked."""
    return sum(watch.advance() for _ in range(watch.ticks_per_slow + 1))


def test_a_running_call_counts_as_slow_at_slow_call_ms_not_when_it_ends() -> None:
    clock = ManualClock()
    breaker, watch, _ = watched(clock, slow_call_ms=300)
    assert (watch.tick_seconds, watch.ticks_per_slow) == (pytest.approx(0.03), 10)
    watch.advance()
    watch.start(None)  # anywhere within a tick: at most a tick before the next one
    for _ in range(watch.ticks_per_slow):  # 10 ticks: perhaps only 9 x 30 ms have passed
        assert watch.advance() == 0
    assert breaker.snapshot().calls_in_window == 0
    assert watch.advance() == 1  # 11 ticks: at least 300 ms, the call still running
    snapshot = breaker.snapshot()
    assert snapshot.calls_in_window == 1 and snapshot.slow_call_rate == 1.0
    assert watch.in_flight() == 0
    assert watch.end() is not False  # already counted: the caller must not count it again


def test_a_short_threshold_ticks_at_least_every_5_ms() -> None:
    watch = SlowCallWatch(make(ManualClock())[0], 12)
    assert watch.tick_seconds == pytest.approx(0.005) and watch.ticks_per_slow == 3


def test_five_stuck_calls_open_the_breaker_while_they_still_run() -> None:
    clock = ManualClock()
    breaker, watch, seen = watched(clock, slow_call_rate_threshold=1.0)
    started, done = threading.Barrier(6), threading.Event()

    def stuck_call() -> None:  # each stuck call runs in its own thread
        watch.start(None)
        started.wait(timeout=10)
        done.wait(timeout=10)

    threads = [threading.Thread(target=stuck_call) for _ in range(5)]
    for thread in threads:
        thread.start()
    started.wait(timeout=10)
    try:
        assert watch.in_flight() == 5
        assert run_past_slow_call_ms(watch) == 5
        assert breaker.state is BreakerState.OPEN and seen[0].reason == SLOW_CALL_RATE
        assert watch.in_flight() == 0
        with pytest.raises(CircuitOpenError):
            breaker.acquire()
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=10)


def test_a_fast_call_is_counted_by_its_caller_and_never_by_the_sweeper() -> None:
    clock = ManualClock()
    breaker, watch, _ = watched(clock)
    watch.start(None)
    watch.advance()
    assert watch.end() is False  # not slow: the caller counts its outcome
    assert run_past_slow_call_ms(watch) == 0
    assert breaker.snapshot().calls_in_window == 0


def test_a_slow_call_that_then_fails_is_one_failure() -> None:
    clock = ManualClock()
    breaker, watch, _ = watched(clock, window_size=4, minimum_calls=4)
    watch.start(None)
    run_past_slow_call_ms(watch)
    ticket = watch.end()
    assert ticket is not False and ticket is not None
    breaker.record_failure_of_slow(ticket)
    snapshot = breaker.snapshot()
    assert (snapshot.calls_in_window, snapshot.failure_rate, snapshot.slow_call_rate) == (
        1, 1.0, 0.0)


def test_a_stale_ticket_changes_nothing() -> None:
    clock = ManualClock()
    breaker, watch, _ = watched(clock, window_size=2, minimum_calls=2,
                                slow_call_rate_threshold=1.0, failure_rate_threshold=1.0)
    watch.start(None)
    run_past_slow_call_ms(watch)
    ticket = watch.end()
    assert ticket
    breaker.record_success()
    breaker.record_success()  # the slow outcome has left the 2-call window
    breaker.record_failure_of_slow(ticket)  # type: ignore[arg-type]
    assert breaker.snapshot().failure_rate == 0.0


def test_a_statement_that_never_reported_its_end_is_forgotten_at_the_next_start() -> None:
    clock = ManualClock()
    breaker, watch, _ = watched(clock)
    watch.start(None)  # its end never comes (an unclassified error, say)
    watch.start(None)
    assert watch.in_flight() == 1
    assert run_past_slow_call_ms(watch) == 1
    assert breaker.snapshot().calls_in_window == 1  # the running one, not the forgotten one


# -- time window ----------------------------------------------------------------------------------

def test_time_window_counts_only_outcomes_younger_than_window_seconds() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, window_seconds=10, minimum_calls=3, window_size=1)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(10)  # both now 10 s old: out
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().calls_in_window == 1
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_time_window_is_not_capped_by_window_size() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, window_seconds=60, window_size=2, minimum_calls=20,
                      failure_rate_threshold=0.5)
    for _ in range(15):
        breaker.record_success()
    for _ in range(14):
        breaker.record_failure()
    assert breaker.snapshot().calls_in_window == 29 and breaker.state is BreakerState.CLOSED
    breaker.record_failure()  # 15 of 30
    assert breaker.state is BreakerState.OPEN


def test_time_window_rates_decay_without_traffic() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, window_seconds=5, minimum_calls=5)
    breaker.record_failure()
    clock.advance(2)
    breaker.record_success()
    assert breaker.snapshot().failure_rate == 0.5
    clock.advance(3.5)
    assert breaker.snapshot().calls_in_window == 1 and breaker.snapshot().failure_rate == 0.0


@given(steps=st.lists(st.tuples(st.sampled_from(["ok", "fail", "slow"]),
                                st.floats(0, 4, allow_nan=False)), max_size=60),
       seconds=st.integers(1, 8), minimum=st.integers(1, 6),
       threshold=st.sampled_from([0.2, 0.5, 1.0]), slow_threshold=st.sampled_from([0.3, 1.0]))
def test_time_window_opens_exactly_when_a_reference_says_so(
        steps: list[tuple[str, float]], seconds: int, minimum: int, threshold: float,
        slow_threshold: float) -> None:
    """Against a plain model: outcomes whose whole second is within the last ``seconds``."""
    clock = ManualClock()
    breaker, _ = make(clock, window_seconds=seconds, minimum_calls=minimum,
                      failure_rate_threshold=threshold, slow_call_rate_threshold=slow_threshold)
    seen: list[tuple[int, str]] = []
    for outcome, gap in steps:
        clock.advance(gap)
        now = int(clock.monotonic())
        {"ok": breaker.record_success, "fail": breaker.record_failure,
         "slow": breaker.record_slow}[outcome]()
        seen.append((now, outcome))
        live = [o for second, o in seen if second > now - seconds]
        should_open = len(live) >= minimum and (
            live.count("fail") / len(live) >= threshold
            or live.count("slow") / len(live) >= slow_threshold)
        assert (breaker.state is BreakerState.OPEN) is should_open, (live, outcome)
        if should_open:
            break


# -- open time that grows per failed probe ---------------------------------------------------------

def reopen_by_failed_probe(breaker: CircuitBreaker, clock: ManualClock) -> float:
    """Wait out the open period, fail the probe; return the new Retry-After."""
    clock.advance(breaker.snapshot().seconds_until_half_open or 0)
    breaker.record_failure(breaker.acquire())
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    return refused.value.retry_after


def test_each_failed_probe_doubles_the_open_time_up_to_the_max() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=10, open_seconds_max=70)
    for _ in range(5):
        breaker.record_failure()
    assert breaker.snapshot().seconds_until_half_open == 10
    assert [reopen_by_failed_probe(breaker, clock) for _ in range(4)] == [20, 40, 70, 70]
    assert [t.open_seconds for t in seen if t.after is BreakerState.OPEN] == [10, 20, 40, 70, 70]


def test_retry_after_is_the_real_time_left_of_the_longer_period() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, open_seconds=10, open_seconds_max=100)
    for _ in range(5):
        breaker.record_failure()
    reopen_by_failed_probe(breaker, clock)
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(7.5)
    assert breaker.snapshot().seconds_until_half_open == pytest.approx(7.5)
    clock.advance(7.5)
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_successful_close_resets_the_open_time() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, open_seconds=10, open_seconds_max=100)
    for _ in range(5):
        breaker.record_failure()
    reopen_by_failed_probe(breaker, clock)
    reopen_by_failed_probe(breaker, clock)
    assert breaker.open_period == 40
    clock.advance(40)
    breaker.record_success(breaker.acquire())
    assert breaker.state is BreakerState.CLOSED and breaker.open_period == 10
    for _ in range(5):
        breaker.record_failure()
    assert breaker.snapshot().seconds_until_half_open == 10


def test_without_open_seconds_max_every_period_is_open_seconds() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, open_seconds=10)
    for _ in range(5):
        breaker.record_failure()
    assert [reopen_by_failed_probe(breaker, clock) for _ in range(3)] == [10, 10, 10]


# -- the real sweeper thread ---------------------------------------------------------------------

def test_the_sweeper_thread_wakes_from_idle_and_marks_a_running_call() -> None:
    breaker, _ = make(ManualClock())
    watch = SlowCallWatch(breaker, 50)
    watch.ensure_sweeping()
    try:
        deadline = time.monotonic() + 10
        while not watch._idle:  # nothing in flight: it stops ticking
            assert time.monotonic() < deadline, "the sweeper never went idle"
            time.sleep(0.01)
        watch.start(None)
        watch.end()  # a fast call: never counted by the sweeper
        watch.start(None)  # this one keeps running
        while breaker.snapshot().calls_in_window == 0:
            assert time.monotonic() < deadline, "the running call was never marked slow"
            time.sleep(0.01)
        assert breaker.snapshot().slow_call_rate == 1.0
        assert breaker.snapshot().calls_in_window == 1
        assert watch.end() is not False
    finally:
        watch.close()
    assert not watch.sweeping
