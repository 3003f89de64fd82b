"""The plugin contract: every hook the host calls, when it calls it, and how results combine.

A plugin is a module (or object) with functions marked ``@dashboard.hookimpl`` whose names match
the specs below. It is found through the ``dashboard.plugins`` entry-point group and is loaded only
when its name is listed in ``[dashboard].plugins``; a plugin that is installed but not listed is
asked for its settings model (so its table is validated) and for nothing else.

Order rules
-----------
* The operator's TOML decides order, never registration order or ``tryfirst``/``trylast``: the
  host refuses a plugin whose hookimpl asks for ``tryfirst``/``trylast`` (``PluginOrderError``).
  The host registers plugins in reverse TOML order, so pluggy (which calls the last registered
  first) calls them in TOML order.
* ``dashboard_wrap_wsgi`` is called once per plugin, last-listed first, so the first plugin
  listed ends up outermost.
* Collecting hooks (every hook not marked *firstresult*) return a list with one entry per
  plugin that implements the hook and did not return ``None``, in TOML order (first listed
  first).
* *firstresult* hooks (``dashboard_map_exception``, ``dashboard_restart_policy``,
  ``dashboard_breaker_control``) are asked in
  TOML order too: the first plugin listed that returns something other than ``None`` wins and
  the rest are not called.

Every hook is called with keyword arguments; an implementation may accept any subset of them (a
hookimpl that takes only ``host`` is fine). Where one plugin's failure must not cost the others
their say (gunicorn server hooks, health gathering, observers), the host calls implementations
one plugin at a time through :mod:`dashboard.hooks.calls` and logs a failure with the plugin's
name. Set ``DASHBOARD_TRACE_HOOKS=1`` to log every hook call, its arguments and its result to the
``dashboard.hooks`` logger.

``host`` is always a :class:`dashboard.types.Host`: typed settings through
``host.plugin_settings(section, Model)``, per-host state through ``host.state(KEY, create)`` with a
``dashboard.types.StateKey``, the engine, the clock and the runtime directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard import hookspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from dashboard.checks import CheckResult, Recommendation
    from dashboard.types import DbOutcome, Host, WSGIApp


@hookspec
def dashboard_settings_model() -> tuple[str, type[BaseModel]]:
    """Name the ``[plugins.<section>]`` table this plugin owns and the pydantic model validating it.

    Called while the configuration is loaded (``dashboard check``, ``serve``, every worker), for
    every *installed* plugin, enabled or not, outside any host, so an operator's table is checked
    even while its plugin is switched off. Takes no arguments. Returns ``(section, model)``;
    ``section`` must equal the plugin's entry-point name. The model should forbid unknown keys
    (``extra="forbid"``) and give every field a default; its validation errors become
    ``dashboard check`` lines naming ``plugins.<section>.<key>`` and the value's source. The
    validated instance is then available as ``host.plugin_settings(section, Model)``. Collecting; a
    plugin with no settings does not implement it (its table must then be empty).
    """


@hookspec
def dashboard_configure(host: Host) -> None:
    """Prepare the plugin for this host, once per process, before the pipeline is built.

    Called once per host (the gunicorn master builds one, each worker another; tests build many),
    in TOML order, before any ``dashboard_wrap_wsgi``. ``host`` gives the validated settings
    (``host.plugin_settings(section, Model)``), the runtime directory and the clock. Read typed
    settings, create state objects (``host.state(KEY, create)``), install process-wide listeners,
    register error codes (``dashboard.contract.register_error_code``). Keep state on the host,
    never in module globals: one process may hold several hosts. Do not touch ``host.engine``
    here (use ``dashboard_engine_created``). Raising aborts the start with the exception's
    message; use it for problems the settings model could not see. Return value ignored
    (collecting).
    """


@hookspec
def dashboard_engine_created(host: Host, engine: Engine) -> None:
    """The host built its engine from ``[database]``: attach to the engine or its pool now.

    Called once per host, in the process that first uses ``host.engine`` (each worker, when its
    app factory or pipeline needs the engine), in TOML order, right after the engine is built
    and before any connection is made. ``host`` is the host, ``engine`` its SQLAlchemy
    ``Engine`` (the one whose pool the contract governs). Gate the pool, bind pre-ping timeouts,
    track pool gauges here; ``dashboard_wrap_wsgi`` only wraps. Raising aborts the build.
    Return value ignored (collecting).
    """


@hookspec
def dashboard_host_closing(host: Host) -> None:
    """The host is closing (``Host.close()``: worker exit, end of a test): release what you hold.

    Called once per host, in TOML order, before the host disposes its engine; ``host`` is the
    host closing (its settings and state still readable). Stop threads,
    dispose pools of your own, close files. Each plugin is called separately; one that raises is
    logged with its name and the others still run. Return value ignored (collecting).
    """


@hookspec
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    """Return ``app`` wrapped in this plugin's middleware (or ``app`` itself to add nothing).

    Called once per enabled plugin when a worker builds its pipeline, last-listed first, so the
    first plugin in ``[dashboard].plugins`` is the outermost layer. ``app`` is the pipeline built
    so far (everything inside this plugin); ``host`` the host being built. Returns the WSGI app to
    use in its place. Wrappers see HTTP responses, not exceptions: the host's innermost layer
    has already turned the app's exceptions into contract responses. A wrapper must stream (never
    buffer bodies) and must pass ``close()`` through. A wrapper that acts on a few paths only
    says so with ``path_prefixes`` (see :mod:`dashboard.pipeline.pathscope`), and is passed by for every
    other path while it is at the top of the pipeline. Collecting, but each call sees one plugin.
    """


@hookspec(firstresult=True)
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any], host: Host
                            ) -> WSGIApp | None:
    """Turn an exception raised by the app into a contract response, or return ``None``.

    Called by the host's innermost layer, in the worker serving the request, for every exception
    the app raises (also while a body streams, as long as headers have not been sent). ``exc`` is
    the exception, ``environ`` the request's WSGI environ, ``host`` the serving host.
    firstresult: the first plugin in TOML order that returns a response wins; when none does, the
    host answers ``INTERNAL_ERROR`` (or ``DB_QUERY_ERROR`` for database errors). Build responses
    with :mod:`dashboard.contract` (``error_response``, or ``prepared_error`` on hot paths):
    any WSGI app answering the envelope will do.
    """


@hookspec
def dashboard_db_checkout(host: Host) -> None:
    """Gate a database access made while this host serves a request; raise to refuse it.

    Called in the worker (through :func:`dashboard.hooks.calls.gate`: the first plugin that raises
    stops the access, by design) when a pooled connection is handed out and before a new
    connection is opened, for the host's engine and for any engine the app created itself (not
    for engines excluded with ``dashboard.db.engine.exclude_from_observation``, such as health probes).
    ``host`` is the host serving the request. A plugin that raises (for example the circuit
    breaker while OPEN) stops the access before a new connection touches the network; the
    exception then travels to ``dashboard_map_exception``. Return value ignored (collecting).
    """


@hookspec
def dashboard_db_connect_attempt(host: Host) -> None:
    """A *new* database connection is about to be opened (not a pooled checkout); may wait.

    Called in the worker from SQLAlchemy's ``do_connect`` (through
    :func:`dashboard.hooks.calls.gate`), in the thread that connects, right after
    ``dashboard_db_checkout`` let the access through, for the same engines. ``host`` is the host
    serving the request. The attempt ends in that thread with the next ``dashboard_db_checkout``
    (the pool hands the new connection out) or ``dashboard_db_outcome`` (it failed). For
    bounding connection attempts (the breaker's host-wide reservations may block here until one
    is free); raise to refuse, the exception then travels to ``dashboard_map_exception``.
    Return value ignored (collecting).
    """


@hookspec
def dashboard_db_statement_started(host: Host) -> None:
    """A statement is about to be sent, on a connection serving this host's request.

    Called in the worker from SQLAlchemy's ``before_cursor_execute``, in the thread that runs the
    statement, for the same engines as ``dashboard_db_checkout``; its end is the next
    ``dashboard_db_outcome`` in that thread. ``host`` is the host serving the request. For seeing
    a call while it still runs (the breaker's slow calls). Must be cheap and must not raise.
    Return value ignored (collecting).
    """


@hookspec
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    """Observe the outcome of one database call made while this host serves a request.

    Called in the worker after every statement, failed connection attempt and pool timeout
    (the pool timeout from the host's exception layer, since SQLAlchemy fires no event for it).
    ``host`` is the serving host; ``outcome.fault`` is ``None`` for a statement that completed,
    else the classified fault (see :mod:`dashboard.db.faults`), with ``outcome.error`` the
    exception. Must be cheap; each plugin is called separately and one that raises is logged,
    never raised into the driver. Return value ignored (collecting).
    """


@hookspec
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    """Contribute named checks to ``/health`` (``deep=False``) and ``/health/deep``.

    Called by the health plugin whenever it computes a payload (not for memoized answers), in
    the worker answering. ``host`` is that worker's host; ``deep`` says whether a database round
    trip is allowed: a check that needs the database must only run when ``deep`` is true.
    Returns a list of :class:`dashboard.checks.CheckResult` (collecting: one list per plugin, in
    TOML order). A check may raise: the health plugin reports it as ``fail`` with the
    exception's class name. A ``CheckResult.degraded_reason`` names why the host is degraded.
    """


@hookspec
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    """Contribute the thresholds this plugin owns, merged into ``resilience.thresholds``.

    Called by the health plugin with each computed payload; ``host`` is the answering worker's
    host. Returns a flat ``{name: number}`` dict (collecting; merged in TOML order, a later
    plugin's key replacing an earlier one's).
    """


@hookspec
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    """Vote for ``observe``, ``throttle`` or ``recover`` given the current checks.

    Called by the health plugin with each computed payload (and by the recovery watchdog).
    ``host`` is the current host, ``checks`` the checks just computed, by name. Returns a
    :class:`dashboard.checks.Recommendation` or ``None`` to abstain (collecting). The strongest
    vote wins (recover > throttle > observe); ties keep TOML order.
    """


@hookspec(firstresult=True)
def dashboard_restart_policy(host: Host) -> dict[str, Any] | None:
    """Report the restart policy as ``{"policy": {...}, "restart_churn": {...}}``
    (docs/api/health.md).

    Called by the health plugin with each computed payload (and by any plugin reporting the
    policy); ``host`` is the current host. firstresult: the first plugin in TOML order that
    answers wins. Implemented by the recovery plugin; when no enabled plugin answers, health
    reports ``null``.
    """


@hookspec(firstresult=True)
def dashboard_breaker_control(host: Host, action: str, duration_seconds: int | None,
                              reason: str) -> dict[str, Any] | None:
    """Apply an operator override to the circuit breaker (docs/api/admin.md); ``None`` if none runs.

    Called by the recovery plugin's admin API (``POST /admin/api/breaker``) in the worker that
    answers, after authentication and validation, through :func:`dashboard.hooks.calls.first_answer`.
    ``host`` is that worker's host; ``action`` is ``"force_open"``, ``"disable"`` or ``"reset"``;
    ``duration_seconds`` the override's length (1..86400; ``None`` for ``reset``); ``reason``
    the operator's reason, already masked for secrets. The override applies to the breaker's
    whole scope and ends by itself. firstresult: the first plugin in TOML order that answers
    wins. Returns ``{"action", "scope", "forced", "expires_at", "seconds_left"}`` (``forced``
    ``None`` | ``"open"`` | ``"disabled"``; ``expires_at`` an RFC 3339 UTC string or ``None``),
    or ``None`` when no breaker is configured for ``host`` (the admin API then answers 404).
    """


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
