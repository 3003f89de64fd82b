"""The watchdog: an automatic restart when workers have recommended ``recover`` long enough.

It runs as a daemon thread in the gunicorn master, started at ``dashboard_master_ready``. Why
there: the master outlives every restart it triggers (a watchdog inside a worker would be killed by
its own restart and would need an election among workers), there is exactly one per host, and the
master is the process that reloads, so it signals itself. It needs no extra process to supervise.
The recommendation is per worker (health state lives in each worker), so workers publish theirs
with their heartbeat, including since when it has been ``recover``; the watchdog reads those rows.

Rule (docs/api/admin.md): trigger only when a live worker has recommended ``recover`` continuously
for ``auto_recover_after_seconds`` *and* the policy is ``allowed``; a recommendation that began
before
the watchdog's last restart has been answered and is ignored. While the history store has been
silent for ``3 * store_timeout_ms`` (policy ``unknown``, §9.4) the watchdog does nothing: it only
tries the store again, each interval, so its first answer ends the idleness.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from dashboard import Clock, PeriodicThread
from dashboard.plugins.recovery.contact import StoreContact
from dashboard.plugins.recovery.master import Reloader
from dashboard.plugins.recovery.restarts import RestartOutcome, RestartRequest, Restarts
from dashboard.plugins.recovery.schema import Heartbeat

logger = logging.getLogger("dashboard.recovery")
T = TypeVar("T")


def recovering_since(workers: list[Heartbeat], answered_before: datetime | None
                     ) -> Heartbeat | None:
    """The live worker that has recommended ``recover`` the longest, if any."""
    candidates = [(w.recover_since, w) for w in workers
                  if w.recommendation == "recover" and w.recover_since is not None
                  and (answered_before is None or w.recover_since > answered_before)]
    earliest = min(candidates, key=lambda pair: pair[0], default=None)
    return None if earliest is None else earliest[1]


class Watchdog:
    """One look at the workers per :meth:`check`; :meth:`start` looks every ``interval``."""

    def __init__(self, restarts: Restarts, workers: Callable[[], list[Heartbeat]], clock: Clock,
                 auto_recover_after_seconds: float, interval: float,
                 reloader: Reloader | None, contact: StoreContact | None = None) -> None:
        self.restarts = restarts
        self.workers = workers
        self.clock = clock
        self.after = timedelta(seconds=auto_recover_after_seconds)
        self.interval = interval
        self.reloader = reloader
        self.contact = contact
        self._answered_before: datetime | None = None
        self._held_back: str | None = None
        self._loop = PeriodicThread("recovery-watchdog", interval, self.check)

    def check(self) -> RestartOutcome | None:
        """Restart if the rule says so; return the outcome, or ``None`` when nothing was done."""
        if self.contact is not None and self.contact.unknown:
            if self._held_back != "unknown":
                logger.warning("watchdog idle: the restart history store has not answered for "
                               "%.0fs (policy unknown)", self.contact.silent_for())
                self._held_back = "unknown"
            # Try the store again (bounded by store_timeout_ms): its answer ends the idleness.
            with contextlib.suppress(SQLAlchemyError):
                self._reported(self.workers)
            return None
        worker = recovering_since(self._reported(self.workers), self._answered_before)
        if worker is None or worker.recover_since is None:
            self._held_back = None
            return None
        now = self.clock.now()
        if now - worker.recover_since < self.after:
            return None
        verdict = self._reported(self.restarts.verdict)
        if not verdict.allowed:
            if self._held_back != verdict.state:  # say it once per episode, not every interval
                logger.warning("watchdog: workers recommend recover, restart held back: policy "
                               "%s", verdict.state)
                self._held_back = verdict.state
            return None
        seconds = int((now - worker.recover_since).total_seconds())
        request = RestartRequest(
            reason=f"watchdog: worker {worker.pid} recommended recover for {seconds}s",
            actor="watchdog")
        outcome = self.restarts.request(request, self.reloader, source="auto",
                                        event="auto_restart")
        self._answered_before = now
        self._held_back = None
        return outcome

    def _reported(self, read: Callable[[], T]) -> T:
        """``read()`` from the store, telling the contact whether the store answered."""
        if self.contact is None:
            return read()
        try:
            value = read()
        except SQLAlchemyError as error:
            self.contact.failed(error)
            raise
        self.contact.answered()
        return value

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
