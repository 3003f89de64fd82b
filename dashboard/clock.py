"""Time as the host and plugins see it: injectable, so time-based policies test without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A monotonic clock for durations and a wall clock for timestamps (always UTC-aware)."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: ``advance(seconds)``. For tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = 0.0
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 1000.0 + self._offset

    def now(self) -> datetime:
        from datetime import timedelta

        return self._start + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> None:
        self._offset += seconds
