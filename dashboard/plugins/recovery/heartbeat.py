"""Per-worker heartbeats: each worker says every few seconds that it lives, and how it is doing.

Admin status must list every worker of the host whichever one answers, and the watchdog (in the
master) must know what the workers recommend; both read these rows. A worker's row is removed when
the master sees it exit; a row whose last beat is older than three intervals is treated as dead in
case that never happened (a master killed outright).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dashboard import Clock, PeriodicThread
from dashboard.plugins.recovery.schema import Heartbeat
from dashboard.plugins.recovery.store import RestartStore

#: Missed beats after which a worker is no longer listed.
MISSED_BEATS_FOR_DEAD = 3


@dataclass(frozen=True)
class WorkerReading:
    """What a worker observes about itself at one beat."""

    breaker_state: str | None
    recommendation: str | None


class Heartbeater:
    """Writes one worker's heartbeat row; :meth:`start` repeats it on a daemon thread."""

    def __init__(self, store: RestartStore, clock: Clock, host_key: str, pid: int,
                 interval: float, read: Callable[[], WorkerReading]) -> None:
        self.store = store
        self.clock = clock
        self.host_key = host_key
        self.pid = pid
        self.interval = interval
        self.read = read
        self.started_at = clock.now()
        self._recover_since: datetime | None = None
        self._loop = PeriodicThread("recovery-heartbeat", interval, self.beat)

    def beat(self) -> Heartbeat:
        """Observe and write once; ``recover_since`` is when ``recover`` began, continuously."""
        reading = self.read()
        now = self.clock.now()
        if reading.recommendation == "recover":
            self._recover_since = self._recover_since or now
        else:
            self._recover_since = None
        heartbeat = Heartbeat(self.host_key, self.pid, self.started_at, now,
                              reading.breaker_state, reading.recommendation, self._recover_since)
        self.store.beat(heartbeat)
        return heartbeat

    @property
    def running(self) -> bool:
        return self._loop.running

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
