"""The host breaker's overrides and the cluster syncer's levers, on two workers and a manual
clock (the same block file, two ``HostBreaker`` instances)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Transition
from dashboard.plugins.breaker.host.breaker import HostBreaker


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def made() -> list[Transition]:
    return []


@pytest.fixture
def pair(tmp_path: Path, clock: ManualClock, made: list[Transition]
         ) -> tuple[HostBreaker, HostBreaker]:
    def one() -> HostBreaker:
        return HostBreaker(tmp_path / "breaker", window_size=10, minimum_calls=4,
                           open_seconds=10, clock=clock, on_transition=made.append)
    return one(), one()


def refusal(breaker: HostBreaker) -> CircuitOpenError:
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire()
    return raised.value


def trip(breaker: HostBreaker) -> None:
    for _ in range(4):
        breaker.record_failure()


# -- operator overrides ----------------------------------------------------------------------

def test_force_open_reaches_the_other_worker_with_the_time_left_then_one_probe_decides(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock,
        made: list[Transition]) -> None:
    a, b = pair
    a.force_open(60, "db maintenance")
    assert refusal(b).retry_after == pytest.approx(60)
    snap = b.snapshot()
    assert (snap.state, snap.forced, snap.forced_reason) == (
        BreakerState.OPEN, "open", "db maintenance")
    assert snap.forced_seconds_left == pytest.approx(60)
    assert made[-1].reason == "forced open" and made[-1].open_seconds == 60
    clock.advance(30)
    b.record_success()  # outcomes are ignored while forced open
    assert refusal(a).retry_after == pytest.approx(30)
    clock.advance(30.01)
    assert b.snapshot().forced is None  # it ended by itself
    permit = b.acquire()
    assert permit is not None and refusal(a).state is BreakerState.HALF_OPEN  # one probe
    b.record_success(permit)
    assert a.is_closed


def test_a_forced_open_ends_in_the_block_on_time_without_traffic(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock) -> None:
    a, b = pair
    a.force_open(5, "x")
    clock.advance(5.01)
    b.sync()
    # HALF_OPEN on next call
    assert a.cluster.view().forced is None and a.cluster.view().state is BreakerState.OPEN


def test_disable_keeps_every_worker_closed_and_counting(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock,
        made: list[Transition]) -> None:
    a, b = pair
    trip(a)
    b.disable(120, "false alarm")
    assert a.is_closed and made[-1].reason == "disabled"
    for _ in range(6):
        a.record_failure()
    assert a.is_closed
    snap = b.snapshot()
    assert (snap.forced, snap.failure_rate) == ("disabled", 1.0)  # health still shows the rate
    clock.advance(120.01)
    a.record_failure()  # normal evaluation resumes
    assert not b.is_closed


def test_reset_clears_the_override_the_window_and_the_open_period(
        tmp_path: Path, clock: ManualClock) -> None:
    a = HostBreaker(tmp_path / "b", minimum_calls=4, open_seconds=10, open_seconds_max=40,
                    clock=clock)
    b = HostBreaker(tmp_path / "b", minimum_calls=4, open_seconds=10, open_seconds_max=40,
                    clock=clock)
    trip(a)
    clock.advance(10.01)
    a.record_failure(a.acquire())  # a failed probe: 20 s now
    a.force_open(600, "x")
    b.reset("all clear")
    snap = a.snapshot()
    assert (snap.state, snap.forced, snap.calls_in_window) == (BreakerState.CLOSED, None, 0)
    assert a.open_period == 10


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan"), 86_401])
def test_an_override_needs_a_sane_duration(pair: tuple[HostBreaker, HostBreaker],
                                           seconds: float) -> None:
    with pytest.raises(ValueError):
        pair[0].force_open(seconds, "x")
    with pytest.raises(ValueError):
        pair[0].disable(seconds, "x")


# -- what the cluster syncer drives ----------------------------------------------------------

def test_view_says_state_version_generation_and_time_left(
        pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    before = b.cluster.view()
    trip(a)
    view = b.cluster.view()
    assert view.state is BreakerState.OPEN and view.origin == "local"
    assert view.version > before.version and view.generation == before.generation + 1
    assert view.seconds_left == pytest.approx(10) and view.reason == "failure rate"


def test_adopt_open_takes_a_remote_trip_unless_already_open_as_long(
        pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    assert a.cluster.adopt_open(7, "failure rate")
    assert refusal(b).retry_after == pytest.approx(7)
    assert b.cluster.view().origin == "remote"
    assert not a.cluster.adopt_open(5, "failure rate")
    assert a.cluster.adopt_open(9, "failure rate")
    assert refusal(b).retry_after == pytest.approx(9)
    assert not a.cluster.adopt_open(0, "x")


def test_adopt_open_does_not_beat_a_disable(pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    a.disable(60, "x")
    assert not b.cluster.adopt_open(30, "failure rate") and a.is_closed


def test_adopt_closed_closes_with_an_empty_window(pair: tuple[HostBreaker, HostBreaker]) -> None:
    a, b = pair
    trip(a)
    assert b.cluster.adopt_closed()
    assert a.is_closed and a.snapshot().calls_in_window == 0 and a.cluster.view().origin == "remote"
    assert not b.cluster.adopt_closed()  # already closed
    a.force_open(60, "x")
    assert not b.cluster.adopt_closed()  # the operator's forced open wins


def test_hold_open_keeps_it_open_and_out_of_half_open(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock) -> None:
    a, b = pair
    trip(a)
    clock.advance(9)
    b.cluster.hold_open(5)
    assert refusal(a).retry_after == pytest.approx(5)
    clock.advance(5.01)
    assert a.acquire() is not None  # HALF_OPEN
    b.cluster.hold_open(3)  # another host took the probe after all
    assert refusal(a).state is BreakerState.OPEN and refusal(a).retry_after == pytest.approx(3)


def test_managed_it_probes_only_with_a_grant_for_this_generation(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock) -> None:
    a, b = pair
    trip(a)
    clock.advance(10.01)
    a.cluster.manage(2)  # the syncer's heartbeat
    assert refusal(b).retry_after == pytest.approx(1)  # waits for the syncer's word
    a.cluster.grant_probe()
    assert b.acquire() is not None


def test_a_dead_syncer_stops_gating_probes(pair: tuple[HostBreaker, HostBreaker],
                                           clock: ManualClock) -> None:
    a, b = pair
    trip(a)
    clock.advance(10.01)
    a.cluster.manage(2)
    assert refusal(b).state is BreakerState.OPEN
    clock.advance(2)  # no heartbeat since: plain host scope
    assert b.acquire() is not None


def test_unmanage_and_an_old_grant(pair: tuple[HostBreaker, HostBreaker],
                                   clock: ManualClock) -> None:
    a, b = pair
    a.cluster.manage(60)
    trip(a)
    a.cluster.grant_probe()
    clock.advance(10.01)
    b.record_failure(b.acquire())  # the probe failed: a new generation, the grant is old
    clock.advance(20.01)
    assert refusal(a).retry_after == pytest.approx(1)
    a.cluster.unmanage()
    assert a.acquire() is not None


def test_apply_forced_mirrors_a_cluster_override_once(
        pair: tuple[HostBreaker, HostBreaker], clock: ManualClock,
        made: list[Transition]) -> None:
    a, b = pair
    a.cluster.apply_forced("open", 30, "cluster maintenance")
    serial = b.cluster.view().version
    a.cluster.apply_forced("open", 29.9, "cluster maintenance")  # the next sync round: no change
    assert b.cluster.view().version == serial and len(made) == 1
    assert b.cluster.view().forced == "open"
    assert b.cluster.view().forced_reason == "cluster maintenance"
    a.cluster.apply_forced(None, None, None)  # ended in the cluster: one probe decides
    assert b.cluster.view().forced is None and b.acquire() is not None
    a.cluster.apply_forced("disabled", 30, "noisy")
    assert b.is_closed and b.snapshot().forced == "disabled"
    a.cluster.apply_forced(None, None, None)
    assert b.snapshot().forced is None
