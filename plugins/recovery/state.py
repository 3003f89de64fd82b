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

from dashboard import reload_guard
from dashboard.resilience import collect_checks, strongest_vote
from dashboard.types import StateKey
from plugins.recovery import readings
from plugins.recovery.audit import AuditLog
from plugins.recovery.heartbeat import MISSED_BEATS_FOR_DEAD, Heartbeater, WorkerReading
from plugins.recovery.lifecycle import WorkerExits
from plugins.recovery.policy import PolicyVerdict, RestartPolicy
from plugins.recovery.restarts import ConfigCheck, Restarts, master_pid
from plugins.recovery.settings import RecoverySettings
from plugins.recovery.store import Heartbeat, RestartStore, store_engine
from plugins.recovery.watchdog import Watchdog

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.recovery")
SECTION = "recovery"

#: Heartbeats are at least this frequent, whatever the watchdog interval.
MAX_HEARTBEAT_INTERVAL_SECONDS = 5.0


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
    heartbeater: Heartbeater | None = None
    watchdog: Watchdog | None = None

    @classmethod
    def build(cls, host: Host) -> Recovery:
        settings = host.plugin_settings(SECTION, RecoverySettings)
        store = RestartStore(store_engine(settings.store_url, host.runtime_dir))
        try:
            store.create_schema()
        except SQLAlchemyError as error:  # serve anyway; the store is set up on first use
            logger.warning("restart store unavailable at start (%s); admin and restart history "
                           "are degraded until it answers", type(error).__name__)
        key = host_key()
        restarts = Restarts(store, RestartPolicy.from_settings(settings),
                            AuditLog(settings.audit_log), host.clock, key,
                            disk_config_check(host))
        interval = min(settings.watchdog_interval_seconds, MAX_HEARTBEAT_INTERVAL_SECONDS)
        return cls(host, settings, store, restarts, interval, WorkerExits(restarts, store, key))

    @property
    def host_key(self) -> str:
        return self.restarts.host_key

    def verdict(self) -> PolicyVerdict:
        return self.restarts.verdict()

    def start_heartbeats(self, pid: int) -> Heartbeater:
        """Beat now, then every interval on a daemon thread (gunicorn workers; idempotent)."""
        heartbeater = self._heartbeater(pid)
        if not heartbeater.running:
            heartbeater.start()
            heartbeater.beat()
        return heartbeater

    def ensure_listed(self, pid: int) -> None:
        """Under gunicorn the heartbeat thread keeps this worker listed. A process serving
        without gunicorn (dev server, test client) gets no thread it could never stop; it beats
        when the admin API lists the workers, so it lists itself."""
        heartbeater = self._heartbeater(pid)
        if not heartbeater.running:
            heartbeater.beat()

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

    def verdict_or_none(self) -> PolicyVerdict | None:
        """The verdict, or ``None`` when the store cannot be read (logged, never raised)."""
        try:
            return self.restarts.verdict()
        except SQLAlchemyError as error:
            logger.warning("restart store unavailable (%s)", type(error).__name__)
            return None

    def live_workers(self) -> list[Heartbeat]:
        """Workers of this host that beat within the last three intervals."""
        horizon = timedelta(seconds=self.heartbeat_interval * MISSED_BEATS_FOR_DEAD)
        return self.store.workers(self.host_key, self.host.clock.now() - horizon)

    def close(self) -> None:
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
    return lambda: [reload_guard.describe(problem) for problem in reload_guard.config_problems()]


def recovery_of(host: Host) -> Recovery:
    """This host's recovery parts, built on first use."""
    return host.state(RECOVERY, lambda: Recovery.build(host))
