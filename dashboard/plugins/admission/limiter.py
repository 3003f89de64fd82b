"""A per-worker limit on app requests in flight: take a permit, give it back with the latency.

``try_acquire(timeout)`` returns a :data:`Permit` (a ticket) when a slot is free or frees within
``timeout`` seconds, else ``None`` (the caller answers ``OVERLOADED``). It waits only when a slot
is expected to free within ``timeout`` (see ``retry_after``): when every slot is held by a
request stuck far past the typical latency (a locked table), waiting cannot help, and a waiting
request would hold one of the worker's reserve threads for nothing while probes queue behind it,
so it is refused at once. ``release(permit,
latency)`` gives the slot back exactly once (a second release is a no-op) and feeds the latency
to the limit policy (:mod:`dashboard.plugins.admission.limits`).

Time comes from an injected :class:`dashboard.clock.Clock` (permit ages, rejections, latency),
so the rules are tested on a manual clock; only the bounded wait for a slot uses the real
clock, through ``threading.Condition.wait``.

``retry_after()`` is the estimate sent as ``Retry-After``: the soonest a request in flight is
expected to finish. With ``typical`` the median latency of the last requests that finished (a
median, so the few that were stuck behind a lock do not inflate every estimate after it is
gone), a request that has run ``e`` seconds is expected to need ``max(typical - e, e)`` more:
what is left of a typical request while it is younger than half of one, and as long again as it
already ran once it is late (the longer a request has been stuck, the longer it is likely to
stay stuck). With ``max_latency`` (the statement timeout) no request is expected past it.
"""

from __future__ import annotations

import itertools
import statistics
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from dashboard import Clock
from dashboard.plugins.admission.limits import LimitPolicy

TYPICAL_WINDOW = 16  # latencies whose median is the typical latency behind Retry-After
REJECTING_SECONDS = 5.0  # "being rejected": a rejection this recent


#: One admitted request's slot: a ticket from the limiter's counter (made in C and hashed as
#: itself: one is taken per request). The limiter keeps, per ticket in flight, when it was taken
#: (monotonic seconds, the limiter's clock); a ticket no longer among them has been released.
Permit = int


@dataclass(frozen=True)
class AdmissionSnapshot:
    """What ``checks.admission`` shows."""

    limit: int
    in_flight: int
    waiting: int
    rejected_total: int
    rejecting: bool


class Limiter:
    """Permits for app requests, at most ``policy.limit`` at once (thread-safe)."""

    def __init__(self, policy: LimitPolicy, clock: Clock, *, max_latency: float | None = None,
                 on_limit: Callable[[int], None] | None = None) -> None:
        self.policy = policy
        self.clock = clock
        self.max_latency = max_latency
        self._on_limit = on_limit
        self._lock = threading.Lock()  # acquired and released by hand on the hot path
        self._cond = threading.Condition(self._lock)
        self._in_flight: dict[Permit, float] = {}  # ticket -> when it was taken
        self._tickets = itertools.count(1)
        self._monotonic = clock.monotonic
        self._waiting = 0
        self._recent: deque[float] = deque(maxlen=TYPICAL_WINDOW)
        self.rejected_total = 0
        self._last_rejected: float | None = None
        self._published = policy.limit
        if on_limit is not None:
            on_limit(self._published)

    def watch_limit(self, on_limit: Callable[[int], None]) -> None:
        """Call ``on_limit`` with the limit now and whenever it changes (e.g. a gauge)."""
        with self._cond:
            self._on_limit = on_limit
            current = self._published
        on_limit(current)

    @property
    def limit(self) -> int:
        return self.policy.limit

    def in_flight(self) -> int:
        """Permits held now (no lock: one ``len`` of a dict is atomic)."""
        return len(self._in_flight)

    def try_acquire(self, timeout: float) -> Permit | None:
        """A permit, waiting at most ``timeout`` seconds for one; ``None`` when none freed."""
        lock = self._lock
        lock.acquire()  # not ``with``: its two method lookups cost more than the rest here
        try:
            permits = self._in_flight
            if len(permits) >= self.policy.limit and not self._wait(timeout):
                self.rejected_total += 1
                self._last_rejected = self.clock.monotonic()
                return None
            permit = next(self._tickets)
            permits[permit] = self._monotonic()
            return permit
        finally:
            lock.release()

    def _wait(self, timeout: float) -> bool:
        """Under the lock: wait until a slot is free or ``timeout`` passed (real time)."""
        if timeout <= 0 or self._soonest_free() > timeout:
            return False
        self._waiting += 1
        try:
            return self._cond.wait_for(lambda: len(self._in_flight) < self.policy.limit, timeout)
        finally:
            self._waiting -= 1

    def release(self, permit: Permit, latency: float | None = None) -> bool:
        """Give the slot back and learn from ``latency`` (default: the permit's age).

        ``True`` the first time; releasing a permit again changes nothing and returns ``False``.
        """
        lock = self._lock
        lock.acquire()
        try:
            permits = self._in_flight
            in_flight = len(permits)
            started = permits.pop(permit, None)
            if started is None:
                return False  # released already
            if latency is None:
                latency = self._monotonic() - started
            self._recent.append(latency if latency > 0.0 else 0.0)
            policy = self.policy
            policy.update(latency, in_flight)
            changed = None
            if policy.limit != self._published:
                changed = self._published = policy.limit
            if self._waiting:  # counted under this lock; notify() costs even with no waiter
                self._cond.notify()
        finally:
            lock.release()
        if changed is not None and self._on_limit is not None:
            self._on_limit(changed)
        return True

    def set_ceiling(self, ceiling: int) -> None:
        """Lower (or restore) the policy's ceiling; waiters see a raised limit at once."""
        with self._cond:
            self.policy.set_ceiling(ceiling)
            changed = self._limit_changed()
            self._cond.notify_all()
        if changed is not None and self._on_limit is not None:
            self._on_limit(changed)

    def _limit_changed(self) -> int | None:
        limit = self.policy.limit
        if limit == self._published:
            return None
        self._published = limit
        return limit

    def retry_after(self) -> float:
        """Seconds until a slot is expected to free (see the module docstring); may be 0."""
        with self._cond:
            return self._soonest_free()

    def _soonest_free(self) -> float:
        """Under the lock: the smallest expected remaining time of the requests in flight."""
        if not self._in_flight:
            return 0.0
        now = self.clock.monotonic()
        typical = statistics.median(self._recent) if self._recent else 0.0
        return min(self._remaining(typical, max(0.0, now - started))
                   for started in self._in_flight.values())

    def _remaining(self, typical: float, age: float) -> float:
        expected = max(typical - age, age)
        if self.max_latency is not None:
            expected = min(expected, max(0.0, self.max_latency - age))
        return expected

    def snapshot(self) -> AdmissionSnapshot:
        now = self.clock.monotonic()
        with self._cond:
            last = self._last_rejected
            return AdmissionSnapshot(
                limit=self.policy.limit, in_flight=len(self._in_flight), waiting=self._waiting,
                rejected_total=self.rejected_total,
                rejecting=last is not None and now - last <= REJECTING_SECONDS)
