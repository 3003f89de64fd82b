"""The recovery parts of one host, wired together once per process.

A worker and the master each build their own host, so each gets its own :class:`Recovery`; they
meet only in the store and the audit file. It lives on the host under :data:`RECOVERY`
(``host.state``), so several hosts in one test process share nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from dashboard import StateKey, collect_checks, config_problems_on_disk, strongest_vote
from dashboard.plugins.recovery import readings
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.contact import StoreContact
from dashboard.plugins.recovery.heartbeat import MISSED_BEATS_FOR_DEAD, Heartbeater, WorkerReading
from dashboard.plugins.recovery.lifecycle import WorkerExits
from dashboard.plugins.recovery.master import master_pid
from dashboard.plugins.recovery.policy import PolicyVerdict, RestartPolicy
from dashboard.plugins.recovery.refresher import HistoryRefresher, StoreView
from dashboard.plugins.recovery.restarts import ConfigCheck, Restarts
from dashboard.plugins.recovery.schema import Heartbeat
from dashboard.plugins.recovery.settings import RecoverySettings
from dashboard.plugins.recovery.spool import RestartSpool
from dashboard.plugins.recovery.store import RestartStore
from dashboard.plugins.recovery.storeengine import store_engine
from dashboard.plugins.recovery.watchdog import Watchdog

if TYPE_CHECKING:
    from dashboard import Host

logger = logging.getLogger("dashboard.recovery")
SECTION = "recovery"

#: Heartbeats are at least this frequent, whatever the watchdog interval.
MAX_HEARTBEAT_INTERVAL_SECONDS = 5.0
#: Heartbeat rows this old belong to masters that died without reaping their workers.
STALE_HEARTBEATS = timedelta(hours=1)
#: A starting worker waits this long (at most) for its first read of the history.
FIRST_READ_WAIT_SECONDS = 1.0


def host_key() -> str:
    """Names the gunicorn master (machine and pid) whose workers a heartbeat belongs to."""
    return f"{socket.gethostname()}:{master_pid() or os.getpid()}"


@dataclass
class Recovery:
    """Settings, store, policy, audit and the restart logic of one host."""

    host: Host
    settings: RecoverySettings
    store: RestartStore
    restarts: Restarts
    heartbeat_interval: float
    exits: WorkerExits
    contact: StoreContact
    refresher: HistoryRefresher
    heartbeater: Heartbeater | None = None
    watchdog: Watchdog | None = None

    @classmethod
    def build(cls, host: Host) -> Recovery:
        """Wire the parts. Never connects: a store that is down (or hangs) at start must not
        stop the host from starting; the schema is created on first real use."""
        settings = host.plugin_settings(SECTION, RecoverySettings)
        timeout_seconds = settings.store_timeout_ms / 1000
        store = RestartStore(store_engine(settings.store_url, host.runtime_dir,
                                          settings.store_timeout_ms))
        key = host_key()
        policy = RestartPolicy.from_settings(settings)
        contact = StoreContact(host.clock, timeout_seconds)
        spool = RestartSpool(host.runtime_dir)
        interval = min(settings.watchdog_interval_seconds, MAX_HEARTBEAT_INTERVAL_SECONDS)
        refresher = HistoryRefresher(store, policy, spool, contact, host.clock, key,
                                     timedelta(seconds=interval * MISSED_BEATS_FOR_DEAD))
        restarts = Restarts(store, policy, AuditLog(settings.audit_log), host.clock, key,
                            contact=contact, spool=spool, last_known=refresher.verdict,
                            on_spooled=refresher.note_spooled,
                            config_problems=disk_config_check(host))
        return cls(host, settings, store, restarts, interval, WorkerExits(restarts, store, key),
                   contact, refresher)

    @property
    def host_key(self) -> str:
        return self.restarts.host_key

    def current(self) -> tuple[PolicyVerdict, StoreView | None]:
        """The policy and the history as last read, for the request path: never waits on the
        store while the background refresher runs; without one, reads inline (bounded)."""
        if not self.refresher.running:
            self.refresher.refresh()
        return self.refresher.verdict(), self.refresher.view()

    def verdict(self) -> PolicyVerdict:
        return self.current()[0]

    def start_worker_threads(self, pid: int) -> None:
        """In a gunicorn worker after fork: heartbeats and the history refresher, each on a
        daemon thread. Waits at most a second (``store_timeout_ms`` if shorter) for the first
        read, so a fresh worker shows a real policy rather than ``unknown`` when the store
        answers."""
        self.store.after_fork()
        heartbeater = self._heartbeater(pid)
        started_at = heartbeater.started_at
        store, key, clock = self.store, self.host_key, self.host.clock

        def first_answer() -> None:
            store.complete_pending(key, started_at)  # the restart that made this worker is done
            heartbeater.beat()  # listed at once, not one heartbeat interval later
            store.purge_heartbeats(clock.now() - STALE_HEARTBEATS)  # masters killed outright

        self.refresher.on_first_answer(first_answer)
        self.refresher.start()
        if not heartbeater.running:
            heartbeater.start()
        self.refresher.first_attempt.wait(min(self.contact.timeout_seconds,
                                              FIRST_READ_WAIT_SECONDS))

    def ensure_listed(self, pid: int) -> None:
        """Under gunicorn the heartbeat thread keeps this worker listed. A process serving
        without gunicorn (dev server, test client) gets no thread it could never stop; it beats
        when the admin API lists the workers, so it lists itself (bounded; errors logged)."""
        heartbeater = self._heartbeater(pid)
        if not heartbeater.running:
            try:
                heartbeater.beat()
            except SQLAlchemyError as error:
                self.contact.failed(error)
                logger.warning("heartbeat failed (%s)", type(error).__name__)

    def _heartbeater(self, pid: int) -> Heartbeater:
        if self.heartbeater is None:
            host = self.host

            def read() -> WorkerReading:
                checks = collect_checks(host, deep=False)
                return WorkerReading(readings.breaker_state(checks),
                                     strongest_vote(host, checks).action)

            self.heartbeater = Heartbeater(self.store, host.clock, self.host_key, pid,
                                           self.heartbeat_interval, read)
        return self.heartbeater

    def live_workers(self) -> list[Heartbeat]:
        """Workers of this host that beat within the last three intervals (reads the store:
        for the master's watchdog, never for the request path)."""
        horizon = timedelta(seconds=self.heartbeat_interval * MISSED_BEATS_FOR_DEAD)
        return self.store.workers(self.host_key, self.host.clock.now() - horizon)

    def close(self) -> None:
        """Stop the threads and release the store's connections; idempotent."""
        self.refresher.stop()
        for part in (self.heartbeater, self.watchdog):
            if part is not None:
                part.stop()
        self.store.close()


RECOVERY = StateKey[Recovery]("recovery")


def disk_config_check(host: Host) -> ConfigCheck | None:
    """What a reload would find wrong in the config file this host was loaded from; ``None``
    for a host built from settings in memory (tests), which has no file a reload re-reads."""
    if host.settings.config_path is None:
        return None
    return config_problems_on_disk


def recovery_of(host: Host) -> Recovery:
    """This host's recovery parts, built on first use."""
    return host.state(RECOVERY, lambda: Recovery.build(host))
