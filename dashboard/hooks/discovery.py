"""Find installed plugins through the ``dashboard.plugins`` entry-point group, and load settings
with their models.

Built-in plugins register there exactly like third-party ones, so there is one way in. Finding a
plugin imports its module (to read its settings model) but does not register it: only the plugins
an operator lists are ever added to a host's plugin manager.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Mapping
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
    """The object named by ``"package.module:attribute.path"`` (imports the module)."""
    module_name, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def check_app_factory(dashboard: DashboardSection,
                      sources: Mapping[str, str]) -> list[ConfigProblem]:
    """The factory must import and be callable, or the server would start and fail per worker."""
    spec = dashboard.app_factory
    source = sources.get("dashboard.app_factory", "default")
    module_name, _, attribute = spec.partition(":")
    try:
        target = resolve_factory(spec)
    except ImportError as error:
        message = f"cannot import module {module_name!r} ({type(error).__name__})"
    except AttributeError:
        message = f"module {module_name!r} has no attribute {attribute!r}"
    except Exception as error:
        message = f"importing {module_name!r} failed ({type(error).__name__})"
    else:
        if callable(target):
            return []
        message = "is not callable"
    return [ConfigProblem("dashboard.app_factory", message, source, spec, True)]
