"""Connection-attempt reservations: the host scope's bound on new connections during an outage.

A failure is written to the shared block the moment it is known, so no call that *starts* after
the opening failure reaches the database. But with ``c`` requests in flight, the calls that
passed the gate just before it are already on their way: the host would make up to
``minimum_calls + c - 1`` connection attempts to a dead database, not ``minimum_calls``.
Refusing them is not an answer: the breaker is CLOSED, and nothing opens before
``minimum_calls`` outcomes.

So a *new* connection attempt (SQLAlchemy's ``do_connect``, hook
``dashboard_db_connect_attempt``; pooled checkouts never take part) first takes a reservation, a
lease in the block like a probe permit (serial, expiry, pid: :class:`.leases.Leases`
over its own run of slots). At most ``max(1, minimum_calls - streak)`` are held host-wide, where
``streak`` is the number of failures in a row at the head of the shared window (a slot the
window writes with each outcome, capped by the failures still in it). Every attempt in flight
is one more outcome that may be a failure, so attempts in flight plus the streak never exceed
``minimum_calls`` until the window has had its ``minimum_calls`` failures; from there on one
attempt at a time. (A success is flushed into the window up to one sync round late: one made
just before an outage and flushed after its first failures resets the streak late.) An
attempt that finds no room *waits* (polling the block: memory reads and a short sleep), and is
refused with :class:`CircuitOpenError` only if the breaker opened meanwhile. While the database
answers the streak is 0 and ``minimum_calls`` attempts may run together, so a healthy host
hardly ever waits, and a black-holed database (attempts that hang for ``connect_timeout``)
still gets ``minimum_calls`` attempts in parallel and opens after one ``connect_timeout``, as
it did before.

An attempt ends when the pool hands the new connection out (the next ``dashboard_db_checkout``
in the same thread), when its failure is counted (the next ``dashboard_db_outcome`` there), or
when this thread starts another attempt. Whatever the reason an end is missed (a killed worker,
an exception no event sees), the lease expires after ``lease_seconds`` (longer than a connect
and its first statement may take) and the sync thread frees the leases of dead pids at once
(:meth:`sweep`). A waiter never waits longer than one lease: by then every lease it saw has
expired. An operator's *disable* turns reservations off (nothing may protect the database).
"""

from __future__ import annotations

import os
import threading

from dashboard import Clock
from dashboard.plugins.breaker.core.model import CircuitOpenError
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import (
    MAX_RESERVATIONS,
    RESERVATIONS,
    W_FAILURES,
    W_STREAK,
)
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.host.leases import Leases
from dashboard.plugins.breaker.host.transitions import FORCED_DISABLED_CODE

POLL_SECONDS = 0.003  # between two looks at the block while waiting for a reservation


class AttemptReservations:
    """The host's connection-attempt reservations, as one worker sees them."""

    def __init__(self, breaker: HostBreaker, lease_seconds: float, clock: Clock,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.breaker = breaker
        self.block = breaker.block
        self.minimum_calls = breaker.minimum_calls
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._clock = clock
        self._leases = Leases(self.block, min(self.minimum_calls, MAX_RESERVATIONS),
                              RESERVATIONS)
        self._mine = threading.local()  # the serial this thread holds (0: none)

    # -- the rule ----------------------------------------------------------------------------

    @property
    def streak(self) -> int:
        """Failures in a row at the head of the window (at most the failures still in it: a
        time window may have let some age out)."""
        q = self.block.q
        return max(0, min(int(q[W_STREAK]), int(q[W_FAILURES])))

    @property
    def allowed(self) -> int:
        return max(1, self.minimum_calls - self.streak)

    def held(self) -> int:
        return self._leases.held(self._clock.monotonic())

    # -- one attempt -------------------------------------------------------------------------

    def begin(self) -> None:
        """Take a reservation for the attempt this thread is about to make, waiting for one if
        needed; :class:`CircuitOpenError` if the breaker opened while it waited."""
        self.end()  # this thread's previous attempt ended without a signal we saw
        clock, breaker = self._clock, self.breaker
        now = clock.monotonic()
        if not breaker.is_closed or self._disabled(now):
            return  # OPEN/HALF_OPEN: the gate already refused or gave a probe permit
        deadline = now + self.lease_seconds
        while not self._take(now):
            if now >= deadline or self._disabled(now):
                return  # every lease seen when it started has expired: never wedge a worker
            clock.sleep(self.poll_seconds)
            now = clock.monotonic()
            if not breaker.is_closed:
                snapshot = breaker.snapshot()  # refused like any call the gate refuses
                raise CircuitOpenError(snapshot.seconds_until_half_open or 0.0, snapshot.state)

    def _take(self, now: float) -> bool:
        if self._leases.held(now) >= self.allowed:  # the usual answer while full, lock-free
            return False
        with self.block.writing():
            if self._leases.held(now) >= self.allowed:
                return False
            serial = self._leases.take(now, self.lease_seconds, os.getpid())
        if serial is None:
            return False
        self._mine.serial = serial
        return True

    def end(self) -> None:
        """The attempt this thread made (if any) is over: give its reservation back."""
        serial = getattr(self._mine, "serial", 0)
        if serial:
            self._mine.serial = 0
            with self.block.writing():
                self._leases.free(serial)

    def sweep(self) -> None:
        """Free reservations of workers that are gone (the sync thread, every round)."""
        if self._leases.holder_gone():
            with self.block.writing():
                self._leases.free_dead()

    def _disabled(self, now: float) -> bool:
        q, d = self.block.q, self.block.d
        return q[slots.FORCED] == FORCED_DISABLED_CODE and d[slots.FORCED_UNTIL] > now
