"""Operator overrides for ``scope = "worker"``: one command, every worker of the host.

In worker scope each worker keeps its own :class:`~..core.machine.CircuitBreaker`, but an
operator who forces the breaker open during an incident means the host, not the one worker that
happened to answer the admin call. So the override is written to a small block of its own in
``runtime_dir/breaker/`` (:mod:`..host.block`: the same locks and seqlock) and each
worker's relay thread, every :data:`POLL_SECONDS`, compares the block's override serial with the
last it applied and applies a new one to its own breaker (``force_open`` / ``disable`` with the
time left, or ``reset``). The guarded call is not touched: its cost stays the worker scope's.

A worker started later (a reload) applies the override still in force on its first round.
What the block says is adopted within bounds (:mod:`..bounds`): whoever wrote it, an override
lasts at most a day here, and an unreadable time is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard import PeriodicThread
from dashboard.plugins.breaker.bounds import bounded_override
from dashboard.plugins.breaker.core import overrides as ov
from dashboard.plugins.breaker.host.block import (
    FORCED,
    FORCED_UNTIL,
    OVERRIDE_ACTION,
    OVERRIDE_SERIAL,
    Block,
)

if TYPE_CHECKING:
    from dashboard.plugins.breaker.core.protocol import ScopeBreaker

POLL_SECONDS = 0.05
ACTION_CODES = {"force_open": 1, "disable": 2, "reset": 3}
_ACTIONS = {code: action for action, code in ACTION_CODES.items()}
_KIND_CODES = {"force_open": 1, "disable": 2, "reset": 0}


class OverrideRelay:
    """The host's override block as one worker reads and writes it."""

    def __init__(self, directory: Path, breaker: ScopeBreaker,
                 monotonic: Callable[[], float]) -> None:
        self.block = Block(directory / "worker-overrides.block", 0, lambda block: None)
        self.breaker = breaker
        self._monotonic = monotonic
        self._applied = -1
        self._thread = PeriodicThread("breaker-overrides", POLL_SECONDS, self.poll)

    def publish(self, action: str, seconds: float | None, reason: str) -> None:
        """Write the override for every worker, and apply it here at once."""
        with self.block.writing():
            q = self.block.q
            until = self._monotonic() + seconds if seconds is not None else 0.0
            q[OVERRIDE_ACTION], q[FORCED] = ACTION_CODES[action], _KIND_CODES[action]
            self.block.d[FORCED_UNTIL] = until
            self.block.set_text(reason[:ov.MAX_REASON_LENGTH])
            q[OVERRIDE_SERIAL] += 1
            self.block.bump_version()
            serial = int(q[OVERRIDE_SERIAL])
        self._apply(action, seconds, reason)
        self._applied = serial

    def poll(self) -> bool:
        """Apply an override another worker wrote; ``True`` when one was applied."""
        q, d = self.block.q, self.block.d
        if q[OVERRIDE_SERIAL] == self._applied:
            return False  # the common round: one memory read
        serial, code, until, reason = self.block.read(lambda: (
            int(q[OVERRIDE_SERIAL]), int(q[OVERRIDE_ACTION]), float(d[FORCED_UNTIL]),
            self.block.text() or ""))
        first = self._applied < 0
        self._applied = serial
        action = _ACTIONS.get(code)
        if action is None:
            return False
        if action == "reset":
            if first:
                return False  # a fresh worker has nothing to reset
            self._apply(action, None, reason)
            return True
        left = bounded_override(until - self._monotonic(), "the host's override block")
        if left is None:
            return False  # not a time: ignored (one WARNING)
        if left > 0:
            self._apply(action, left, reason)
        return True

    def _apply(self, action: str, seconds: float | None, reason: str) -> None:
        if action == "force_open" and seconds is not None:
            self.breaker.force_open(seconds, reason)
        elif action == "disable" and seconds is not None:
            self.breaker.disable(seconds, reason)
        elif action == "reset":
            self.breaker.reset(reason)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._thread.stop(2)
        self.block.close()
