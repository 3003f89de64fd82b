"""The host: settings, engine, one plugin manager, runtime directory; builds the WSGI pipeline.

A host is built once per process (the gunicorn master builds one for the server hooks, each worker
one for serving). Only the plugins listed in ``[dashboard].plugins`` are registered, and their
order there is the order of everything: wrappers (first listed is outermost), collected hook
results, and ``firstresult`` answers.

Lifecycle, as plugins see it: ``dashboard_configure`` (once, :meth:`Host.configure`), then
``dashboard_engine_created`` when ``host.engine`` is first used, ``dashboard_wrap_wsgi`` per plugin
when the pipeline is built, and ``dashboard_host_closing`` from :meth:`Host.close`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, overload

import pluggy
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from dashboard import PROJECT_NAME
from dashboard.clock import Clock, SystemClock
from dashboard.config.sections import Settings
from dashboard.db import adopt
from dashboard.db.engine import (
    NoHostDatabase,
    build_engine,
    host_database_url,
    install_event_fanout,
)
from dashboard.db.metrics import instrument_engine
from dashboard.hooks import calls as hookcalls
from dashboard.hooks import specs as hookspecs
from dashboard.hooks.calls import hook_logger
from dashboard.hooks.discovery import load_plugin, make_app, resolve_factory
from dashboard.pipeline.catcher import LastResortCatcher
from dashboard.pipeline.direct import direct_call
from dashboard.pipeline.mapper import ExceptionMapper
from dashboard.pipeline.observe import RequestMeter
from dashboard.pipeline.pathscope import ScopedRun
from dashboard.private_files import private_dir
from dashboard.types import StateKey, WSGIApp

TRACE_ENV = "DASHBOARD_TRACE_HOOKS"
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class PluginOrderError(Exception):
    """A plugin asked pluggy to reorder it; only ``[dashboard].plugins`` may decide order."""


class Host:
    """Everything a plugin or an app factory needs from the running dashboard."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 plugins: dict[str, Any] | None = None) -> None:
        """``plugins`` maps names to already-loaded plugin objects (tests); others are loaded
        from the ``dashboard.plugins`` entry points."""
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.plugin_names: list[str] = list(settings.dashboard.plugins)
        self.runtime_dir = Path(settings.dashboard.runtime_dir)
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        given = plugins or {}
        # pluggy calls the last registered first, so registering in reverse gives TOML order.
        for name in reversed(self.plugin_names):
            plugin = given[name] if name in given else load_plugin(name)
            self.pm.register(plugin, name=name)
            _refuse_reordering(self.pm, name)
        self.tracing = os.environ.get(TRACE_ENV, "") not in ("", "0")
        if self.tracing:
            _make_trace_visible()
            self.pm.trace.root.setwriter(lambda message: hook_logger.info(message.rstrip()))
            self.pm.enable_tracing()  # pluggy's hook-call monitoring: every call, once
        self._configured = False
        self._closed = False
        self._states: dict[StateKey[Any], Any] = {}
        self._states_lock = threading.Lock()

    @property
    def hook(self) -> Any:
        """The hook relay: ``host.hook.dashboard_<name>(**kwargs)``; results come in TOML order."""
        return self.pm.hook

    @property
    def testing(self) -> bool:
        return self.settings.testing

    @overload
    def plugin_settings(self, section: str) -> BaseModel: ...

    @overload
    def plugin_settings(self, section: str, model: type[M]) -> M: ...

    def plugin_settings(self, section: str, model: type[Any] | None = None) -> Any:
        """The validated ``[plugins.<section>]`` table, checked to be a ``model`` when given.

        Raises ``TypeError`` naming both types when the table was validated by another model
        (a plugin asking for a section that is not its own), ``KeyError`` for an unknown section.
        """
        settings = self.settings.plugin(section)
        if model is not None and not isinstance(settings, model):
            raise TypeError(f"[plugins.{section}] holds {type(settings).__name__}, "
                            f"not {model.__name__}")
        return settings

    def state(self, key: StateKey[T], create: Callable[[], T]) -> T:
        """This host's value under ``key``, made by ``create()`` on first use (thread-safe).

        Plugins are usually modules, shared by every host of the process (tests build many);
        what belongs to one host lives here and goes away with it.
        """
        found = self._states.get(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        with self._states_lock:
            if key not in self._states:
                self._states[key] = create()
            return self._states[key]  # type: ignore[no-any-return]

    def find_state(self, key: StateKey[T]) -> T | None:
        """This host's value under ``key``, or ``None`` when nothing made it yet."""
        return self._states.get(key)

    @property
    def database_url(self) -> str | None:
        """The URL of the host's own engine, ``None`` when it builds none (``[database].url``
        unset for an app other than the demo)."""
        return host_database_url(self.settings.database, self.settings.dashboard.app_factory)

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine built from ``[database]``: the one the contract governs.

        Built on first use; ``dashboard_engine_created`` lets plugins attach to it before any
        connection is made. Raises :class:`NoHostDatabase` when :attr:`database_url` is
        ``None``: the host then has no engine of its own (the app's are adopted).
        """
        url = self.database_url
        if url is None:
            raise NoHostDatabase("[database].url is not set: the host builds no engine of its "
                                 "own (set it for an app that uses host.engine, as the demo "
                                 f"app {self.settings.dashboard.app_factory!r} would)")
        install_event_fanout()
        database = self.settings.database.model_copy(update={"url": url})
        engine = instrument_engine(build_engine(database))  # §14 histograms
        for name in self.plugin_names:
            hookcalls.call_plugin(self, name, "dashboard_engine_created", host=self, engine=engine)
        return engine

    def configure(self) -> Host:
        """Let every plugin prepare (``dashboard_configure``); idempotent."""
        if not self._configured:
            install_event_fanout()
            private_dir(self.runtime_dir)  # owner-only, whatever the umask
            self.hook.dashboard_configure(host=self)
            self._configured = True
        return self

    def build_app(self, *, adopt_existing: bool = False) -> WSGIApp:
        """The frozen pipeline: catcher, plugin wrappers (TOML order), mapper, the app.

        Every engine the app creates from here on is adopted at its first connection in a
        request (``[database] adopt``); ``adopt_existing`` (the serving worker) also adopts,
        once the factory returned, every engine alive in the process: the ones the app made at
        import or in its factory, before any of them hands out a bounded connection.
        """
        self.configure()
        adopt.start_adoption(self)
        made = self._make_app()
        if adopt_existing:
            adopt.adopt_existing(self)
        app: WSGIApp = ExceptionMapper(made, self)
        top_run = ScopedRun(app)
        for name in reversed(self.plugin_names):
            wrapped, app = app, self._wrap_with(name, app)
            top_run.add(app, wrapped)
        prefixes = top_run.prefixes
        # Outermost; also measures each request. gunicorn hooks find the host as ``.host``.
        return LastResortCatcher(app, self, RequestMeter(),
                                 pass_by=None if prefixes is None else (prefixes, top_run.below))

    def _make_app(self) -> WSGIApp:
        """The app ``[dashboard].app_factory`` names: the app itself, or what its factory
        returns (see :func:`dashboard.hooks.discovery.make_app`)."""
        return make_app(resolve_factory(self.settings.dashboard.app_factory), self)  # type: ignore[no-any-return]

    def _wrap_with(self, name: str, app: WSGIApp) -> WSGIApp:
        """Call one plugin's ``dashboard_wrap_wsgi``: wrappers nest in TOML order, one by one."""
        given = direct_call(app)
        wrapped = hookcalls.call_plugin(self, name, "dashboard_wrap_wsgi", app=given, host=self)
        if wrapped is None or wrapped is given:  # no layer added: the pipeline as it was
            return app
        return wrapped  # type: ignore[no-any-return]

    def close(self) -> None:
        """Let plugins release what they hold (``dashboard_host_closing``), then the engine's
        connections; idempotent."""
        if self._closed:
            return
        self._closed = True
        hookcalls.notify_each(self, "dashboard_host_closing", host=self)
        adopt.stop_adoption(self)
        if "engine" in self.__dict__:
            self.engine.dispose()


def _make_trace_visible() -> None:
    """Traces are INFO records; make sure they reach the log even where nothing configured one.

    Outside ``dashboard serve`` (whose ``[logging]`` setup gives the root logger a handler)
    nothing may have configured logging, and the records would stop at Python's last-resort
    handler (WARNING and above). A handler already present anywhere up the hierarchy (ours, an
    operator's logging config, pytest's caplog) is used as it is.
    """
    if hook_logger.getEffectiveLevel() > logging.INFO:
        hook_logger.setLevel(logging.INFO)
    if not hook_logger.hasHandlers():
        handler = logging.StreamHandler()  # stderr: gunicorn's error log under `dashboard serve`
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(name)s %(message)s"))
        hook_logger.addHandler(handler)


def _refuse_reordering(pm: pluggy.PluginManager, name: str) -> None:
    plugin = pm.get_plugin(name)
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and (impl.tryfirst or impl.trylast):
                raise PluginOrderError(
                    f"plugin {name!r}: {caller.name} uses tryfirst/trylast; order comes only "
                    "from [dashboard].plugins")
