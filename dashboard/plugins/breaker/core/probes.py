"""The HALF_OPEN probe permits of one process (the worker scope's machine).

Each HALF_OPEN is a new *generation*; it hands out ``size`` permits, numbered from 1. A permit
given back (its request ended) may be handed out again; a probe's success counts once, by its
serial, however many statements it runs; ``size`` distinct successes close the breaker. The host
scope keeps the same permits as leases in its shared block instead
(:mod:`dashboard.plugins.breaker.host.leases`). Not thread-safe: the machine holds its lock.
"""

from __future__ import annotations

from dashboard.plugins.breaker.core.model import Permit


class ProbePermits:
    """The permits of the current HALF_OPEN generation; see the module docstring."""

    __slots__ = ("_issued", "_succeeded", "generation", "left", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.generation = 0
        self.left = 0
        self._issued = 0
        self._succeeded: set[int] = set()

    def start_round(self) -> None:
        """A new HALF_OPEN: older permits are void, ``size`` new ones may go out."""
        self.generation += 1
        self.left = self.size
        self._issued = 0
        self._succeeded = set()

    def stop(self) -> None:
        """No more permits (the breaker opened)."""
        self.left = 0

    def take(self) -> Permit | None:
        if self.left <= 0:
            return None
        self.left -= 1
        self._issued += 1
        return Permit(self.generation, self._issued)

    def current(self, permit: Permit) -> bool:
        return permit.generation == self.generation

    def give_back(self) -> None:
        self.left = min(self.size, self.left + 1)

    def succeed(self, permit: Permit) -> bool:
        """Count ``permit``'s success once; ``True`` when every permit of the round succeeded."""
        self._succeeded.add(permit.serial)
        return len(self._succeeded) >= self.size
