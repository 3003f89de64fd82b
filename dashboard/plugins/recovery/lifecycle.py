"""Master side: which worker exits are crashes.

gunicorn reports every reaped worker through ``child_exit``, also the ones it stopped itself on a
reload or at shutdown. A worker is *retired* when the master reloads (``on_reload`` comes before
the old workers are told to stop): every worker of this host known at that moment. Retired workers
and clean exits (code 0) are not crashes; anything else (a non-zero code, a signal such as
SIGKILL, or no code at all) is, and gunicorn respawns the worker, so it counts as a ``crash``
restart.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from dashboard.plugins.recovery.restarts import Restarts
from dashboard.plugins.recovery.schema import EPOCH
from dashboard.plugins.recovery.store import RestartStore

logger = logging.getLogger("dashboard.recovery")


def describe_exit(exitcode: int | None) -> str:
    """Human words for how a worker ended (negative codes are signals, as in subprocess)."""
    if exitcode is None:
        return "died without an exit code (killed by a signal)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed by {name}"
    return f"exited with code {exitcode}"


class WorkerExits:
    """Tells crashes from retirements; lives in the gunicorn master."""

    def __init__(self, restarts: Restarts, store: RestartStore, host_key: str) -> None:
        self.restarts = restarts
        self.store = store
        self.host_key = host_key
        self._retired: set[int] = set()
        self._shutting_down = False
        self._lock = threading.Lock()
        self._reloaded_at: datetime | None = None

    def reloading(self) -> None:
        """The master reloads: every worker started before now is about to be stopped on purpose.
        Only the moment is noted: the master's reload never waits on the store (nor runs a
        thread while it forks the new workers); :meth:`exited` reads the worker's start."""
        with self._lock:
            self._reloaded_at = self.restarts.clock.now()
        logger.info("reload: retiring the workers started before it")

    def _retired_by_reload(self, pid: int) -> bool:
        """The worker's heartbeat began before the latest reload, which retired it. Asked only
        for an exit that is not clean (a retired worker usually exits cleanly), before the row
        is dropped; a store that cannot tell counts it retired (a reload is the likelier)."""
        reloaded_at = self._reloaded_at
        if reloaded_at is None:
            return False
        try:
            workers = self.store.workers(self.host_key, alive_since=EPOCH)
        except SQLAlchemyError as error:
            logger.warning("recovery: whether a reload retired worker %s is unknown (restart "
                           "store: %s); not counted as a crash, serving continues", pid,
                           type(error).__name__)
            return True
        return any(w.pid == pid and w.started_at <= reloaded_at for w in workers)

    def shutting_down(self) -> None:
        self._shutting_down = True

    def exited(self, pid: int, exitcode: int | None) -> str | None:
        """Forget the worker; record a crash restart when it crashed. Returns the restart id."""
        if exitcode != 0 and not self._shutting_down and self._retired_by_reload(pid):
            with self._lock:
                self._retired.add(pid)
        try:
            self.store.forget_worker(self.host_key, pid)
        except SQLAlchemyError as error:  # the row ages out; the crash must still be counted
            logger.warning("could not drop worker %s from the store (%s)", pid,
                           type(error).__name__)
        with self._lock:
            retired = pid in self._retired
            self._retired.discard(pid)
        if retired or self._shutting_down or exitcode == 0:
            return None
        return self.restarts.record_crash(pid, describe_exit(exitcode))
