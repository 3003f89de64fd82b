"""The host breaker's transitions, operator overrides and views over the block.

:class:`HostControls` is the part of :class:`dashboard.plugins.breaker.hostscope.HostBreaker` that
changes the block's state on purpose rather than from outcomes: the transitions every part
shares (``_move``, ``_open``, ``_close``), the operator's overrides (docs/plugins/breaker.md:
``force_open``, ``disable``, ``reset``, with the rules of :mod:`dashboard.plugins.breaker.overrides`: a
forced open refuses with the time left and ends in one probe; a disable keeps every worker
CLOSED while outcomes still count; a reset clears everything), and the views health and metrics
read. Everything that writes runs under the block's write lock and reports a transition after
releasing it. The cluster syncer's levers are in :mod:`dashboard.plugins.breaker.hostcluster`.
"""

from __future__ import annotations

from typing import Any

from dashboard.plugins.breaker import block as slots
from dashboard.plugins.breaker import overrides as ov
from dashboard.plugins.breaker.block import STATE, Block
from dashboard.plugins.breaker.machine import (
    FAILURE_RATE,
    PROBE_FAILED,
    PROBE_SLOW,
    SLOW_CALL_RATE,
    Snapshot,
    State,
    Transition,
)
from dashboard.plugins.breaker.sharedwindow import initialise_window

STATES = (State.CLOSED, State.HALF_OPEN, State.OPEN)  # indexed by State.gauge_value
_CLOSED, _OPEN, _HALF_OPEN = State.CLOSED, State.OPEN, State.HALF_OPEN
REMOTE_TRIP, REMOTE_CLOSE = "remote trip", "remote probe succeeded"
PROBE_ELSEWHERE = "probe elsewhere"
REASONS = (None, FAILURE_RATE, SLOW_CALL_RATE, PROBE_FAILED, PROBE_SLOW, ov.REASON_FORCED_OPEN,
           ov.REASON_DISABLED, ov.REASON_RESET, REMOTE_TRIP, REMOTE_CLOSE, PROBE_ELSEWHERE)
FORCED_OPEN_CODE, FORCED_DISABLED_CODE = 1, 2
FORCED_KINDS = {0: None, FORCED_OPEN_CODE: ov.FORCED_OPEN, FORCED_DISABLED_CODE: ov.DISABLED}
LOCAL, REMOTE = 0, 1



def initialise_block(block: Block, breaker: Any) -> None:
    block.d[slots.OPEN_FOR] = breaker.open_seconds
    block.q[slots.PROBE_OK_GEN] = -1
    initialise_window(block, breaker.window_size, breaker.window_seconds)


class HostControls:
    """Mixed into :class:`~dashboard.plugins.breaker.hostscope.HostBreaker`; see the module docstring."""

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
        q[slots.REASON] = REASONS.index(reason) if reason in REASONS else REASONS.index(REMOTE_TRIP)
        self.block.bump_version()
        return transition

    def _open(self, reason: str, now: float) -> Transition:
        q, d = self.block.q, self.block.d
        if STATES[q[STATE]] is _HALF_OPEN:  # a failed probe: the next period is longer
            d[slots.OPEN_FOR] = min(d[slots.OPEN_FOR] * 2, self.open_seconds_max)
        transition = self._move(_OPEN, now, reason, float(d[slots.OPEN_FOR]))
        self._enter_open(now, float(d[slots.OPEN_FOR]), LOCAL)
        return transition

    def _enter_open(self, now: float, seconds: float, origin: int) -> None:
        q, d = self.block.q, self.block.d
        d[slots.OPENED_AT], d[slots.OPEN_UNTIL] = now, now + seconds
        q[slots.GENERATION] += 1
        q[slots.ORIGIN] = origin
        self._leases.clear()
        self.block.bump_version()

    def _close(self, reason: str | None, now: float, *, keep_period: bool = False,
               origin: int = LOCAL) -> Transition | None:
        """CLOSED with an empty window (no transition reported when it already was)."""
        q = self.block.q
        transition = None if STATES[q[STATE]] is _CLOSED else self._move(_CLOSED, now, reason)
        if not keep_period:
            self.block.d[slots.OPEN_FOR] = self.open_seconds
        self._window.clear()
        q[slots.EPOCH] += 1
        q[slots.ORIGIN] = origin
        self._leases.clear()
        self.block.bump_version()
        return transition

    def _set_override(self, code: int, until: float, reason: str | None) -> None:
        q = self.block.q
        q[slots.FORCED], self.block.d[slots.FORCED_UNTIL] = code, until
        self.block.set_text(reason)
        q[slots.OVERRIDE_SERIAL] += 1
        self.block.bump_version()

    def _end_forced_open(self, now: float) -> None:
        if self.block.q[slots.FORCED] == FORCED_OPEN_CODE:
            self._set_override(0, 0.0, None)

    def _expire_override(self) -> None:
        with self.block.writing():
            if self.block.q[slots.FORCED] and self.block.d[slots.FORCED_UNTIL] <= self._monotonic():
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
        kind = FORCED_KINDS.get(int(q[slots.FORCED]))
        if kind is None or d[slots.FORCED_UNTIL] <= now:
            return None, None, None
        return kind, float(d[slots.FORCED_UNTIL] - now), self.block.text()

    def snapshot(self) -> Snapshot:
        now = self._monotonic()
        window = self._window
        if self.window_seconds > 0:
            with self.block.writing():  # a time window drops the seconds that aged out
                window.expire(now)
        q, d = self.block.q, self.block.d
        state, count, failures, slow, until, forced = self.block.read(lambda: (
            STATES[q[STATE]], window.count, window.failures, window.slow,
            float(d[slots.OPEN_UNTIL]), self._forced(now)))
        left = until - now
        if state is _OPEN and left <= 0:
            state = _HALF_OPEN
        return Snapshot(state, failures / count if count else 0.0, count,
                        max(left, 0.0) if state is _OPEN else None,
                        slow / count if count else 0.0, *forced)

    @property
    def state(self) -> State:
        return self.snapshot().state

    @property
    def window_failure_rate(self) -> float:
        """The shared window's failure share, read without the lock (for a gauge)."""
        window = self._window
        failures = window.failures
        if not failures:
            return 0.0
        count = window.count
        return failures / count if count else 0.0

    @property
    def open_period(self) -> float:
        """The length of the current (or next) open period, in seconds."""
        return float(self.block.d[slots.OPEN_FOR])
