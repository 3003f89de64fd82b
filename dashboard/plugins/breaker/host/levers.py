"""What the cluster syncer drives in the host block (docs/plugins/breaker-cluster.md): a view of it,
remote trips and closings adopted, the probe held elsewhere, cluster-wide overrides mirrored, probe
gating.

The syncer (:mod:`dashboard.plugins.breaker.cluster.syncer`: one per host, in whichever worker
holds its seat) reads :meth:`ClusterLevers.view` and pushes what Redis says through the other
methods; nothing here talks to Redis, and nothing
on the guarded call waits for the syncer. ``manage``/``grant_probe`` gate the OPEN -> HALF_OPEN
step: while a live syncer manages the block (``MANAGED_UNTIL`` in the future: its heartbeat),
an OPEN whose time is up goes HALF_OPEN only if the syncer granted this generation the
cluster's probe; otherwise the call is refused for one second more. A dead syncer stops
renewing and the host decides alone again, as in plain host scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dashboard.plugins.breaker.bounds import bounded_override, bounded_trip
from dashboard.plugins.breaker.core import overrides as ov
from dashboard.plugins.breaker.core.model import BreakerState, Transition
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import STATE
from dashboard.plugins.breaker.host.control import HostControl
from dashboard.plugins.breaker.host.transitions import (
    FORCED_OPEN_CODE,
    PROBE_ELSEWHERE,
    REASONS,
    REMOTE,
    REMOTE_CLOSE,
    REMOTE_TRIP,
    STATES,
)

_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
_SAME_DEADLINE_SECONDS = 0.5  # apply_forced again with (about) the same end: nothing to do


@dataclass(frozen=True)
class HostView:
    """The block as the cluster syncer needs it (see docs/plugins/breaker-cluster.md)."""

    state: BreakerState
    version: int
    generation: int
    seconds_left: float | None
    reason: str | None
    origin: str
    forced: str | None
    forced_seconds_left: float | None
    forced_reason: str | None


class ClusterLevers:
    """What the cluster syncer may pull in one host block (its ``Drivable``); see the module
    docstring. The host breaker holds one as ``cluster``."""

    def __init__(self, control: HostControl,
                 after_write: Callable[[Transition | None], None]) -> None:
        self.control = control
        self.transitions = moves = control.transitions
        self.block = moves.block
        self._leases = moves.leases
        self._monotonic = moves.monotonic
        self._after_write = after_write
        self._forced = moves.forced

    def view(self) -> HostView:
        now = self._monotonic()
        q, d = self.block.q, self.block.d
        state, version, generation, until, reason, origin, forced = self.block.read(lambda: (
            STATES[q[STATE]], int(q[slots.VERSION]), int(q[slots.GENERATION]),
            float(d[slots.OPEN_UNTIL]),
            REASONS[q[slots.REASON]] if 0 <= q[slots.REASON] < len(REASONS) else None,
            int(q[slots.ORIGIN]), self._forced(now)))
        return HostView(state, version, generation,
                        max(until - now, 0.0) if state is _OPEN else None, reason,
                        "remote" if origin == REMOTE else "local", *forced)

    def adopt_open(self, seconds_left: float, reason: str) -> bool:
        """Another host tripped: OPEN here for ``seconds_left`` unless already open as long."""
        bound = bounded_trip(seconds_left, self.transitions.rules.open_seconds_max, "the cluster")
        if bound is None or bound <= 0:
            return False
        seconds_left = bound  # never longer than this host would open by itself
        transition, changed = None, False
        with self.block.writing():
            q, d = self.block.q, self.block.d
            now = self._monotonic()
            state = STATES[q[STATE]]
            if self._forced(now)[0] == ov.DISABLED:
                pass  # the operator said never open: that holds for remote trips too
            elif state is _OPEN and d[slots.OPEN_UNTIL] - now >= seconds_left:
                pass
            elif state is _OPEN:
                d[slots.OPEN_UNTIL], q[slots.ORIGIN], changed = now + seconds_left, REMOTE, True
                self.block.bump_version()
            else:
                transition = self.transitions.move(_OPEN, now, reason or REMOTE_TRIP, seconds_left)
                self.transitions.enter_open(now, seconds_left, REMOTE)
                changed = True
        self._after_write(transition)
        return changed

    def adopt_closed(self) -> bool:
        """Another host's probe succeeded: CLOSED with an empty window."""
        with self.block.writing():
            now = self._monotonic()
            if (STATES[self.block.q[STATE]] is _CLOSED
                    or self._forced(now)[0] == ov.FORCED_OPEN):
                return False
            transition = self.transitions.close(REMOTE_CLOSE, now, origin=REMOTE)
        self._after_write(transition)
        return True

    def hold_open(self, seconds: float) -> None:
        """Another host holds the cluster's probe lease: stay OPEN ``seconds`` more (and any
        probe grant this host had is void)."""
        transition = None
        with self.block.writing():
            q, d = self.block.q, self.block.d
            now = self._monotonic()
            q[slots.PROBE_OK_GEN] = -1
            state = STATES[q[STATE]]
            if state is _OPEN:
                if d[slots.OPEN_UNTIL] < now + seconds:
                    d[slots.OPEN_UNTIL] = now + seconds
                    self.block.bump_version()
            elif state is _HALF_OPEN:
                transition = self.transitions.move(_OPEN, now, PROBE_ELSEWHERE, seconds)
                d[slots.OPEN_UNTIL] = now + seconds
                self._leases.clear()
        self._after_write(transition)

    def apply_forced(self, kind: str | None, seconds_left: float | None,
                     reason: str | None) -> None:
        """Mirror a cluster-wide override; ``None`` ends the one in force here (a forced open
        then goes HALF_OPEN on the next call, as when it runs out)."""
        now = self._monotonic()
        current, left, _ = self.block.read(lambda: self._forced(now))
        if kind is None:
            if current is not None:
                with self.block.writing():
                    if self.block.q[slots.FORCED] == FORCED_OPEN_CODE:
                        self.block.d[slots.OPEN_UNTIL] = now
                    self.transitions.set_override(0, 0.0, None)
                self._after_write(None)
            return
        if seconds_left is None or seconds_left <= 0:
            return
        seconds_left = bounded_override(seconds_left, "the cluster")  # at most 86,400 s
        if seconds_left is None:
            return
        if (current == kind and left is not None
                and abs(left - seconds_left) < _SAME_DEADLINE_SECONDS):
            return
        if kind == ov.FORCED_OPEN:
            self.control.force_open(seconds_left, reason or "")
        elif kind == ov.DISABLED:
            self.control.disable(seconds_left, reason or "")

    def manage(self, heartbeat_seconds: float) -> None:
        with self.block.writing():
            self.block.d[slots.MANAGED_UNTIL] = self._monotonic() + heartbeat_seconds

    def unmanage(self) -> None:
        with self.block.writing():
            self.block.d[slots.MANAGED_UNTIL] = 0.0

    @property
    def managed(self) -> bool:
        """A live cluster syncer's heartbeat is fresh (read by any worker for the scope label)."""
        return bool(self.block.d[slots.MANAGED_UNTIL] > self._monotonic())

    def grant_probe(self) -> None:
        with self.block.writing():
            self.block.q[slots.PROBE_OK_GEN] = self.block.q[slots.GENERATION]
