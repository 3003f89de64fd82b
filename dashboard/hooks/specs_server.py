"""Hooks of the gunicorn server's life: master ready and exiting, workers started and exited,
reloads, and logging configured.

The host calls them from gunicorn's server hooks, one plugin at a time (one that raises is logged
and the others still run); the order rules are in :mod:`dashboard.hooks.specs`, which assembles
this module with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import hookspec

if TYPE_CHECKING:
    from dashboard.types import Host


@hookspec
def dashboard_master_ready(host: Host, master_pid: int) -> None:
    """The gunicorn master is listening (gunicorn's ``when_ready``).

    Called once in the master process, before workers serve; ``host`` is the master's host,
    ``master_pid`` its pid. Return value ignored (collecting).
    """


@hookspec
def dashboard_master_exiting(host: Host) -> None:
    """The gunicorn master is about to exit (gunicorn's ``on_exit``).

    Called once in the master process after the workers stopped; ``host`` is the master's host.
    Release what ``dashboard_master_ready`` acquired. Return value ignored (collecting).
    """


@hookspec
def dashboard_worker_started(host: Host, pid: int) -> None:
    """A worker finished loading the app (gunicorn's ``post_worker_init``).

    Called in the new worker process, after its pipeline is built and before it serves;
    ``host`` is the worker's host, ``pid`` the worker's pid. Return value ignored (collecting).
    """


@hookspec
def dashboard_worker_exited(host: Host, pid: int, exitcode: int | None) -> None:
    """A worker process ended (gunicorn's ``child_exit``).

    Called in the master process; ``host`` is the master's host, ``pid`` the ended worker's pid.
    ``exitcode`` is ``0`` when the worker left through its own exit path (gunicorn's
    ``worker_exit`` ran in it: a graceful stop or reload), ``None`` when it died without one
    (killed by a signal such as SIGKILL or the OOM killer, or aborted after a timeout): gunicorn
    passes no exit status to ``child_exit``. A worker the master did not retire that ends with
    ``None`` crashed. Return value ignored (collecting).
    """


@hookspec
def dashboard_reloaded(host: Host) -> None:
    """The master reloaded its workers (gunicorn's ``on_reload``, e.g. after SIGHUP).

    Called in the master process; ``host`` is the master's host. New workers follow, each
    calling ``dashboard_worker_started``. Return value ignored (collecting).
    """


@hookspec
def dashboard_logging_configured(host: Host) -> None:
    """Logging is set up (the host's, gunicorn's, and the app's); install log filters now.

    Called in every process (master and each worker) after logging is configured; ``host`` is
    that process's host. Plugins that guard log output attach themselves here to every
    existing handler and arrange to see handlers added later. Return value ignored (collecting).
    """
