"""Time as the host and plugins see it: one injectable clock, so time-based policies test without
sleeping (tenacity's injectable ``sleep``, pytest's manual clocks).

Every part that measures durations, stamps times or waits takes a :class:`Clock`, never a bare
``time.monotonic`` function or a ``now`` argument.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock for durations, a wall clock for timestamps (UTC-aware), and a sleep."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def time(self) -> float:
        """The wall clock as epoch seconds: what :meth:`now` says, without building a datetime
        (for stamps taken on the request path)."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: the ``time`` functions themselves (no frame of ours per reading)."""

    monotonic = staticmethod(time.monotonic)

    def now(self) -> datetime:
        return datetime.now(UTC)

    sleep = staticmethod(time.sleep)
    time = staticmethod(time.time)  # last: from here on, ``time`` in this class body is this


class ManualClock:
    """A clock that moves only when told to: ``advance(seconds)``, or ``sleep``. For tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = 0.0
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 1000.0 + self._offset

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._offset)

    def time(self) -> float:
        return self.now().timestamp()

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._offset += seconds
