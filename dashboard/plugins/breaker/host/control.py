"""The host breaker's operator control and readings: overrides and snapshots over the block.

:class:`HostControl` changes the block on purpose rather than from outcomes: the operator's
overrides (docs/plugins/breaker.md: ``force_open``, ``disable``, ``reset``, with the rules of
:mod:`dashboard.plugins.breaker.core.overrides`: a forced open refuses with the time left and
ends in one probe; a disable keeps every worker CLOSED while outcomes still count; a reset clears
everything), and it reads the block for health and the gauges. Everything that writes runs under
the block's write lock and reports its transition through ``after_write`` once it is released.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard.plugins.breaker.core import overrides as ov
from dashboard.plugins.breaker.core.model import BreakerState, Snapshot, Transition, snapshot_of
from dashboard.plugins.breaker.core.window import failure_rate_unlocked
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import STATE
from dashboard.plugins.breaker.host.transitions import (
    FORCED_DISABLED_CODE,
    FORCED_OPEN_CODE,
    LOCAL,
    STATES,
    BlockTransitions,
)

_CLOSED, _OPEN = BreakerState.CLOSED, BreakerState.OPEN


class HostControl:
    """Overrides and readings of one host block; see the module docstring."""

    def __init__(self, transitions: BlockTransitions,
                 after_write: Callable[[Transition | None], None]) -> None:
        self.transitions = transitions
        self.block = transitions.block
        self._window: Any = transitions.window
        self._monotonic = transitions.monotonic
        self._after_write = after_write

    # -- operator overrides ------------------------------------------------------------------

    def force_open(self, seconds: float, reason: str) -> None:
        """OPEN now for ``seconds`` on every worker; then one probe decides."""
        ov.start(ov.FORCED_OPEN, seconds, reason, 0.0, 0.0)  # validates, as the machine does
        moves = self.transitions
        with self.block.writing():
            now = self._monotonic()
            moves.set_override(FORCED_OPEN_CODE, now + seconds, reason[:ov.MAX_REASON_LENGTH])
            transition = (None if STATES[self.block.q[STATE]] is _OPEN
                          else moves.move(_OPEN, now, ov.REASON_FORCED_OPEN, float(seconds)))
            moves.enter_open(now, float(seconds), LOCAL)
        self._after_write(transition)

    def disable(self, seconds: float, reason: str) -> None:
        """CLOSED now on every worker, never opening for ``seconds`` (outcomes still count)."""
        ov.start(ov.DISABLED, seconds, reason, 0.0, 0.0)
        moves = self.transitions
        with self.block.writing():
            now = self._monotonic()
            moves.set_override(FORCED_DISABLED_CODE, now + seconds,
                               reason[:ov.MAX_REASON_LENGTH])
            transition = None
            if STATES[self.block.q[STATE]] is not _CLOSED:
                transition = moves.close(ov.REASON_DISABLED, now, keep_period=True)
        self._after_write(transition)

    def reset(self, reason: str) -> None:
        """Clear any override: CLOSED, an empty window, the open period back to open_seconds."""
        with self.block.writing():
            now = self._monotonic()
            self.transitions.set_override(0, 0.0, None)
            transition = self.transitions.close(ov.REASON_RESET, now)
        self._after_write(transition)

    # -- readings ----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        self.transitions.bound()  # health never shows more than this host's bounds allow
        now = self._monotonic()
        window = self._window
        if self.transitions.rules.window_seconds > 0:
            with self.block.writing():  # a time window drops the seconds that aged out
                window.expire(now)
        q, d = self.block.q, self.block.d
        state, count, failures, slow, until, forced = self.block.read(lambda: (
            STATES[q[STATE]], window.count, window.failures, window.slow,
            float(d[slots.OPEN_UNTIL]), self.transitions.forced(now)))
        return snapshot_of(state, count, failures, slow, until - now, forced)

    @property
    def window_failure_rate(self) -> float:
        """The shared window's failure share, read without the lock (for a gauge)."""
        return failure_rate_unlocked(self._window)

    @property
    def open_period(self) -> float:
        """The length of the current (or next) open period, in seconds."""
        return float(self.block.d[slots.OPEN_FOR])
