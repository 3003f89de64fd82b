"""How a decided restart is carried out: the gunicorn master is asked to reload.

Deciding (:mod:`.restarts`) needs the store, the policy and the audit log; acting needs only the
master's pid and a signal (SIGHUP: new workers on the same listening socket, the old ones
finishing their requests), and counts what was done in ``dashboard_worker_restarts_total``.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

from dashboard import MASTER_PID_ENV

logger = logging.getLogger("dashboard.recovery")

#: Asks for the reload; raises ``OSError`` when the master cannot be signalled.
Reloader = Callable[[], None]


def master_pid() -> int | None:
    """The gunicorn master that forked this worker, when it can be asked to reload."""
    value = os.environ.get(MASTER_PID_ENV, "")
    if not value.isdigit():
        return None
    pid = int(value)
    # Only our own parent (or ourselves, in the master): never signal an unrelated process that
    # inherited the variable.
    return pid if pid in (os.getppid(), os.getpid()) else None


def master_reloader() -> Reloader | None:
    """Ask the master for a graceful reload (SIGHUP): new workers, same listening socket."""
    pid = master_pid()
    if pid is None:
        return None
    return lambda: os.kill(pid, signal.SIGHUP)


def signal_master(restart_id: str, reloader: Reloader | None, source: str) -> bool:
    """Ask the master to reload; ``False`` (logged) when it cannot be signalled."""
    assert reloader is not None
    try:
        reloader()
    except OSError as error:
        logger.error("restart %s: cannot signal the master (%s)", restart_id,
                     type(error).__name__)
        return False
    count_restart(source)
    return True


def count_restart(source: str) -> None:
    """``dashboard_worker_restarts_total{source}``; metrics must never break a restart."""
    try:
        from dashboard import series

        series().worker_restarts.labels(source=source).inc()
    except Exception:  # pragma: no cover - defensive
        logger.debug("restart metric not updated", exc_info=True)
