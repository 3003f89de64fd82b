"""The windows of :mod:`dashboard.plugins.breaker.core.window`, kept in the host's shared block.

The logic is exactly the worker scope's (these are subclasses): only where the numbers live
changes. Each scalar the parent keeps as an attribute is a property over one slot of the block,
each list a ``memoryview`` over a run of slots, so the ring or the per-second buckets every
worker writes into are one and the same. Callers hold the block's write lock (see
:mod:`dashboard.plugins.breaker.host.block`), as the worker scope's breaker holds its own lock.

Successes arrive in batches (each worker counts its own and flushes them every few tens of
milliseconds): :meth:`add_successes` adds ``n`` at once, in the order they were flushed.

Both windows also keep :attr:`streak`, the failures in a row at the head of the window (any
other outcome ends it, a clear empties it): the connection-attempt reservations of
:mod:`.attempts` read it to know how many more failures can still arrive before
the host may open. One slot written with the outcome costs nothing, and a time window has no
order of its own to walk back through.
"""

from __future__ import annotations

from typing import Any

from dashboard.plugins.breaker.core.window import FAILURE, SUCCESS, CountWindow, TimeWindow
from dashboard.plugins.breaker.host.block import (
    W_CLEAN,
    W_COUNT,
    W_FAILURES,
    W_LATEST,
    W_NEXT,
    W_SLOW,
    W_STREAK,
    W_TCOUNT,
    W_WRITTEN,
    WINDOW,
    Block,
)


def _slot(index: int, kind: type = int) -> Any:
    def get(self: Any) -> Any:
        return kind(self._q[index])

    def put(self: Any, value: Any) -> None:
        self._q[index] = int(value)

    return property(get, put)


def window_slots(window_size: int, window_seconds: int) -> int:
    """How many slots the window needs in the block."""
    return 4 * window_seconds if window_seconds > 0 else window_size


def window_name(window_size: int, window_seconds: int) -> str:
    return f"t{window_seconds}" if window_seconds > 0 else f"n{window_size}"


class _Streak:
    """The failures in a row at the head of a shared window (see the module docstring)."""

    streak = _slot(W_STREAK)

    def add(self, outcome: int, now: float) -> int:
        ticket: int = super().add(outcome, now)  # type: ignore[misc]
        self.streak = self.streak + 1 if outcome == FAILURE else 0
        return ticket

    def clear(self) -> None:
        super().clear()  # type: ignore[misc]
        self.streak = 0


class SharedCountWindow(_Streak, CountWindow):
    """The last ``size`` outcomes, in a ring in the block."""

    _next = _slot(W_NEXT)
    _written = _slot(W_WRITTEN)
    count = _slot(W_COUNT)
    failures = _slot(W_FAILURES)
    slow = _slot(W_SLOW)

    def __init__(self, block: Block, size: int) -> None:  # no super(): the block holds the state
        self.size = size
        self._q = block.q
        self._ring = block.q[WINDOW: WINDOW + size]

    @staticmethod
    def initialise(block: Block, size: int) -> None:
        """A fresh block is all zeroes, which is an empty ring of successes."""

    @property
    def quiet(self) -> bool:
        """A success changes nothing: a full ring with no failure and no slow call."""
        return bool(self.count == self.size and self.failures == 0 and self.slow == 0)

    def add_successes(self, n: int, now: float) -> None:
        if self.quiet:  # no failure in the ring: no streak either
            return
        for _ in range(min(n, self.size)):
            self.add(SUCCESS, now)

    def clear(self) -> None:
        ring = self._ring
        for index in range(self.size):
            ring[index] = SUCCESS
        self._next = 0
        self.count = self.failures = self.slow = self.streak = 0


class SharedTimeWindow(_Streak, TimeWindow):
    """Outcomes of the last ``seconds`` seconds, one bucket per second, in the block."""

    _latest = _slot(W_LATEST)
    _count = _slot(W_TCOUNT)
    failures = _slot(W_FAILURES)
    slow = _slot(W_SLOW)
    clean = _slot(W_CLEAN, bool)

    def __init__(self, block: Block, seconds: int) -> None:  # no super(): the block holds it
        self.seconds = seconds
        self._q = block.q
        start = WINDOW
        self._second = block.q[start: start + seconds]
        self._total = block.q[start + seconds: start + 2 * seconds]
        self._failures = block.q[start + 2 * seconds: start + 3 * seconds]
        self._slow = block.q[start + 3 * seconds: start + 4 * seconds]

    @staticmethod
    def initialise(block: Block, seconds: int) -> None:
        for index in range(seconds):
            block.q[WINDOW + index] = -1
        block.q[W_LATEST] = -1
        block.q[W_CLEAN] = 1

    quiet = False  # every success adds to a second's bucket

    def add_successes(self, n: int, now: float) -> None:
        """``n`` successes in the second of ``now`` (the flush's time, at most one flush
        interval after they happened)."""
        second = int(now)
        if second > self._latest:
            self.expire(now)
        index = second % self.seconds
        if self._second[index] != second:
            self._drop(index)
            self._second[index] = second
        self._total[index] += n
        self._count += n
        if n:
            self.streak = 0


def shared_window(block: Block, window_size: int, window_seconds: int
                  ) -> SharedCountWindow | SharedTimeWindow:
    if window_seconds > 0:
        return SharedTimeWindow(block, window_seconds)
    return SharedCountWindow(block, window_size)


def initialise_window(block: Block, window_size: int, window_seconds: int) -> None:
    if window_seconds > 0:
        SharedTimeWindow.initialise(block, window_seconds)
    else:
        SharedCountWindow.initialise(block, window_size)
