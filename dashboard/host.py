"""The host: settings, engine, one plugin manager, runtime directory; builds the WSGI pipeline.

A host is built once per process (the gunicorn master builds one for the server hooks, each worker
one for serving). Only the plugins listed in ``[dashboard].plugins`` are registered, and their
order there is the order of everything: wrappers (first listed is outermost), collected hook
results, and ``firstresult`` answers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pluggy
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from dashboard import PROJECT_NAME, hookspecs
from dashboard.clock import Clock, SystemClock
from dashboard.config import Settings, resolve_factory
from dashboard.db import build_engine, install_event_fanout
from dashboard.hookcalls import call_plugin, hook_logger
from dashboard.pipeline import ExceptionMapper, LastResortCatcher
from dashboard.registry import load_plugin
from dashboard.types import WSGIApp

TRACE_ENV = "DASHBOARD_TRACE_HOOKS"
T = TypeVar("T")


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
            self.pm.enable_tracing()
        self._configured = False
        self._plugin_states: dict[str, Any] = {}
        self._plugin_states_lock = threading.Lock()

    @property
    def hook(self) -> Any:
        """The hook relay: ``host.hook.dashboard_<name>(**kwargs)``; results come in TOML order."""
        return self.pm.hook

    @property
    def testing(self) -> bool:
        return self.settings.testing

    def plugin_settings(self, section: str) -> BaseModel:
        """The validated ``[plugins.<section>]`` model."""
        return self.settings.plugin(section)

    def plugin_state(self, name: str, create: Callable[[], T] | None = None) -> T | None:
        """A plugin's state for this host, made by ``create()`` on first use.

        Plugins are usually modules, shared by every host of the process (tests build many);
        what belongs to one host lives here and goes away with it. Without ``create`` the
        state is only looked up (``None`` when there is none yet).
        """
        with self._plugin_states_lock:
            if name not in self._plugin_states and create is not None:
                self._plugin_states[name] = create()
            return self._plugin_states.get(name)

    def plugin_enabled(self, name: str) -> bool:
        return name in self.plugin_names

    @cached_property
    def engine(self) -> Engine:
        """The SQLAlchemy engine built from ``[database]``: the one the contract governs."""
        install_event_fanout()
        return build_engine(self.settings.database)

    def configure(self) -> Host:
        """Let every plugin prepare (``dashboard_configure``); idempotent."""
        if not self._configured:
            install_event_fanout()
            self.runtime_dir.mkdir(parents=True, exist_ok=True)
            self.hook.dashboard_configure(host=self)
            self._configured = True
        return self

    def build_app(self) -> WSGIApp:
        """The frozen pipeline: catcher, plugin wrappers (TOML order), mapper, the app."""
        self.configure()
        app: WSGIApp = ExceptionMapper(self._make_app(), self)
        for name in reversed(self.plugin_names):
            app = self._wrap_with(name, app)
        pipeline = LastResortCatcher(app, self)
        pipeline.host = self  # type: ignore[attr-defined]  # gunicorn hooks find the host here
        return pipeline

    def _make_app(self) -> WSGIApp:
        return resolve_factory(self.settings.dashboard.app_factory)(self)

    def _wrap_with(self, name: str, app: WSGIApp) -> WSGIApp:
        """Call one plugin's ``dashboard_wrap_wsgi``: wrappers nest in TOML order, one by one."""
        wrapped = call_plugin(self, name, "dashboard_wrap_wsgi", app=app, host=self)
        return app if wrapped is None else wrapped

    def close(self) -> None:
        """Release the engine's connections (tests, shutdown)."""
        if "engine" in self.__dict__:
            self.engine.dispose()


def _make_trace_visible() -> None:
    """Traces are INFO records; make sure they reach the log even where nothing configured one.

    ``dashboard serve`` configures only gunicorn's loggers, so without this the records would
    stop at Python's last-resort handler (WARNING and above). A handler already present anywhere
    up the hierarchy (an operator's logging config, pytest's caplog) is used as it is.
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
