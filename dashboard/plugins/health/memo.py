"""A per-worker memo with single flight: monitors may poll health many times a second.

Within ``ttl_seconds`` of a computation, the payload for a key (``deep`` or ``shallow``) is
reused. When it has expired, the first request computes it while every concurrent request for the
same key waits for that one computation instead of starting its own (single flight), so a storm
of probes costs one database round trip.

Honesty: :meth:`SingleFlightMemo.get` says whether the answer was computed *for this request*
(``hit=False``) or reused (``hit=True``: from the memo, or shared from a computation another
request started), and how old it is, measured on the injected monotonic clock.

A ``ttl_seconds`` of zero (as in ``testing``) turns the memo off entirely: every call computes,
and concurrent calls do not share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dashboard import Clock

T = TypeVar("T")


@dataclass(frozen=True)
class MemoAnswer(Generic[T]):
    """A value and what the memo knows about it."""

    value: T
    hit: bool
    age_seconds: float


@dataclass
class _Entry(Generic[T]):
    value: T
    computed_at: float


class _Flight(Generic[T]):
    """One computation in progress; waiters block on ``done``."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: _Entry[T] | None = None
        self.error: BaseException | None = None


class SingleFlightMemo(Generic[T]):
    """Reuse values for ``ttl_seconds``; at most one computation per key at a time."""

    def __init__(self, clock: Clock, ttl_seconds: float) -> None:
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry[T]] = {}
        self._flights: dict[Hashable, _Flight[T]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> MemoAnswer[T]:
        """The value for ``key``: reused while fresh, else computed once for all waiters.

        An exception raised by ``compute`` reaches the caller that computed and every waiter of
        that flight; nothing is stored, so the next call computes again.
        """
        if not self.enabled:
            return MemoAnswer(compute(), hit=False, age_seconds=0.0)
        with self._lock:
            entry = self._entries.get(key)
            now = self._clock.monotonic()
            if entry is not None and now - entry.computed_at < self.ttl_seconds:
                return MemoAnswer(entry.value, hit=True, age_seconds=now - entry.computed_at)
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            return self._lead(key, flight, compute)
        return self._follow(flight)

    def _lead(self, key: Hashable, flight: _Flight[T], compute: Callable[[], T]) -> MemoAnswer[T]:
        try:
            value = compute()
        except BaseException as error:
            flight.error = error
            raise
        else:
            flight.entry = _Entry(value, self._clock.monotonic())
            return MemoAnswer(value, hit=False, age_seconds=0.0)
        finally:
            with self._lock:
                if flight.entry is not None:
                    self._entries[key] = flight.entry
                self._flights.pop(key, None)
            flight.done.set()

    def _follow(self, flight: _Flight[T]) -> MemoAnswer[T]:
        flight.done.wait()
        if flight.entry is None:
            raise flight.error or RuntimeError("health computation ended without a value")
        age = max(0.0, self._clock.monotonic() - flight.entry.computed_at)
        return MemoAnswer(flight.entry.value, hit=True, age_seconds=age)
