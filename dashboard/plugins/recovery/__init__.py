"""The ``recovery`` plugin: graceful reloads, watchdog, restart-churn policy and the admin API.

Hooks only; the parts live in their own modules: :mod:`.store` (shared history and heartbeats),
:mod:`.policy` (allowed / cooling_down / blocked), :mod:`.restarts` (decide, record, act, audit),
:mod:`.audit`, :mod:`.admin` (the ``/admin/api`` middleware), :mod:`.heartbeat` (workers),
:mod:`.lifecycle` and :mod:`.watchdog` (the gunicorn master).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from dashboard import (
    ERROR_CODES,
    CheckResult,
    ErrorCode,
    hookimpl,
    plain_number,
    register_error_code,
)
from dashboard.plugins.recovery.admin import AdminApi
from dashboard.plugins.recovery.authguard import RATE_LIMITED
from dashboard.plugins.recovery.settings import RecoverySettings
from dashboard.plugins.recovery.state import RECOVERY, SECTION, recovery_of
from dashboard.plugins.recovery.watchdog import Watchdog

if TYPE_CHECKING:
    from dashboard import Host, WSGIApp

STORE_UNAVAILABLE = "restart_store_unavailable"
HISTORY_UNAVAILABLE = ErrorCode(
    "RESTART_HISTORY_UNAVAILABLE", 503, True,
    "The restart history store does not answer; retry later, or restart with override and "
    "acknowledge.")
logger = logging.getLogger("dashboard.recovery")


@contextmanager
def never_into_gunicorn(what: str) -> Iterator[None]:
    """Server hooks run inside gunicorn's arbiter and worker start-up: an exception there halts
    the whole server. Recovery bookkeeping is worth a log line, never an outage."""
    try:
        yield
    except SQLAlchemyError as error:  # the store is down: one line, no driver text (§14)
        logger.warning("recovery: %s failed (restart store: %s); serving continues", what,
                       type(error).__name__)
        logger.debug("recovery: %s failed", what, exc_info=True)
    except Exception:
        logger.exception("recovery: %s failed; serving continues", what)


@hookimpl
def dashboard_settings_model() -> tuple[str, type[RecoverySettings]]:
    return SECTION, RecoverySettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    if HISTORY_UNAVAILABLE.code not in ERROR_CODES:
        register_error_code(HISTORY_UNAVAILABLE)
    if RATE_LIMITED.code not in ERROR_CODES:
        register_error_code(RATE_LIMITED)
    recovery_of(host)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    return AdminApi(app, host, recovery_of(host))


@hookimpl
def dashboard_host_closing(host: Host) -> None:
    """Stop the heartbeat and watchdog threads and release the store's connections."""
    recovery = host.find_state(RECOVERY)
    if recovery is not None:
        recovery.close()


@hookimpl
def dashboard_restart_policy(host: Host) -> dict[str, Any] | None:
    """The policy as last read in the background (never waits on the store, §9.4)."""
    verdict = recovery_of(host).verdict()
    return {"policy": verdict.payload(), "restart_churn": verdict.churn.payload()}


@hookimpl
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    settings = recovery_of(host).settings
    return {
        "restart_churn_window_seconds": plain_number(settings.churn_window_seconds),
        "restart_churn_threshold": settings.churn_threshold,
        "restart_cooldown_seconds": plain_number(settings.cooldown_seconds),
        "auto_recover_after_seconds": plain_number(settings.auto_recover_after_seconds),
    }


@hookimpl
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    """Nothing while the store answers (health reports churn from ``dashboard_restart_policy``);
    ``restart_store`` as a warning while the policy is ``unknown``. Never a failure: the restart
    history must not pull a serving worker out of the load balancer."""
    recovery = recovery_of(host)
    verdict = recovery.verdict()
    # A worker whose first read is still under way is not an outage: warn only on failures.
    if verdict.state != "unknown" or not recovery.contact.failing:
        return []
    return [CheckResult("restart_store", "warn",
                        {"reachable": False, "age_seconds": verdict.payload()["age_seconds"]},
                        STORE_UNAVAILABLE)]


@hookimpl
def dashboard_worker_started(host: Host, pid: int) -> None:
    """Start this worker's heartbeats and history refresher (threads; nothing here waits on the
    store for longer than ``store_timeout_ms``)."""
    with never_into_gunicorn("starting heartbeats and the history refresher"):
        recovery_of(host).start_worker_threads(pid)


@hookimpl
def dashboard_master_ready(host: Host, master_pid: int) -> None:
    """Start the watchdog in the master (see :mod:`.watchdog` for why it lives there)."""
    recovery = recovery_of(host)
    settings = recovery.settings

    def reload_master() -> None:
        os.kill(os.getpid(), signal.SIGHUP)

    watchdog = Watchdog(recovery.restarts, recovery.live_workers, host.clock,
                        settings.auto_recover_after_seconds, settings.watchdog_interval_seconds,
                        reload_master, recovery.contact)
    watchdog.start()
    recovery.watchdog = watchdog
    # No store call here: a silent store must not delay the first workers. Stale heartbeats
    # are purged by each worker's refresher at its first answer (Recovery.start_worker_threads).
    logger.info("recovery watchdog started in master %s", master_pid)


@hookimpl
def dashboard_worker_exited(host: Host, pid: int, exitcode: int | None) -> None:
    with never_into_gunicorn(f"recording the exit of worker {pid}"):
        recovery_of(host).exits.exited(pid, exitcode)


@hookimpl
def dashboard_reloaded(host: Host) -> None:
    with never_into_gunicorn("retiring workers on reload"):
        recovery_of(host).exits.reloading()


@hookimpl
def dashboard_master_exiting(host: Host) -> None:
    with never_into_gunicorn("stopping the watchdog"):
        recovery = recovery_of(host)
        recovery.exits.shutting_down()
        if recovery.watchdog is not None:
            recovery.watchdog.stop()
