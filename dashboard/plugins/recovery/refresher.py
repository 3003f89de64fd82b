"""The history as last read in the background: what health and the admin API show (§9.4).

``/health``, ``/livez``, ``/readyz`` and ``GET /admin/api/*`` must never wait on the history store.
A per-worker daemon thread (:meth:`HistoryRefresher.start`, from ``dashboard_worker_started``)
reads it about every second: first it replays the restart spool, then the executed restarts the
policy looks at, the history shown by the admin API, the last restart and the live workers. The
request path only reads the last :class:`StoreView` and evaluates the policy on it *now* (so a
cooldown counts down between reads), with ``age_seconds`` saying how old the read is.

When the store has been silent for ``3 * store_timeout_ms`` (:class:`StoreContact`), or has not
answered yet at all, the verdict is ``unknown`` (:func:`unknown_verdict`). Restarts spooled during
an outage count toward the churn shown meanwhile.

A process that never ran ``dashboard_worker_started`` (a test client, a server that does not run
the worker hooks) has no thread; there :meth:`Recovery.current` refreshes inline, bounded by
``store_timeout_ms``, so it still shows what it just did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dashboard import Clock, PeriodicThread
from dashboard.plugins.recovery.contact import StoreContact
from dashboard.plugins.recovery.policy import PolicyVerdict, RestartPolicy, unknown_verdict
from dashboard.plugins.recovery.schema import Heartbeat, RestartRecord
from dashboard.plugins.recovery.spool import RestartSpool
from dashboard.plugins.recovery.store import RestartStore

logger = logging.getLogger("dashboard.recovery")
HISTORY_SHOWN = 50
#: Refresh at least this often (more often when 3 x store_timeout_ms would be shorter).
MAX_REFRESH_SECONDS = 1.0


def refresh_interval(timeout_seconds: float) -> float:
    """Often enough that a healthy store is never silent for 3 x its timeout."""
    return min(MAX_REFRESH_SECONDS, timeout_seconds)


@dataclass(frozen=True)
class StoreView:
    """What the store said at its last answer; ``read_at`` on the monotonic clock."""

    restart_times: tuple[datetime, ...]
    history: tuple[RestartRecord, ...]
    last_restart: RestartRecord | None
    workers: tuple[Heartbeat, ...]
    read_at: float


class HistoryRefresher:
    """Reads the store into a :class:`StoreView`; replays the spool; never raises."""

    def __init__(self, store: RestartStore, policy: RestartPolicy, spool: RestartSpool,
                 contact: StoreContact, clock: Clock, host_key: str, worker_horizon: timedelta,
                 *, interval: float | None = None,
                 on_first_answer: Callable[[], None] | None = None) -> None:
        self.store = store
        self.policy = policy
        self.spool = spool
        self.contact = contact
        self.clock = clock
        self.host_key = host_key
        self.worker_horizon = worker_horizon
        self.interval = interval if interval is not None else refresh_interval(
            contact.timeout_seconds)
        self._on_first_answer = on_first_answer
        self._view: StoreView | None = None
        self._spooled: tuple[RestartRecord, ...] = ()
        self._lock = threading.Lock()
        self._loop = PeriodicThread("recovery-refresher", self.interval, self.refresh,
                                    run_first=True)
        self.first_attempt = threading.Event()
        self._outage_logged = False

    # -- reading ------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """One read of the store (spool replay first). ``True`` when the store answered."""
        try:
            self._read_spool()
            self.store.create_schema()  # a store that was down at start is set up on first use
            replayed = self.spool.replay(self.store.add_missing)
            if replayed:
                logger.info("restart spool: %s restart(s) replayed into the history", replayed)
                self._read_spool()
            if self._on_first_answer is not None:
                self._on_first_answer()
                self._on_first_answer = None
            now = self.clock.now()
            view = StoreView(
                restart_times=tuple(self.store.executed_since(now - self.policy.lookback)),
                history=tuple(self.store.history(HISTORY_SHOWN)),
                last_restart=self.store.last_restart(),
                workers=tuple(self.store.workers(self.host_key, now - self.worker_horizon)),
                read_at=self.clock.monotonic())
        except Exception as error:  # a refresher that raised would stop refreshing
            self.contact.failed(error)
            if not self._outage_logged:
                logger.warning("restart store unavailable (%s); health and admin show the "
                               "history last read", type(error).__name__)
                self._outage_logged = True
            return False
        finally:
            self.first_attempt.set()
        with self._lock:
            self._view = view
        self.contact.answered()
        if self._outage_logged:
            logger.info("restart store answers again")
            self._outage_logged = False
        return True

    def _read_spool(self) -> None:
        try:
            spooled = tuple(self.spool.pending())
        except OSError as error:
            logger.warning("restart spool unreadable (%s)", type(error).__name__)
            return
        with self._lock:
            self._spooled = spooled

    def note_spooled(self, record: RestartRecord) -> None:
        """This process just spooled ``record``: count it before the next refresh reads it."""
        with self._lock:
            if all(known.id != record.id for known in self._spooled):
                self._spooled = (*self._spooled, record)

    def on_first_answer(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once, at the first refresh the store answers (after the replay)."""
        self._on_first_answer = callback

    # -- what the request path reads ----------------------------------------------------------

    def view(self) -> StoreView | None:
        with self._lock:
            return self._view

    def verdict(self) -> PolicyVerdict:
        """The policy now, on the last read plus the restarts spooled since; ``unknown`` when
        the store is silent (or never answered)."""
        with self._lock:
            view, spooled = self._view, self._spooled
        times = list(view.restart_times if view is not None else ())
        times += [r.requested_at for r in spooled if r.decision == "executed"]
        evaluated = self.policy.evaluate(times, self.clock.now())
        age = None if view is None else max(0.0, self.clock.monotonic() - view.read_at)
        evaluated = replace(evaluated, age_seconds=age)
        if view is None or self.contact.unknown:
            return unknown_verdict(evaluated, self.contact.silent_for(),
                                   self.contact.silence_limit_seconds)
        return evaluated

    # -- the thread ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        """Refresh now and then every :attr:`interval` on a daemon thread (idempotent)."""
        self._loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._loop.stop(timeout)
