"""The plugin contract: every hook the host calls, when it calls it, and how results combine.

A plugin is a module (or object) with functions marked ``@dashboard.hookimpl`` whose names match
the specs below. It is found through the ``dashboard.plugins`` entry-point group and is loaded only
when its name is listed in ``[dashboard].plugins``.

Order rules
-----------
* The operator's TOML decides order, never registration order or ``tryfirst``/``trylast``.
  ``dashboard_wrap_wsgi`` is called once per plugin, in reverse TOML order, so the first plugin
  listed ends up outermost.
* Collecting hooks return their results in TOML order (first listed first), whatever order pluggy
  would use; the host re-sorts them.
* ``firstresult`` hooks (``dashboard_map_exception``, ``dashboard_restart_policy``) are asked in
  TOML order too: the first plugin listed that answers wins.

Every hook receives keyword arguments; an implementation may accept any subset of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard import hookspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel
    from werkzeug.wrappers import Response

    from dashboard.checks import CheckResult, Recommendation
    from dashboard.dbfaults import DbOutcome
    from dashboard.host import Host
    from dashboard.types import WSGIApp


@hookspec
def dashboard_settings_model() -> tuple[str, type[BaseModel]]:
    """Name the ``[plugins.<section>]`` table this plugin owns and the pydantic model validating it.

    Called while the configuration is loaded, for every *installed* plugin (enabled or not), so an
    operator's table is checked even while its plugin is switched off. The model should forbid
    unknown keys and give every field a default. The validated instance is then available as
    ``host.plugin_settings(section)``.
    """


@hookspec
def dashboard_configure(host: Host) -> None:
    """Prepare the plugin for this host, once per process, before the pipeline is built.

    Read typed settings, create state objects, attach listeners. Raising aborts the start with the
    exception's message; use it for problems the settings model could not see.
    """


@hookspec
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    """Return ``app`` wrapped in this plugin's middleware (or ``app`` itself to add nothing).

    Called once per enabled plugin, last-listed first, so the first plugin in
    ``[dashboard].plugins`` is the outermost layer. Wrappers see HTTP responses, not exceptions:
    the host's innermost layer has already turned the app's exceptions into contract responses.
    A wrapper must stream (never buffer bodies) and must pass ``close()`` through.
    """


@hookspec(firstresult=True)
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any], host: Host
                            ) -> Response | None:
    """Turn an exception raised by the app into a contract response, or return ``None``.

    Called by the host's innermost layer for every exception the app raises (also while a body
    streams, when headers have not been sent yet). The first plugin in TOML order that returns a
    response wins; when none does, the host answers ``INTERNAL_ERROR`` (or ``DB_QUERY_ERROR`` for
    database errors). Build responses with :mod:`dashboard.contract`.
    """


@hookspec
def dashboard_db_checkout(host: Host) -> None:
    """Gate a database access made while this host serves a request; raise to refuse it.

    Called when a pooled connection is handed out and before a new connection is opened, for the
    host's engine and for any engine the app created itself. A plugin that raises (for example the
    circuit breaker while OPEN) stops the access before a new connection touches the network; the
    exception then travels to ``dashboard_map_exception``.
    """


@hookspec
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    """Observe the outcome of one database call made while this host serves a request.

    ``outcome.fault`` is ``None`` for a statement that completed, else the classified fault (see
    :mod:`dashboard.dbfaults`). Called for statements, connection attempts and pool timeouts. Must
    be cheap and must not raise.
    """


@hookspec
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    """Contribute named checks to ``/health`` (``deep=False``) and ``/health/deep``.

    A check that needs the database must only run when ``deep`` is true. A check may raise: the
    health plugin reports it as ``fail`` with the exception's class name.
    """


@hookspec
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    """Contribute the thresholds this plugin owns, merged into ``resilience.thresholds``."""


@hookspec
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    """Vote for ``observe``, ``throttle`` or ``recover`` given the current checks.

    The strongest vote wins (recover > throttle > observe); ties keep TOML order.
    """


@hookspec(firstresult=True)
def dashboard_restart_policy(host: Host) -> dict[str, Any] | None:
    """Report the restart policy as ``{"policy": {...}, "restart_churn": {...}}`` (CONTRACT §4).

    Implemented by the recovery plugin; when no enabled plugin answers, health reports ``null``.
    """


@hookspec
def dashboard_master_ready(host: Host, master_pid: int) -> None:
    """The gunicorn master is listening (gunicorn's ``when_ready``). Called in the master."""


@hookspec
def dashboard_master_exiting(host: Host) -> None:
    """The gunicorn master is about to exit (gunicorn's ``on_exit``). Called in the master."""


@hookspec
def dashboard_worker_started(host: Host, pid: int) -> None:
    """A worker finished loading the app (gunicorn's ``post_worker_init``). Called in the worker."""


@hookspec
def dashboard_worker_exited(host: Host, pid: int, exitcode: int | None) -> None:
    """A worker process ended (gunicorn's ``child_exit``). Called in the master.

    ``exitcode`` is ``None`` when gunicorn did not report one. A worker that was not asked to stop
    and ends with a non-zero code (or a signal) crashed.
    """


@hookspec
def dashboard_reloaded(host: Host) -> None:
    """The master reloaded its workers (gunicorn's ``on_reload``, e.g. after SIGHUP)."""


@hookspec
def dashboard_logging_configured(host: Host) -> None:
    """Logging is set up (the host's, gunicorn's, and the app's); install log filters now.

    Called in every process after logging is configured. Plugins that guard log output attach
    themselves here to every existing handler and arrange to see handlers added later.
    """
