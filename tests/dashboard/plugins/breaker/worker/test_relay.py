"""The worker scope's override relay adopts what its block says within bounds (docs/plugins/
breaker.md, "Shared state is bounded"): an override another process left there for ten years
lasts at most a day in each worker, and a time that is not a number is ignored with one WARNING.
Before bounds.py a ten-year override reached the machine's own check (``ValueError`` in the relay
thread on every worker: the override neither applied nor said)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import CircuitOpenError
from dashboard.plugins.breaker.host.block import (
    FORCED,
    FORCED_UNTIL,
    OVERRIDE_ACTION,
    OVERRIDE_SERIAL,
)
from dashboard.plugins.breaker.worker.relay import ACTION_CODES, OverrideRelay


def relay_pair(tmp_path: Path, clock: ManualClock) -> tuple[OverrideRelay, OverrideRelay]:
    def one() -> OverrideRelay:
        return OverrideRelay(tmp_path / "breaker", CircuitBreaker(clock=clock), clock.monotonic)
    return one(), one()


def foreign_override(relay: OverrideRelay, clock: ManualClock, seconds: float) -> None:
    """An override written into the shared block by another process, past the admin API."""
    block = relay.block
    with block.writing():
        block.q[OVERRIDE_ACTION], block.q[FORCED] = ACTION_CODES["force_open"], 1
        block.d[FORCED_UNTIL] = clock.monotonic() + seconds
        block.set_text("written elsewhere")
        block.q[OVERRIDE_SERIAL] += 1
        block.bump_version()


def test_a_ten_year_override_lasts_at_most_a_day(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    writer, reader = relay_pair(tmp_path, clock)
    foreign_override(writer, clock, 315_360_000)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        assert reader.poll()
        assert not reader.poll()  # once per override: nothing new to say
    with pytest.raises(CircuitOpenError) as refused:
        reader.breaker.acquire()
    assert refused.value.retry_after == pytest.approx(86_400)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "cut to 86400 s" in caplog.text


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_an_override_time_that_is_not_a_number_is_ignored(
        tmp_path: Path, value: float, caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    writer, reader = relay_pair(tmp_path, clock)
    foreign_override(writer, clock, value)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        assert not reader.poll()
    assert reader.breaker.acquire() is None  # CLOSED: nothing was adopted
    assert [r.levelname for r in caplog.records] == ["WARNING"]
