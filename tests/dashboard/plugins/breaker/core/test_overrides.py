"""Operator overrides on the state machine, on a manual clock: force_open, disable, reset."""

from __future__ import annotations

import math

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core import overrides
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Transition
from tests.dashboard.plugins.breaker.core.test_machine import make, open_it


def refusal(breaker: CircuitBreaker) -> CircuitOpenError:
    with pytest.raises(CircuitOpenError) as refused:
        breaker.acquire()
    return refused.value


def moves(seen: list[Transition]) -> list[tuple[str, str, str | None]]:
    return [(t.before.value, t.after.value, t.reason) for t in seen]


def test_force_open_refuses_with_the_time_left_and_ignores_outcomes() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=30)
    breaker.force_open(120, "database maintenance")

    assert breaker.is_closed is False
    assert refusal(breaker).retry_after == pytest.approx(120)
    clock.advance(45)
    assert refusal(breaker).retry_after == pytest.approx(75)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.forced, snapshot.forced_reason) == (
        BreakerState.OPEN, "open", "database maintenance")
    assert snapshot.forced_seconds_left == pytest.approx(75)
    assert snapshot.seconds_until_half_open == pytest.approx(75)
    for _ in range(20):  # calls let through before it was forced: nothing to say now
        breaker.record_success()
        breaker.record_failure()
    assert breaker.snapshot().state is BreakerState.OPEN
    assert moves(seen) == [("CLOSED", "OPEN", "forced open")]
    assert seen[0].open_seconds == 120


def test_a_forced_open_ends_by_itself_and_one_probe_decides() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=30)
    breaker.force_open(10, "drill")
    clock.advance(10)

    assert breaker.snapshot().forced is None  # ended: read as HALF_OPEN, no longer forced
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    probe = breaker.acquire()
    assert probe is not None
    assert refusal(breaker).state is BreakerState.HALF_OPEN  # only one probe
    breaker.record_failure(probe)
    # The failed probe reopens for the breaker's own period, not the forced one.
    assert refusal(breaker).retry_after == pytest.approx(30)
    clock.advance(30)
    probe = breaker.acquire()
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED
    assert moves(seen) == [("CLOSED", "OPEN", "forced open"), ("OPEN", "HALF_OPEN", None),
                           ("HALF_OPEN", "OPEN", "probe failed"), ("OPEN", "HALF_OPEN", None),
                           ("HALF_OPEN", "CLOSED", None)]


def test_force_open_during_half_open_voids_the_probe() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, open_seconds=5)
    open_it(breaker)
    clock.advance(5)
    probe = breaker.acquire()
    assert probe is not None
    breaker.force_open(60, "stop probing")
    assert breaker.holds(probe) is False
    breaker.record_success(probe)  # the probe's late success does not close it
    assert breaker.snapshot().state is BreakerState.OPEN
    assert refusal(breaker).retry_after == pytest.approx(60)


def test_forcing_an_open_breaker_again_keeps_its_own_period_for_later() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=30)
    open_it(breaker)
    breaker.force_open(100, "first")
    breaker.force_open(200, "longer")
    assert refusal(breaker).retry_after == pytest.approx(200)
    assert breaker.snapshot().forced_reason == "longer"
    assert breaker.open_period == 200
    clock.advance(200)
    breaker.record_failure(breaker.acquire())
    assert breaker.open_period == 30
    assert [t.after for t in seen] == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN]


def test_disable_closes_keeps_counting_and_never_opens_until_it_ends() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=30)
    open_it(breaker)
    breaker.disable(60, "breaker misfires on a flaky replica")

    assert breaker.is_closed
    assert breaker.acquire() is None
    assert breaker.snapshot().failure_rate == 0.0  # the window that opened it was cleared
    for _ in range(10):
        breaker.record_failure()
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.forced) == (BreakerState.CLOSED, "disabled")
    assert snapshot.failure_rate == 1.0  # still counted: health shows the rates
    assert snapshot.forced_seconds_left == pytest.approx(60)
    assert snapshot.forced_reason == "breaker misfires on a flaky replica"

    clock.advance(60)
    assert breaker.snapshot().forced is None
    breaker.record_failure()  # normal evaluation resumes: the window says open
    assert breaker.snapshot().state is BreakerState.OPEN
    assert moves(seen) == [("CLOSED", "OPEN", "failure rate"), ("OPEN", "CLOSED", "disabled"),
                           ("CLOSED", "OPEN", "failure rate")]


def test_disable_holds_against_slow_calls_too() -> None:
    clock = ManualClock()
    breaker, _ = make(clock, slow_call_rate_threshold=0.5)
    breaker.disable(30, "slow but fine")
    tickets = [breaker.record_slow() for _ in range(10)]
    for ticket in tickets[:5]:
        assert ticket is not None
        breaker.record_failure_of_slow(ticket)
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_disable_after_a_forced_open_closes_and_keeps_the_normal_period() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=30)
    breaker.force_open(500, "oops")
    breaker.disable(10, "rather let it through")
    assert breaker.acquire() is None
    assert breaker.open_period == 30
    assert breaker.snapshot().forced == "disabled"
    assert moves(seen)[-1] == ("OPEN", "CLOSED", "disabled")


def test_reset_clears_any_override_the_window_and_the_grown_period() -> None:
    clock = ManualClock()
    breaker, seen = make(clock, open_seconds=10, open_seconds_max=80)
    open_it(breaker)
    clock.advance(10)
    breaker.record_failure(breaker.acquire())  # a failed probe: the period doubles
    assert breaker.open_period == 20
    breaker.force_open(300, "x")
    breaker.reset("back to normal")
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.forced, snapshot.calls_in_window) == (
        BreakerState.CLOSED, None, 0)
    assert breaker.open_period == 10
    assert moves(seen)[-1] == ("OPEN", "CLOSED", "reset")

    count = len(seen)
    breaker.disable(300, "y")
    breaker.record_failure()
    breaker.reset("again")  # CLOSED already: no transition, but the window is empty
    assert len(seen) == count
    assert breaker.snapshot().calls_in_window == 0
    for _ in range(breaker.minimum_calls):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # no disable left: it opens as usual


def test_reset_after_a_quiet_window_lets_the_fast_path_see_the_empty_window() -> None:
    breaker, _ = make(ManualClock(), window_size=5, minimum_calls=5)
    for _ in range(5):
        breaker.record_success()
    breaker.reset("clean slate")
    for _ in range(5):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


@pytest.mark.parametrize("seconds", [0, -1, math.inf, math.nan, 86_401, "10"])
def test_an_override_needs_a_finite_duration_up_to_a_day(seconds: object) -> None:
    breaker, seen = make(ManualClock())
    with pytest.raises(ValueError, match="duration"):
        breaker.force_open(seconds, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duration"):
        breaker.disable(seconds, "x")  # type: ignore[arg-type]
    assert breaker.is_closed and seen == []


def test_the_bookkeeping_on_its_own() -> None:
    override = overrides.start(overrides.DISABLED, 5, "r" * 600, 100.0, 30.0)
    assert len(override.reason) == overrides.MAX_REASON_LENGTH
    assert overrides.holds_closed(override, 104.9) and not overrides.holds_closed(override, 105)
    assert overrides.in_force(override, 105) is None
    assert override.seconds_left(103) == 2 and override.seconds_left(200) == 0
    assert overrides.resume_period(override, 99) == 30 and overrides.resume_period(None, 99) == 99
    assert overrides.GAUGE_VALUES == {None: 0, "open": 1, "disabled": 2}
    with pytest.raises(ValueError, match="unknown"):
        overrides.start("closed", 5, "r", 0, 1)
