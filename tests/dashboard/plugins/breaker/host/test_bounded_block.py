"""Shared state is bounded in the host block (docs/plugins/breaker.md): an open period, an
override or a next period that another process (an older version, a bug, anyone who can write
``runtime_dir``) left in the block is cut to this host's limits when a worker attaches, when its
copy is refreshed and on its sync round; an unreadable time ends what it timed. Each write here
goes through the block module's own writer (``Block.writing``), as a foreign writer's would.

Before bounds.py nothing read the block critically: a ten-year ``OPEN_UNTIL`` was refused with
``retry_after`` of ten years (``Retry-After: 315359999``) by every worker and every reload."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.host.transitions import FORCED_DISABLED_CODE, FORCED_OPEN_CODE

TEN_YEARS = 315_360_000.0
DAY = 86_400.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def breaker(tmp_path: Path, clock: ManualClock) -> HostBreaker:
    return HostBreaker(tmp_path / "breaker", window_size=10, minimum_calls=4, open_seconds=10,
                       open_seconds_max=40, clock=clock)


def foreign_write(b: HostBreaker, clock: ManualClock, *, state: BreakerState | None = None,
                  open_for: float | None = None, open_left: float | None = None,
                  forced: int | None = None, forced_left: float | None = None,
                  bump: bool = True) -> None:
    """What another process writes, through the block's own writer API."""
    block = b.block
    with block.writing():
        now = clock.monotonic()
        if state is not None:
            block.q[slots.STATE] = state.gauge_value
        if open_left is not None:
            block.d[slots.OPEN_UNTIL] = now + open_left
        if open_for is not None:
            block.d[slots.OPEN_FOR] = open_for
        if forced is not None:
            block.q[slots.FORCED] = forced
            block.d[slots.FORCED_UNTIL] = now + (forced_left or 0.0)
        if bump:
            block.bump_version()


def refusal(b: HostBreaker) -> CircuitOpenError:
    with pytest.raises(CircuitOpenError) as raised:
        b.acquire()
    return raised.value


def test_a_ten_year_open_period_is_cut_for_the_worker_attached_and_one_attaching(
        tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    a = breaker(tmp_path, clock)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        foreign_write(a, clock, state=BreakerState.OPEN, open_left=TEN_YEARS)
        assert refusal(a).retry_after == pytest.approx(40)  # open_seconds_max
        fresh = breaker(tmp_path, clock)  # a reload's worker maps the same file
        assert refusal(fresh).retry_after == pytest.approx(40)
    cut = [r for r in caplog.records if "cut to 40 s" in r.getMessage()]
    assert len(cut) == 1 and cut[0].levelname == "WARNING"  # cut once, in the block
    clock.advance(40.1)
    assert fresh.acquire() is not None  # the period is over: one probe decides
    assert fresh.snapshot().state is BreakerState.HALF_OPEN


def test_a_write_that_does_not_move_the_version_is_cut_by_the_sync_round(
        tmp_path: Path, clock: ManualClock) -> None:
    a = breaker(tmp_path, clock)
    foreign_write(a, clock, state=BreakerState.OPEN, open_left=TEN_YEARS, bump=False)
    a.sync()
    assert a.snapshot().seconds_until_half_open == pytest.approx(40)
    assert refusal(a).retry_after == pytest.approx(40)


def test_an_override_is_cut_to_a_day_and_a_forced_open_keeps_its_own_length(
        tmp_path: Path, clock: ManualClock) -> None:
    a = breaker(tmp_path, clock)
    a.force_open(DAY, "a long maintenance")  # the admin API's own longest: not cut
    assert refusal(a).retry_after == pytest.approx(DAY)
    foreign_write(a, clock, open_left=TEN_YEARS, forced=FORCED_OPEN_CODE, forced_left=TEN_YEARS)
    assert refusal(a).retry_after == pytest.approx(DAY)
    assert a.snapshot().forced_seconds_left == pytest.approx(DAY)
    foreign_write(a, clock, forced=FORCED_DISABLED_CODE, forced_left=TEN_YEARS)
    assert a.snapshot().forced_seconds_left == pytest.approx(DAY)


def test_an_oversized_next_period_cannot_make_the_next_trip_long(
        tmp_path: Path, clock: ManualClock) -> None:
    a = breaker(tmp_path, clock)
    foreign_write(a, clock, open_for=TEN_YEARS)
    for _ in range(4):
        a.record_failure()
    assert refusal(a).retry_after == pytest.approx(40)
    assert a.open_period == 40


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_time_that_is_not_a_number_ends_the_period_it_timed(
        tmp_path: Path, clock: ManualClock, value: float,
        caplog: pytest.LogCaptureFixture) -> None:
    a = breaker(tmp_path, clock)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        foreign_write(a, clock, state=BreakerState.OPEN, open_left=value, open_for=value)
        assert a.acquire() is not None  # over: the probe goes out, no refusal of inf seconds
    assert "malformed" in caplog.text
    assert a.open_period == 10  # back to open_seconds
