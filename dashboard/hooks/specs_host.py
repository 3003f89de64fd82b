"""Hooks of a host's life and its request pipeline: settings, configure, the engine, closing,
wrapping the app and mapping its exceptions.

One module per concern so each stays readable; :mod:`dashboard.hooks.specs` assembles them (and
says the order rules they all follow), and pluggy reads that module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard import hookspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from dashboard.types import Host, WSGIApp


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
    says so with ``path_prefixes`` (see :mod:`dashboard.pipeline.pathscope`), and is passed by for
    every other path while it is at the top of the pipeline. Collecting, but each call sees one
    plugin.
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
