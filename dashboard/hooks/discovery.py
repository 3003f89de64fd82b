"""Find installed plugins through the ``dashboard.plugins`` entry-point group, and load settings
with their models.

Built-in plugins register there exactly like third-party ones, so there is one way in. Finding a
plugin imports its module (to read its settings model) but does not register it: only the plugins
an operator lists are ever added to a host's plugin manager.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from dashboard import PROJECT_NAME
from dashboard.config.problems import ConfigError, ConfigProblem, print_problems
from dashboard.config.sections import DashboardSection, SectionModel, Settings
from dashboard.config.sources import load_settings
from dashboard.hooks import specs as hookspecs

ENTRY_POINT_GROUP = "dashboard.plugins"


class NoSettings(SectionModel):
    """Settings of a plugin that declares none: the table must be empty."""


def installed_entry_points() -> dict[str, EntryPoint]:
    """Installed plugins by name (the entry point's name is the plugin's name)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


@functools.cache
def load_plugin(name: str) -> Any:
    """Import the plugin object (usually a module) registered under ``name``."""
    entry_point = installed_entry_points().get(name)
    if entry_point is None:
        raise LookupError(name)
    return entry_point.load()


def settings_model_of(plugin: Any) -> tuple[str, type[BaseModel]] | None:
    """Ask one plugin, outside any host, for its ``(section, model)``."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin)
    answers = manager.hook.dashboard_settings_model()
    return answers[0] if answers else None


def installed_settings_models() -> tuple[dict[str, type[BaseModel]], list[ConfigProblem]]:
    """The settings model of every installed plugin, and a problem for each that fails to load."""
    models: dict[str, type[BaseModel]] = {}
    problems: list[ConfigProblem] = []
    for name in sorted(installed_entry_points()):
        try:
            answer = settings_model_of(load_plugin(name))
        except Exception as error:
            problems.append(ConfigProblem(
                "dashboard.plugins", f"installed plugin {name!r} failed to load "
                f"({type(error).__name__})", f"entry point {ENTRY_POINT_GROUP}:{name}"))
            continue
        if answer is None:
            models[name] = NoSettings
            continue
        section, model = answer
        if section != name:
            problems.append(ConfigProblem(
                f"plugins.{section}", f"plugin {name!r} names its settings table {section!r}; "
                "it must match the plugin's name", f"entry point {ENTRY_POINT_GROUP}:{name}"))
        models[name] = model
    return models, problems


def load_installed_settings(config_path: str | os.PathLike[str] | None = None,
                            env: Mapping[str, str] | None = None, *,
                            data: dict[str, Any] | None = None,
                            extra_plugins: Mapping[str, Any] | None = None) -> Settings:
    """Settings validated against every installed plugin's model (and ``extra_plugins``, plugin
    objects given directly, e.g. defined in a test); raises :class:`ConfigError`."""
    models, problems = installed_settings_models()
    for name, plugin in (extra_plugins or {}).items():
        answer = settings_model_of(plugin)
        models[name] = answer[1] if answer is not None else NoSettings
    return load_settings(config_path, env, plugin_models=models, data=data,
                         known_problems=problems, dashboard_checks=[check_app_factory])


def load_settings_or_exit() -> Settings:
    """The validated settings, or exit 2 with one line per problem on stderr (never a traceback).

    For processes that cannot start without settings: the gunicorn master and every worker.
    """
    try:
        return load_installed_settings()
    except ConfigError as error:
        print_problems(error)
        raise SystemExit(2) from None


def resolve_factory(spec: str) -> Any:
    """The object named by ``"package.module:attribute.path"`` (imports the module), with the
    working directory importable exactly as gunicorn makes it (prepended to ``sys.path``)."""
    module_name, _, attribute = spec.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def make_app(target: Any, host: Any) -> Any:
    """The WSGI app ``[dashboard].app_factory`` names (see docs/host-your-own-app.md).

    Decided by what ``target`` is, read with :mod:`inspect`: an object that is neither a
    function nor a class (a Flask app, any instance with ``__call__``) is the app itself; a
    function or class is called with no argument when it requires none (Flask's
    ``create_app(test_config=None)``), with the host when it requires one, and a function that
    requires two (``environ, start_response``) is the app itself.
    """
    if not (inspect.isroutine(target) or inspect.isclass(target)):
        return target
    factory: Any = target  # a routine or a class: called below (inspect's guards narrow it)
    required = _required_positional(factory)
    if required == 0:
        return factory()
    if required == 1:
        return factory(host)
    if required == 2 and not inspect.isclass(target):
        return target
    raise TypeError(f"app_factory {target!r} requires {required} arguments: it must be a WSGI "
                    "app, or a factory taking no argument or the host")


def _required_positional(target: Any) -> int:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: treat as the app
        return 2
    return sum(1 for p in parameters
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def check_app_factory(dashboard: DashboardSection,
                      sources: Mapping[str, str]) -> list[ConfigProblem]:
    """The factory must import and be callable, or the server would start and fail per worker.

    The import is tried in a forked child when the module is not imported yet, so that the
    process checking (the gunicorn master) never imports the app: each worker imports it once,
    after the fork, and an engine the app makes at import is made in the worker.
    """
    spec = dashboard.app_factory
    source = sources.get("dashboard.app_factory", "default")
    module_name = spec.partition(":")[0]
    if module_name in sys.modules or not hasattr(os, "fork"):
        message = _factory_problem(spec)
    else:
        message = _in_child(_factory_problem, spec)
    if message is None:
        return []
    return [ConfigProblem("dashboard.app_factory", message, source, spec, True)]


def _factory_problem(spec: str) -> str | None:
    module_name, _, attribute = spec.partition(":")
    try:
        target = resolve_factory(spec)
    except ImportError as error:
        return f"cannot import module {module_name!r} ({type(error).__name__})"
    except AttributeError:
        return f"module {module_name!r} has no attribute {attribute!r}"
    except Exception as error:
        return f"importing {module_name!r} failed ({type(error).__name__})"
    return None if callable(target) else "is not callable"


def _in_child(check: Callable[[str], str | None], spec: str) -> str | None:
    """``check(spec)`` run in a forked child; its answer comes back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_end)
            answer = check(spec)
            os.write(write_end, (answer or "").encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        answer = reader.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        return f"importing {spec.partition(':')[0]!r} failed (the check did not finish)"
    return answer or None
