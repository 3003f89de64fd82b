"""The host breaker's transitions, operator overrides, views and the cluster syncer's levers.

:class:`HostControls` is the half of :class:`plugins.breaker.hostscope.HostBreaker` that changes
the block's state on purpose rather than from outcomes: the transitions both halves share
(``_move``, ``_open``, ``_close``), the operator's overrides (CONTRACT §11: ``force_open``,
``disable``, ``reset``, with the rules of :mod:`plugins.breaker.overrides`), and what the
cluster syncer drives (``view``, ``adopt_open``, ``adopt_closed``, ``hold_open``,
``apply_forced``, ``manage``, ``unmanage``, ``grant_probe``). Everything here runs under the
block's write lock, and reports a transition after releasing it.

``manage``/``grant_probe`` gate the OPEN -> HALF_OPEN step: while a live syncer manages the block
(``MANAGED_UNTIL`` in the future: its heartbeat), an OPEN whose time is up goes HALF_OPEN only if
the syncer granted this generation the cluster's probe; otherwise the call is refused for one
second more. A dead syncer stops renewing and the host falls back to deciding alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugins.breaker import overrides as ov
from plugins.breaker.block import (
    EPOCH,
    FORCED,
    FORCED_UNTIL,
    GENERATION,
    MANAGED_UNTIL,
    OPEN_FOR,
    OPEN_UNTIL,
    OPENED_AT,
    ORIGIN,
    OVERRIDE_SERIAL,
    PROBE_OK_GEN,
    REASON,
    STATE,
    VERSION,
    Block,
)
from plugins.breaker.machine import (
    FAILURE_RATE,
    PROBE_FAILED,
    PROBE_SLOW,
    SLOW_CALL_RATE,
    Snapshot,
    State,
    Transition,
)
from plugins.breaker.sharedwindow import initialise_window

STATES = (State.CLOSED, State.HALF_OPEN, State.OPEN)  # indexed by State.gauge_value
_CLOSED, _OPEN, _HALF_OPEN = State.CLOSED, State.OPEN, State.HALF_OPEN
REMOTE_TRIP, REMOTE_CLOSE = "remote trip", "remote probe succeeded"
PROBE_ELSEWHERE = "probe elsewhere"
REASONS = (None, FAILURE_RATE, SLOW_CALL_RATE, PROBE_FAILED, PROBE_SLOW, ov.REASON_FORCED_OPEN,
           ov.REASON_DISABLED, ov.REASON_RESET, REMOTE_TRIP, REMOTE_CLOSE, PROBE_ELSEWHERE)
FORCED_OPEN_CODE, FORCED_DISABLED_CODE = 1, 2
FORCED_KINDS = {0: None, FORCED_OPEN_CODE: ov.FORCED_OPEN, FORCED_DISABLED_CODE: ov.DISABLED}
LOCAL, REMOTE = 0, 1
_SAME_DEADLINE_SECONDS = 0.5  # apply_forced again with (about) the same end: nothing to do


def initialise_block(block: Block, breaker: Any) -> None:
    block.d[OPEN_FOR] = breaker.open_seconds
    block.q[PROBE_OK_GEN] = -1
    initialise_window(block, breaker.window_size, breaker.window_seconds)


@dataclass(frozen=True)
class HostView:
    """The block as the cluster syncer needs it (see DESIGN-16)."""

    state: State
    version: int
    generation: int
    seconds_left: float | None
    reason: str | None
    origin: str
    forced: str | None
    forced_seconds_left: float | None
    forced_reason: str | None


class HostControls:
    """Mixed into :class:`~plugins.breaker.hostscope.HostBreaker`; see the module docstring."""

    block: Block
    _window: Any
    _leases: Any
    open_seconds: float
    open_seconds_max: float
    window_seconds: int

    def _monotonic(self) -> float: ...  # the breaker's clock (an attribute there)

    def _after_write(self, transition: Transition | None) -> None: ...

    # -- transitions (callers hold the write lock) -------------------------------------------

    def _move(self, after: State, now: float, reason: str | None = None,
              open_seconds: float | None = None) -> Transition:
        q, window = self.block.q, self._window
        count = window.count
        transition = Transition(
            STATES[q[STATE]], after, window.failures / count if count else 0.0, count, now,
            window.slow / count if count else 0.0, reason, open_seconds)
        q[STATE] = after.gauge_value
        q[REASON] = REASONS.index(reason) if reason in REASONS else REASONS.index(REMOTE_TRIP)
        self.block.bump_version()
        return transition

    def _open(self, reason: str, now: float) -> Transition:
        q, d = self.block.q, self.block.d
        if STATES[q[STATE]] is _HALF_OPEN:  # a failed probe: the next period is longer
            d[OPEN_FOR] = min(d[OPEN_FOR] * 2, self.open_seconds_max)
        transition = self._move(_OPEN, now, reason, float(d[OPEN_FOR]))
        self._enter_open(now, float(d[OPEN_FOR]), LOCAL)
        return transition

    def _enter_open(self, now: float, seconds: float, origin: int) -> None:
        q, d = self.block.q, self.block.d
        d[OPENED_AT], d[OPEN_UNTIL] = now, now + seconds
        q[GENERATION] += 1
        q[ORIGIN] = origin
        self._leases.clear()
        self.block.bump_version()

    def _close(self, reason: str | None, now: float, *, keep_period: bool = False,
               origin: int = LOCAL) -> Transition | None:
        """CLOSED with an empty window (no transition reported when it already was)."""
        q = self.block.q
        transition = None if STATES[q[STATE]] is _CLOSED else self._move(_CLOSED, now, reason)
        if not keep_period:
            self.block.d[OPEN_FOR] = self.open_seconds
        self._window.clear()
        q[EPOCH] += 1
        q[ORIGIN] = origin
        self._leases.clear()
        self.block.bump_version()
        return transition

    def _set_override(self, code: int, until: float, reason: str | None) -> None:
        q = self.block.q
        q[FORCED], self.block.d[FORCED_UNTIL] = code, until
        self.block.set_text(reason)
        q[OVERRIDE_SERIAL] += 1
        self.block.bump_version()

    def _end_forced_open(self, now: float) -> None:
        if self.block.q[FORCED] == FORCED_OPEN_CODE:
            self._set_override(0, 0.0, None)

    def _expire_override(self) -> None:
        with self.block.writing():
            if self.block.q[FORCED] and self.block.d[FORCED_UNTIL] <= self._monotonic():
                self._set_override(0, 0.0, None)

    # -- operator overrides ------------------------------------------------------------------

    def force_open(self, seconds: float, reason: str) -> None:
        """OPEN now for ``seconds`` on every worker; then one probe decides."""
        ov.start(ov.FORCED_OPEN, seconds, reason, 0.0, 0.0)  # validates, as the machine does
        with self.block.writing():
            now = self._monotonic()
            self._set_override(FORCED_OPEN_CODE, now + seconds, reason[:ov.MAX_REASON_LENGTH])
            transition = (None if STATES[self.block.q[STATE]] is _OPEN
                          else self._move(_OPEN, now, ov.REASON_FORCED_OPEN, float(seconds)))
            self._enter_open(now, float(seconds), LOCAL)
        self._after_write(transition)

    def disable(self, seconds: float, reason: str) -> None:
        """CLOSED now on every worker, never opening for ``seconds`` (outcomes still count)."""
        ov.start(ov.DISABLED, seconds, reason, 0.0, 0.0)
        with self.block.writing():
            now = self._monotonic()
            self._set_override(FORCED_DISABLED_CODE, now + seconds,
                               reason[:ov.MAX_REASON_LENGTH])
            transition = None
            if STATES[self.block.q[STATE]] is not _CLOSED:
                transition = self._close(ov.REASON_DISABLED, now, keep_period=True)
        self._after_write(transition)

    def reset(self, reason: str) -> None:
        """Clear any override: CLOSED, an empty window, the open period back to open_seconds."""
        with self.block.writing():
            now = self._monotonic()
            self._set_override(0, 0.0, None)
            transition = self._close(ov.REASON_RESET, now)
        self._after_write(transition)

    # -- views -------------------------------------------------------------------------------

    def _forced(self, now: float) -> tuple[str | None, float | None, str | None]:
        q, d = self.block.q, self.block.d
        kind = FORCED_KINDS.get(int(q[FORCED]))
        if kind is None or d[FORCED_UNTIL] <= now:
            return None, None, None
        return kind, float(d[FORCED_UNTIL] - now), self.block.text()

    def snapshot(self) -> Snapshot:
        now = self._monotonic()
        window = self._window
        if self.window_seconds > 0:
            with self.block.writing():  # a time window drops the seconds that aged out
                window.expire(now)
        q, d = self.block.q, self.block.d
        state, count, failures, slow, until, forced = self.block.read(lambda: (
            STATES[q[STATE]], window.count, window.failures, window.slow, float(d[OPEN_UNTIL]),
            self._forced(now)))
        left = until - now
        if state is _OPEN and left <= 0:
            state = _HALF_OPEN
        return Snapshot(state, failures / count if count else 0.0, count,
                        max(left, 0.0) if state is _OPEN else None,
                        slow / count if count else 0.0, *forced)

    @property
    def state(self) -> State:
        return self.snapshot().state

    def view(self) -> HostView:
        now = self._monotonic()
        q, d = self.block.q, self.block.d
        state, version, generation, until, reason, origin, forced = self.block.read(lambda: (
            STATES[q[STATE]], int(q[VERSION]), int(q[GENERATION]), float(d[OPEN_UNTIL]),
            REASONS[q[REASON]] if 0 <= q[REASON] < len(REASONS) else None, int(q[ORIGIN]),
            self._forced(now)))
        return HostView(state, version, generation,
                        max(until - now, 0.0) if state is _OPEN else None, reason,
                        "remote" if origin == REMOTE else "local", *forced)

    # -- what the cluster syncer drives ------------------------------------------------------

    def adopt_open(self, seconds_left: float, reason: str) -> bool:
        """Another host tripped: OPEN here for ``seconds_left`` unless already open as long."""
        if seconds_left <= 0:
            return False
        transition, changed = None, False
        with self.block.writing():
            q, d = self.block.q, self.block.d
            now = self._monotonic()
            state = STATES[q[STATE]]
            if self._forced(now)[0] == ov.DISABLED:
                pass  # the operator said never open: that holds for remote trips too
            elif state is _OPEN and d[OPEN_UNTIL] - now >= seconds_left:
                pass
            elif state is _OPEN:
                d[OPEN_UNTIL], q[ORIGIN], changed = now + seconds_left, REMOTE, True
                self.block.bump_version()
            else:
                transition = self._move(_OPEN, now, reason or REMOTE_TRIP, seconds_left)
                self._enter_open(now, seconds_left, REMOTE)
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
            transition = self._close(REMOTE_CLOSE, now, origin=REMOTE)
        self._after_write(transition)
        return True

    def hold_open(self, seconds: float) -> None:
        """Another host holds the cluster's probe lease: stay OPEN ``seconds`` more (and any
        probe grant this host had is void)."""
        transition = None
        with self.block.writing():
            q, d = self.block.q, self.block.d
            now = self._monotonic()
            q[PROBE_OK_GEN] = -1
            state = STATES[q[STATE]]
            if state is _OPEN:
                if d[OPEN_UNTIL] < now + seconds:
                    d[OPEN_UNTIL] = now + seconds
                    self.block.bump_version()
            elif state is _HALF_OPEN:
                transition = self._move(_OPEN, now, PROBE_ELSEWHERE, seconds)
                d[OPEN_UNTIL] = now + seconds
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
                    if self.block.q[FORCED] == FORCED_OPEN_CODE:
                        self.block.d[OPEN_UNTIL] = now
                    self._set_override(0, 0.0, None)
                self._after_write(None)
            return
        if seconds_left is None or seconds_left <= 0:
            return
        if (current == kind and left is not None
                and abs(left - seconds_left) < _SAME_DEADLINE_SECONDS):
            return
        if kind == ov.FORCED_OPEN:
            self.force_open(seconds_left, reason or "")
        elif kind == ov.DISABLED:
            self.disable(seconds_left, reason or "")

    def manage(self, heartbeat_seconds: float) -> None:
        with self.block.writing():
            self.block.d[MANAGED_UNTIL] = self._monotonic() + heartbeat_seconds

    def unmanage(self) -> None:
        with self.block.writing():
            self.block.d[MANAGED_UNTIL] = 0.0

    def grant_probe(self) -> None:
        with self.block.writing():
            self.block.q[PROBE_OK_GEN] = self.block.q[GENERATION]
