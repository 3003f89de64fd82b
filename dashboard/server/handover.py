"""Reload without a gap: the old workers serve until the new ones answer, then they retire.

gunicorn's reload (``SIGHUP``; our admin API, watchdog and ``systemctl reload`` all end there)
spawns the new workers and, in the same breath, sends ``SIGTERM`` to the old ones. The new ones
still import and build the app for a while, so for that while the listening socket has nobody
accepting on it: under load a ``/livez`` waited most of a second.

:func:`install` (called from ``on_starting``, so ``dashboard serve`` and an operator's own
``gunicorn -c python:dashboard.gunicorn_conf`` both get it) changes three of the arbiter's methods
on that one arbiter object:

* ``reload`` notes the workers it has now (the old generation) before gunicorn's own reload runs;
* ``manage_workers`` does not stop surplus workers while a handover is pending (gunicorn's would
  stop the old ones right after the spawn);
* ``reap_workers`` (which gunicorn's reload calls every 0.1 s while it waits, and the main loop on
  every ``SIGCHLD``) and ``manage_workers`` (every turn of the main loop) check the handover.

A new worker is ready when its marker exists in ``runtime_dir/worker-ready`` (written in
``post_worker_init``, after the app is loaded, just before its accept loop starts). Once as many
new workers are ready as gunicorn wants, every old one gets ``SIGTERM`` and finishes what it is
serving (``graceful_timeout``). If they are not ready within ``[server].timeout`` seconds, or one
of them fails to boot, the new ones are stopped and the old ones keep serving; that is one ERROR
line, and the next reload tries again.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.errors import HaltServer

from dashboard.server.sdnotify import ready_marker

_INSTALLED = "_dashboard_handover"


class Handover:
    """The pending handover of one arbiter, if any (the arbiter's loop is single-threaded)."""

    def __init__(self, arbiter: Any, runtime_dir: Path, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.arbiter = arbiter
        self.runtime_dir = Path(runtime_dir)
        self.clock = clock
        self.old: set[int] | None = None  # the generation to retire once the new one answers
        self.deadline = 0.0
        self.doomed: set[int] = set()  # new workers stopped after a failed handover

    @property
    def pending(self) -> bool:
        return self.old is not None

    @property
    def holding(self) -> bool:
        """Surplus workers must not be stopped by gunicorn's rule (oldest first) now."""
        if self.doomed:
            self.doomed &= set(self.arbiter.WORKERS)
        return self.pending or bool(self.doomed)

    def begin(self) -> None:
        """A reload starts: every worker the arbiter has now belongs to the old generation."""
        self.old = set(self.arbiter.WORKERS) | (self.old or set())
        self.deadline = self.clock() + float(self.arbiter.cfg.timeout)

    def check(self) -> None:
        """Retire the old generation once enough new workers are ready; give up at the bound."""
        old = self.old
        if old is None:
            return
        arbiter = self.arbiter
        fresh = [pid for pid in list(arbiter.WORKERS) if pid not in old]
        ready = [pid for pid in fresh if ready_marker(self.runtime_dir, pid).exists()]
        if len(ready) >= max(1, arbiter.num_workers):
            retiring = sorted(old & set(arbiter.WORKERS))
            self.old = None
            arbiter.log.info("reload: %d new worker(s) ready %s; retiring the old ones %s",
                             len(ready), sorted(ready), retiring)
            for pid in retiring:
                arbiter.kill_worker(pid, signal.SIGTERM)
        elif self.clock() >= self.deadline:
            self.abandon(f"new workers not ready after {arbiter.cfg.timeout}s "
                         f"({len(ready)} of {arbiter.num_workers} ready)")

    def abandon(self, why: str) -> None:
        """Stop the new generation; the old one keeps serving."""
        old = self.old or set()
        self.old = None
        fresh = [pid for pid in list(self.arbiter.WORKERS) if pid not in old]
        self.doomed = set(fresh)
        self.arbiter.log.error("reload abandoned: %s; the old workers %s keep serving and the new "
                               "ones %s are stopped", why, sorted(old), sorted(fresh))
        for pid in fresh:
            # Not ready means still loading the app: nothing accepted yet, nothing to finish.
            ready = ready_marker(self.runtime_dir, pid).exists()
            self.arbiter.kill_worker(pid, signal.SIGTERM if ready else signal.SIGKILL)


def install(arbiter: Any, runtime_dir: Path) -> Handover:
    """Make this arbiter's reloads gap-free (idempotent: on_starting runs again on a re-exec)."""
    existing: Handover | None = getattr(arbiter, _INSTALLED, None)
    if existing is not None:
        return existing
    handover = Handover(arbiter, runtime_dir)
    reload, manage_workers, reap_workers = (arbiter.reload, arbiter.manage_workers,
                                            arbiter.reap_workers)

    def gap_free_reload() -> None:
        handover.begin()
        reload()

    def managed_workers() -> None:
        handover.check()
        if handover.holding:
            if len(arbiter.WORKERS) < arbiter.num_workers:
                arbiter.spawn_workers()  # a worker died meanwhile: still keep the count
            return
        manage_workers()

    def reaped_workers() -> None:
        try:
            reap_workers()
        except HaltServer as halt:
            if not handover.pending:
                raise
            # A new worker could not boot or load the app: gunicorn would stop the master.
            handover.abandon(f"a new worker failed to boot ({halt.reason})")
        handover.check()

    arbiter.reload = gap_free_reload
    arbiter.manage_workers = managed_workers
    arbiter.reap_workers = reaped_workers
    setattr(arbiter, _INSTALLED, handover)
    return handover
