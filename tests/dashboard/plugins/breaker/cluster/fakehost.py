"""A stand-in for HostBreaker's syncer-facing interface (docs/plugins/breaker-cluster.md), for the
syncer's unit tests.

It keeps the documented semantics (versions, generations, origins, managed probes) on the real
monotonic clock and nothing else; the drill in test_drill.py runs the real HostBreaker.
"""

from __future__ import annotations

import time

from dashboard.plugins.breaker.core.model import BreakerState
from dashboard.plugins.breaker.host.levers import HostView


class FakeHost:
    def __init__(self) -> None:
        self.state, self.version, self.generation = BreakerState.CLOSED, 0, 0
        self.until, self.reason, self.origin = 0.0, None, "local"
        self.forced: tuple[str | None, float | None, str | None] = (None, None, None)
        self.managed_until, self.probe_ok = 0.0, -1

    @property
    def managed(self) -> bool:
        return self.managed_until > time.monotonic()

    def view(self) -> HostView:
        left = max(0.0, self.until - time.monotonic()) if self.state is BreakerState.OPEN else None
        return HostView(self.state, self.version, self.generation, left, self.reason, self.origin,
                    self.forced[0], self.forced[1], self.forced[2])

    def _move(self, state: BreakerState, origin: str, reason: str | None = None,
              seconds: float = 0.0) -> None:
        self.state, self.origin, self.reason = state, origin, reason
        self.version += 1
        if state is BreakerState.OPEN:
            self.generation += 1
            self.until = time.monotonic() + seconds

    # -- what requests do -----------------------------------------------------------------
    def trip(self, seconds: float, reason: str = "failure rate") -> None:
        self._move(BreakerState.OPEN, "local", reason, seconds)

    def try_probe(self) -> bool:
        """A request arrives: does it become the probe?"""
        if self.state is not BreakerState.OPEN or self.until > time.monotonic():
            return False
        if self.managed and self.probe_ok != self.generation:
            return False
        self._move(BreakerState.HALF_OPEN, "local")
        return True

    def probe_done(self, ok: bool, seconds: float = 0.3) -> None:
        if ok:
            self._move(BreakerState.CLOSED, "local", "probe succeeded")
        else:
            self._move(BreakerState.OPEN, "local", "probe failed", seconds)

    # -- the interface the syncer drives ----------------------------------------------------
    def adopt_open(self, seconds_left: float, reason: str) -> bool:
        view = self.view()
        if view.state is BreakerState.OPEN and (view.seconds_left or 0) >= seconds_left:
            return False
        self._move(BreakerState.OPEN, "remote", reason, seconds_left)
        return True

    def adopt_closed(self) -> bool:
        if self.state is BreakerState.CLOSED:
            return False
        self._move(BreakerState.CLOSED, "remote")
        return True

    def hold_open(self, seconds: float) -> None:
        if self.state is BreakerState.OPEN:
            self.until = max(self.until, time.monotonic() + seconds)

    def apply_forced(self, kind: str | None, seconds_left: float | None,
                     reason: str | None) -> None:
        self.forced = (kind, seconds_left, reason)

    def manage(self, heartbeat_seconds: float) -> None:
        self.managed_until = time.monotonic() + heartbeat_seconds

    def unmanage(self) -> None:
        self.managed_until = 0.0

    def grant_probe(self) -> None:
        self.probe_ok = self.generation
