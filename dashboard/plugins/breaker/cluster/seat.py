"""Which worker of a host runs the cluster syncer: the one holding a non-blocking ``flock``.

Every worker runs a :class:`SyncerRunner` thread. Each tick it tries
``runtime_dir/breaker/syncer.lock`` with ``LOCK_EX | LOCK_NB``; the winner keeps the descriptor
open (so the lock) for its whole life and ticks the syncer, the others try again next tick. A
killed worker's descriptor is closed by the kernel, its lock freed, and another worker takes over
within one tick: no pid files, no stale owner to detect. The lock is taken in the worker's thread,
never before the fork (a descriptor inherited through ``fork`` would share its lock with every
child).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from dashboard import PeriodicThread, private_dir
from dashboard.plugins.breaker.cluster.syncer import TICK_SECONDS, ClusterSyncer

logger = logging.getLogger("dashboard.breaker")


class SyncerSeat:
    """A host-wide seat for one process at a time (an ``flock`` held open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_take(self) -> bool:
        """Take the seat if it is free; True while this process holds it."""
        if self._fd is not None:
            return True
        private_dir(self.path.parent)  # owner-only, whatever the umask
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another worker holds it
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor releases the lock


class SyncerRunner:
    """The per-worker thread: hold the seat, then tick the syncer every ~50 ms."""

    def __init__(self, seat: SyncerSeat, syncer: ClusterSyncer,
                 interval: float = TICK_SECONDS) -> None:
        self.seat = seat
        self.syncer = syncer
        self._thread = PeriodicThread("breaker-cluster", interval, self._round, run_first=True)

    @property
    def running(self) -> bool:
        return self._thread.running

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop(timeout=2)
        if self.seat.held:
            self.syncer.stop()
            self.seat.release()
            self.syncer.link.close()

    def _round(self) -> None:
        if not self.seat.held:
            if not self.seat.try_take():
                return
            logger.info("breaker: this worker (pid %d) syncs the host with the cluster",
                        os.getpid())
        self.syncer.tick()


__all__ = ["SyncerRunner", "SyncerSeat"]
