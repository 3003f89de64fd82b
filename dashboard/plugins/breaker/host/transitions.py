"""The host breaker's transitions: how the shared block changes state, for every writer.

:class:`BlockTransitions` is what the host breaker (:mod:`.breaker`, outcomes), its operator
control (:mod:`.control`) and its cluster levers (:mod:`.levers`) share: moving the block's
state (``move``, ``open``, ``close``), the override slots, and the rule that opens a CLOSED
window (:class:`dashboard.plugins.breaker.core.rules.Rules`, as in the worker scope). Callers hold
the block's write lock (:meth:`dashboard.plugins.breaker.host.block.Block.writing`) and report the
transition after releasing it.

:meth:`BlockTransitions.bound` keeps what the block holds within this host's bounds, whoever
wrote it (an older version, another process): see :mod:`dashboard.plugins.breaker.bounds`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard.plugins.breaker.bounds import OVERRIDE_MAX_SECONDS, bounded_override, bounded_trip
from dashboard.plugins.breaker.core import overrides as ov
from dashboard.plugins.breaker.core.model import (
    FAILURE_RATE,
    PROBE_FAILED,
    PROBE_SLOW,
    SLOW_CALL_RATE,
    BreakerState,
    Transition,
    share,
)
from dashboard.plugins.breaker.core.rules import Rules
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import STATE, Block
from dashboard.plugins.breaker.host.leases import Leases
from dashboard.plugins.breaker.host.window import initialise_window

STATES = (BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN)  # by gauge_value
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
REMOTE_TRIP, REMOTE_CLOSE = "remote trip", "remote probe succeeded"
PROBE_ELSEWHERE = "probe elsewhere"
REASONS = (None, FAILURE_RATE, SLOW_CALL_RATE, PROBE_FAILED, PROBE_SLOW, ov.REASON_FORCED_OPEN,
           ov.REASON_DISABLED, ov.REASON_RESET, REMOTE_TRIP, REMOTE_CLOSE, PROBE_ELSEWHERE)
FORCED_OPEN_CODE, FORCED_DISABLED_CODE = 1, 2
FORCED_KINDS = {0: None, FORCED_OPEN_CODE: ov.FORCED_OPEN, FORCED_DISABLED_CODE: ov.DISABLED}
LOCAL, REMOTE = 0, 1
_BLOCK = "the host block"


def initialise_block(block: Block, rules: Rules) -> None:
    """What a fresh (all-zero) block needs besides zeroes."""
    block.d[slots.OPEN_FOR] = rules.open_seconds
    block.q[slots.PROBE_OK_GEN] = -1
    initialise_window(block, rules.window_size, rules.window_seconds)


class BlockTransitions:
    """State changes of one block; see the module docstring."""

    def __init__(self, block: Block, window: Any, leases: Leases, rules: Rules,
                 monotonic: Callable[[], float]) -> None:
        self.block = block
        self.window = window
        self.leases = leases
        self.rules = rules
        self.monotonic = monotonic

    def move(self, after: BreakerState, now: float, reason: str | None = None,
             open_seconds: float | None = None) -> Transition:
        q, window = self.block.q, self.window
        count = window.count
        transition = Transition(STATES[q[STATE]], after, share(window.failures, count), count,
                                now, share(window.slow, count), reason, open_seconds)
        q[STATE] = after.gauge_value
        q[slots.REASON] = REASONS.index(reason) if reason in REASONS else REASONS.index(REMOTE_TRIP)
        self.block.bump_version()
        return transition

    def open(self, reason: str, now: float) -> Transition:
        q, d = self.block.q, self.block.d
        if STATES[q[STATE]] is _HALF_OPEN:  # a failed probe: the next period is longer
            d[slots.OPEN_FOR] = self.rules.after_failed_probe(d[slots.OPEN_FOR])
        transition = self.move(_OPEN, now, reason, float(d[slots.OPEN_FOR]))
        self.enter_open(now, float(d[slots.OPEN_FOR]), LOCAL)
        return transition

    def enter_open(self, now: float, seconds: float, origin: int) -> None:
        q, d = self.block.q, self.block.d
        d[slots.OPENED_AT], d[slots.OPEN_UNTIL] = now, now + seconds
        q[slots.GENERATION] += 1
        q[slots.ORIGIN] = origin
        self.leases.clear()
        self.block.bump_version()

    def close(self, reason: str | None, now: float, *, keep_period: bool = False,
              origin: int = LOCAL) -> Transition | None:
        """CLOSED with an empty window (no transition reported when it already was)."""
        q = self.block.q
        transition = None if STATES[q[STATE]] is _CLOSED else self.move(_CLOSED, now, reason)
        if not keep_period:
            self.block.d[slots.OPEN_FOR] = self.rules.open_seconds
        self.window.clear()
        q[slots.EPOCH] += 1
        q[slots.ORIGIN] = origin
        self.leases.clear()
        self.block.bump_version()
        return transition

    def after_closed_outcome(self, now: float) -> Transition | None:
        """Open a CLOSED window that says so, unless an operator disabled the breaker."""
        window = self.window
        reason = self.rules.opening_reason(window.count, window.failures, window.slow)
        if reason is None or self.disabled(now):
            return None
        return self.open(reason, now)

    # -- the override slots ------------------------------------------------------------------

    def set_override(self, code: int, until: float, reason: str | None) -> None:
        q = self.block.q
        q[slots.FORCED], self.block.d[slots.FORCED_UNTIL] = code, until
        self.block.set_text(reason)
        q[slots.OVERRIDE_SERIAL] += 1
        self.block.bump_version()

    def end_forced_open(self) -> None:
        if self.block.q[slots.FORCED] == FORCED_OPEN_CODE:
            self.set_override(0, 0.0, None)

    def expire_override(self) -> None:
        """End an override whose time is up (takes the write lock itself)."""
        with self.block.writing():
            if self.block.q[slots.FORCED] and self.block.d[slots.FORCED_UNTIL] <= self.monotonic():
                self.set_override(0, 0.0, None)

    def disabled(self, now: float) -> bool:
        q, d = self.block.q, self.block.d
        return q[slots.FORCED] == FORCED_DISABLED_CODE and d[slots.FORCED_UNTIL] > now

    def forced(self, now: float) -> tuple[str | None, float | None, str | None]:
        """The override in force: its kind, seconds left and reason (or three ``None``)."""
        q, d = self.block.q, self.block.d
        kind = FORCED_KINDS.get(int(q[slots.FORCED]))
        if kind is None or d[slots.FORCED_UNTIL] <= now:
            return None, None, None
        return kind, float(d[slots.FORCED_UNTIL] - now), self.block.text()

    # -- bounds ------------------------------------------------------------------------------

    def _limits(self) -> tuple[float, float]:
        """The longest an OPEN period and the next period may last: a forced open lasts as long
        as its override (at most a day), anything else at most ``open_seconds_max``."""
        trip = self.rules.open_seconds_max
        forced_open = self.block.q[slots.FORCED] == FORCED_OPEN_CODE
        return (max(trip, OVERRIDE_MAX_SECONDS) if forced_open else trip), trip

    def within_bounds(self, now: float) -> bool:
        """No time in the block outlasts the limits (``not <=`` catches NaN too). A few reads,
        no lock: run by each worker's sync round and when its copy is refreshed."""
        q, d = self.block.q, self.block.d
        open_limit, period_limit = self._limits()
        return ((STATES[q[STATE]] is not _OPEN or d[slots.OPEN_UNTIL] - now <= open_limit)
                and d[slots.FORCED_UNTIL] - now <= OVERRIDE_MAX_SECONDS
                and d[slots.OPEN_FOR] <= period_limit)

    def bound(self) -> bool:
        """Cut what outlasts the limits (one WARNING each); ``True`` when something was cut.
        An unreadable time (not finite) ends what it timed: the period, or the override."""
        if self.within_bounds(self.monotonic()):
            return False
        with self.block.writing():
            q, d = self.block.q, self.block.d
            now = self.monotonic()
            if self.within_bounds(now):
                return False
            if not d[slots.FORCED_UNTIL] - now <= OVERRIDE_MAX_SECONDS:
                left = bounded_override(d[slots.FORCED_UNTIL] - now, _BLOCK)
                d[slots.FORCED_UNTIL] = now + left if left is not None else now
            open_limit, period_limit = self._limits()
            if STATES[q[STATE]] is _OPEN and not d[slots.OPEN_UNTIL] - now <= open_limit:
                left = bounded_trip(d[slots.OPEN_UNTIL] - now, open_limit, _BLOCK)
                d[slots.OPEN_UNTIL] = now + left if left is not None else now
            if not d[slots.OPEN_FOR] <= period_limit:
                period = bounded_trip(d[slots.OPEN_FOR], period_limit, _BLOCK)
                d[slots.OPEN_FOR] = period if period is not None else self.rules.open_seconds
            self.block.bump_version()
        return True
