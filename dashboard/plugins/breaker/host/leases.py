"""HALF_OPEN probe permits for a whole host: leases in the shared block.

A permit of the worker scope is a counter in one process; a host-wide permit must survive the
death of the worker holding it. So each permit is a lease (serial, expiry on the monotonic
clock, holder's pid, has-it-succeeded) in one of ``half_open_max_calls`` slots of the block. A
slot is free when its serial is 0, when its expiry has passed (the probe ran for longer than any
call may: ``lease_seconds``) or when its holder is gone (:meth:`Leases.holder_gone`, asked by the
sync thread, never by a guarded call). Callers hold the block's write lock, except for
:meth:`Leases.may_have_room`, a hint read without it that lets a HALF_OPEN refusal skip the lock.
"""

from __future__ import annotations

import os

from dashboard.plugins.breaker.host.block import LEASE_SLOTS, LEASES, SERIAL, Block

_SERIAL, _EXPIRY, _PID, _SUCCEEDED = range(LEASE_SLOTS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists (not ours to signal)
        return True
    return True


class Leases:
    """The ``count`` probe leases of one block (or, from ``start``, another run of leases: the
    connection-attempt reservations of :mod:`dashboard.plugins.breaker.host.attempts`)."""

    def __init__(self, block: Block, count: int, start: int = LEASES) -> None:
        self.block = block
        self.count = count
        self._bases = [start + index * LEASE_SLOTS for index in range(count)]

    def held(self, now: float) -> int:
        """How many leases are taken and not expired (memory reads, no lock needed)."""
        q, d = self.block.q, self.block.d
        return sum(1 for base in self._bases if q[base + _SERIAL] and d[base + _EXPIRY] > now)

    def clear(self) -> None:
        q = self.block.q
        for base in self._bases:
            for offset in range(LEASE_SLOTS):
                q[base + offset] = 0

    def may_have_room(self, now: float) -> bool:
        q, d = self.block.q, self.block.d
        return any(q[base + _SERIAL] == 0 or d[base + _EXPIRY] <= now for base in self._bases)

    def take(self, now: float, lease_seconds: float, pid: int) -> int | None:
        """A new lease's serial, or ``None`` when every slot is held."""
        q, d = self.block.q, self.block.d
        for base in self._bases:
            if q[base + _SERIAL] == 0 or d[base + _EXPIRY] <= now:
                q[SERIAL] += 1
                q[base + _SERIAL] = q[SERIAL]
                d[base + _EXPIRY] = now + lease_seconds
                q[base + _PID] = pid
                q[base + _SUCCEEDED] = 0
                return int(q[SERIAL])
        return None

    def _find(self, serial: int) -> int | None:
        q = self.block.q
        for base in self._bases:
            if q[base + _SERIAL] == serial:
                return base
        return None

    def free(self, serial: int) -> None:
        base = self._find(serial)
        if base is not None:
            self.block.q[base + _SERIAL] = 0

    def succeed(self, serial: int) -> bool:
        """Mark the lease ``serial`` as a succeeded probe; ``True`` the first time only."""
        base = self._find(serial)
        q = self.block.q
        if base is None or q[base + _SUCCEEDED]:
            return False
        q[base + _SUCCEEDED] = 1
        return True

    def holder_gone(self) -> bool:
        """Is a lease held by a process that no longer exists? (one signal-0 per lease)"""
        q = self.block.q
        return any(q[base + _SERIAL] and not _alive(int(q[base + _PID]))
                   for base in self._bases)

    def free_dead(self) -> None:
        q = self.block.q
        for base in self._bases:
            if q[base + _SERIAL] and not _alive(int(q[base + _PID])):
                q[base + _SERIAL] = 0
