"""The breaker's state machine on a manual clock: windows, opening, countdown, probes."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Transition


def make(clock: ManualClock, **options: object) -> tuple[CircuitBreaker, list[Transition]]:
    seen: list[Transition] = []
    settings = {"window_size": 10, "minimum_calls": 5, "failure_rate_threshold": 0.5,
                "open_seconds": 30, "half_open_max_calls": 1, **options}
    breaker = CircuitBreaker(clock=clock, on_transition=seen.append,
                             **settings)  # type: ignore[arg-type]
    return breaker, seen


def open_it(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.minimum_calls):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_stays_closed_below_minimum_calls_even_if_all_failed() -> None:
    breaker, seen = make(ManualClock())
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.acquire() is None
    assert seen == []


def test_opens_at_the_threshold_over_the_window() -> None:
    breaker, seen = make(ManualClock())
    for _ in range(3):
        breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # 2 of 5 = 0.4
    breaker.record_failure()  # 3 of 6 = 0.5
    assert breaker.state is BreakerState.OPEN
    assert [(t.before, t.after) for t in seen] == [(BreakerState.CLOSED, BreakerState.OPEN)]
    assert seen[0].failure_rate == pytest.approx(0.5)


def test_interleaved_successes_do_not_hide_a_failing_database() -> None:
    breaker, _ = make(ManualClock())
    for _ in range(3):
        breaker.record_success()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_old_failures_leave_the_window() -> None:
    breaker, _ = make(ManualClock(), window_size=5, minimum_calls=5, failure_rate_threshold=0.6)
    for _ in range(2):
        breaker.record_failure()
    for _ in range(5):
        breaker.record_success()
    assert breaker.snapshot().failure_rate == 0.0
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # 2 of the last 5


def test_open_refuses_with_the_real_time_left() -> None:
    clock = ManualClock()
    breaker, _ = make(clock)
    open_it(breaker)
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(17.5)
    assert breaker.snapshot().seconds_until_half_open == pytest.approx(17.5)


def test_half_open_lets_one_probe_through_and_refuses_the_rest_at_once() -> None:
    clock = ManualClock()
    breaker, seen = make(clock)
    open_it(breaker)
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN
    permit = breaker.acquire()
    assert permit is not None and breaker.holds(permit)
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    assert refused.value.state is BreakerState.HALF_OPEN and refused.value.retry_after == 0
    breaker.record_success(permit)
    assert breaker.state is BreakerState.CLOSED
    assert [t.after for t in seen] == [BreakerState.OPEN, BreakerState.HALF_OPEN,
                                       BreakerState.CLOSED]
    assert breaker.snapshot().calls_in_window == 0


def test_a_failed_probe_reopens_for_a_full_period() -> None:
    clock = ManualClock()
    breaker, _ = make(clock)
    open_it(breaker)
    clock.advance(31)
    permit = breaker.acquire()
    breaker.record_failure(permit)
    assert breaker.state is BreakerState.OPEN
    assert breaker.snapshot().seconds_until_half_open == pytest.approx(30)
    assert not breaker.holds(permit)


def test_outcomes_without_a_permit_do_not_decide_half_open() -> None:
    clock = ManualClock()
    breaker, _ = make(clock)
    open_it(breaker)
    clock.advance(30)
    permit = breaker.acquire()
    breaker.record_success()  # a late request from before the outage
    breaker.record_failure()
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success(permit)
    assert breaker.state is BreakerState.CLOSED


def test_several_probes_each_count_once() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, half_open_max_calls=2)
    open_it(breaker)
    clock.advance(30)
    first, second = breaker.acquire(), breaker.acquire()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    breaker.record_success(first)
    breaker.record_success(first)  # the same probe's second statement
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success(second)
    assert breaker.state is BreakerState.CLOSED


def test_a_released_permit_lets_another_probe_in() -> None:
    clock = ManualClock()
    breaker, _ = make(clock)
    open_it(breaker)
    clock.advance(30)
    permit = breaker.acquire()
    assert permit is not None
    breaker.release(permit)
    assert breaker.acquire() is not None


def test_outcomes_while_open_are_ignored() -> None:
    clock = ManualClock()
    breaker, seen = make(clock)
    open_it(breaker)
    breaker.record_success()
    breaker.record_failure()
    assert len(seen) == 1 and breaker.state is BreakerState.OPEN


def test_a_raising_listener_cannot_stop_it_from_opening() -> None:
    def explode(_transition: Transition) -> None:
        raise RuntimeError("listener broke")

    breaker = CircuitBreaker(window_size=2, minimum_calls=2, on_transition=explode)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_the_listener_runs_outside_the_lock() -> None:
    """A listener may look at the breaker (or block): other threads still decide."""
    decided = threading.Event()
    breaker: CircuitBreaker

    def listener(_transition: Transition) -> None:
        worker = threading.Thread(target=lambda: (breaker.snapshot(), decided.set()))
        worker.start()
        worker.join(timeout=2)

    breaker = CircuitBreaker(window_size=2, minimum_calls=2, on_transition=listener)
    breaker.record_failure()
    breaker.record_failure()
    assert decided.is_set()


def test_call_counts_exceptions_and_fails_fast_when_open() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, window_size=3, minimum_calls=3)
    assert breaker.call(lambda: 7) == 7
    calls = []

    def failing() -> None:
        calls.append(1)
        raise ConnectionError

    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(failing)
    with pytest.raises(CircuitOpenError):
        breaker.call(failing)
    assert len(calls) == 2


def test_minimum_calls_must_fit_the_window() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(window_size=3, minimum_calls=4)


@given(outcomes=st.lists(st.booleans(), max_size=60), window=st.integers(1, 12),
       data=st.data())
def test_opens_exactly_when_a_reference_window_says_so(outcomes: list[bool], window: int,
                                                       data: st.DataObject) -> None:
    """Against a plain model: the last ``window`` outcomes, a minimum, a threshold."""
    minimum = data.draw(st.integers(1, window))
    threshold = data.draw(st.sampled_from([0.2, 0.5, 0.75, 1.0]))
    breaker = CircuitBreaker(window_size=window, minimum_calls=minimum,
                             failure_rate_threshold=threshold, clock=ManualClock())
    seen: list[bool] = []
    for failed in outcomes:
        (breaker.record_failure if failed else breaker.record_success)()
        seen.append(failed)
        last = seen[-window:]
        should_open = len(last) >= minimum and sum(last) / len(last) >= threshold
        assert (breaker.state is BreakerState.OPEN) is should_open
        if should_open:
            break
