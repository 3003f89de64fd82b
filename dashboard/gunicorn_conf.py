"""gunicorn settings and server hooks, driven by the dashboard config.

Operators who run gunicorn themselves use exactly what ``dashboard serve`` uses::

    DASHBOARD_CONFIG=config/resilience.toml \\
        gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi:app

Importing this module locks ``runtime_dir`` for this master (another live host there, or a
directory that cannot be used, exits with status 2 and one line), reads and validates the config
(an invalid one exits with status 2 and one line per problem), prepares the Prometheus
multiprocess directory before anything can import ``prometheus_client``, and exposes gunicorn's
settings (``bind``, ``workers`` ...) as module attributes. The hooks below fan gunicorn's server
events out to the plugin hooks of a master-side host (master events) or of the worker's own host
(worker events).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from dashboard.config.sources import peek_runtime_dir
from dashboard.context import MASTER_PID_ENV
from dashboard.hooks import calls as hookcalls
from dashboard.hooks.discovery import load_settings_or_exit
from dashboard.logs.setup import choose as choose_logging
from dashboard.metrics.batch import flush_all
from dashboard.metrics.files import retire_process
from dashboard.metrics.series import MULTIPROC_ENV, enable_multiprocess
from dashboard.private_files import write_private
from dashboard.server import handover, sdnotify
from dashboard.server.bind_check import bind_problem
from dashboard.server.reload_guard import guard_reload
from dashboard.server.runtime_lock import RuntimeDirError, hold_runtime_dir
from dashboard.server.sdnotify import MasterNotifier

logger = logging.getLogger("dashboard.server")
_CLEAN_EXIT_DIR = "worker-exits"


def _hold_runtime_dir_or_exit() -> int:
    """The master's lock on ``runtime_dir`` (see :mod:`dashboard.server.runtime_lock`), taken before
    anything is written there; another live host's directory, or one that cannot be used, is
    one line and exit 2."""
    try:
        return hold_runtime_dir(peek_runtime_dir())
    except RuntimeDirError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None


def _prepare_metrics_dir() -> None:
    directory = peek_runtime_dir() / "metrics"
    if os.environ.get(MULTIPROC_ENV) != str(directory):
        enable_multiprocess(directory)


# Kept across ``importlib.reload`` (a SIGHUP re-reads this module): the master locks once.
_runtime_lock: int | None = globals().get("_runtime_lock")
if _runtime_lock is None:
    _runtime_lock = _hold_runtime_dir_or_exit()
_prepare_metrics_dir()
_settings = load_settings_or_exit()
if not globals().get("_bind_checked"):  # once: on a reload the master itself holds the port
    _bind_problem = bind_problem(_settings.server.bind, _settings.source_of("server.bind"))
    if _bind_problem is not None:
        print(_bind_problem, file=sys.stderr)
        raise SystemExit(2)
    _bind_checked = True

bind = _settings.server.bind
workers = _settings.server.workers
threads = _settings.server.threads
worker_class = "dashboard.server.worker.HeadFirstWorker"  # gthread, heads read by the poller
header_timeout = _settings.server.header_timeout  # read by that worker (not a gunicorn setting)
timeout = _settings.server.timeout
graceful_timeout = _settings.server.graceful_timeout
accesslog = "-"
errorlog = "-"
loglevel = _settings.logging.level
logger_class = "dashboard.logs.setup.GunicornLogger"
choose_logging(_settings.logging)  # applied by the logger class on start and on every reload
proc_name = "dashboard"
# One control socket per host (gunicorn >= 25 defaults to a per-user path that two servers share);
# none when the runtime dir is too deep for a unix socket path (108 bytes on Linux).
control_socket = str(Path(_settings.dashboard.runtime_dir).resolve() / "gunicorn.ctl")
control_socket_disable = len(control_socket.encode()) > 100

# Kept across ``importlib.reload`` (a SIGHUP re-reads this module): one master host per master.
_master_host: Any = globals().get("_master_host")
_notifier: MasterNotifier | None = globals().get("_notifier")


def _host_of_master() -> Any:
    global _master_host
    if _master_host is None:
        from dashboard.host import Host

        _master_host = Host(load_settings_or_exit()).configure()
    return _master_host


def _clean_exit_marker(runtime_dir: Path, pid: int) -> Path:
    return Path(runtime_dir) / _CLEAN_EXIT_DIR / str(pid)


def _fan_out(host: Any, hook_name: str, **arguments: Any) -> None:
    """Call a plugin hook from a server hook, one plugin at a time; an error is logged with the
    plugin's name, never raised into gunicorn (an exception in the arbiter's hooks would halt
    the master and close the port)."""
    hookcalls.notify_each(host, hook_name, host=host, **arguments)


def _retire_metrics(pid: int) -> None:
    """Fold the dead worker's counters into the archive so the directory stays bounded."""
    try:
        retire_process(pid)
    except Exception:
        logger.exception("metrics of worker %s could not be archived", pid)


def on_starting(server: Any) -> None:
    global _notifier
    os.environ[MASTER_PID_ENV] = str(os.getpid())
    handover.install(server, peek_runtime_dir())  # old workers retire once the new ones answer
    guard_reload(server)  # SIGHUP with a broken config: logged, nothing reloaded, still serving
    host = _host_of_master()
    for name in (_CLEAN_EXIT_DIR, sdnotify.READY_DIR):
        shutil.rmtree(Path(host.runtime_dir) / name, ignore_errors=True)
    # Before gunicorn's own READY=1 (sent before any worker exists): systemd hears ours only.
    _notifier = sdnotify.MasterNotifier.from_environment(Path(host.runtime_dir))


def when_ready(server: Any) -> None:
    host = _host_of_master()
    if _notifier is not None:
        _notifier.start(server)
    _fan_out(host, "dashboard_logging_configured")
    _fan_out(host, "dashboard_master_ready", master_pid=os.getpid())


def on_reload(server: Any) -> None:
    if _notifier is not None:
        _notifier.reloading(server)
    _fan_out(_host_of_master(), "dashboard_reloaded")


def on_exit(server: Any) -> None:
    if _notifier is not None:
        _notifier.stopping()  # sent already when the stop began; this covers other paths
    host = _host_of_master()
    _fan_out(host, "dashboard_master_exiting")
    host.close()


def _host_served_by(worker: Any) -> Any:
    """The host behind the worker's app: the catcher's (``gunicorn dashboard.wsgi:app``) or,
    under ``dashboard serve``, that of the catcher whose bound ``__call__`` gunicorn calls."""
    app = getattr(worker, "wsgi", None)
    return getattr(getattr(app, "__self__", app), "host", None)


def post_worker_init(worker: Any) -> None:
    host = _host_served_by(worker)
    if host is None:  # not our app: still ready, or a reload would wait for it in vain
        sdnotify.mark_worker_ready(peek_runtime_dir(), os.getpid())
        return
    _fan_out(host, "dashboard_logging_configured")
    _fan_out(host, "dashboard_worker_started", pid=os.getpid())
    sdnotify.mark_worker_ready(host.runtime_dir, os.getpid())  # see dashboard.server.handover


def worker_exit(server: Any, worker: Any) -> None:
    """Runs in a worker that ends through its own exit path; a killed worker never gets here."""
    host = _host_served_by(worker)
    runtime_dir = host.runtime_dir if host is not None else peek_runtime_dir()
    write_private(_clean_exit_marker(runtime_dir, worker.pid))
    flush_all()  # buffered request observations reach the files before the master archives them
    if host is not None:
        host.close()  # plugins stop their threads (dashboard_host_closing); never raises


def child_exit(server: Any, worker: Any) -> None:
    """A worker was reaped: ``exitcode`` 0 if it exited cleanly, ``None`` if it died (crash)."""
    host = _host_of_master()
    marker = _clean_exit_marker(host.runtime_dir, worker.pid)
    clean = marker.exists()
    marker.unlink(missing_ok=True)
    sdnotify.forget_worker(host.runtime_dir, worker.pid)
    _retire_metrics(worker.pid)
    _fan_out(host, "dashboard_worker_exited", pid=worker.pid, exitcode=0 if clean else None)
