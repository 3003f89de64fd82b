"""Find installed plugins through the ``dashboard.plugins`` entry-point group.

Built-in plugins register there exactly like third-party ones, so there is one way in. Finding a
plugin imports its module (to read its settings model) but does not register it: only the plugins
an operator lists are ever added to a host's plugin manager.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy
from pydantic import BaseModel

from dashboard import PROJECT_NAME, hookspecs

ENTRY_POINT_GROUP = "dashboard.plugins"


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


def installed_settings_models() -> tuple[dict[str, type[BaseModel]], list[Any]]:
    """The settings model of every installed plugin, and a problem for each that fails to load."""
    from dashboard.config import ConfigProblem

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


class NoSettings(BaseModel):
    """Settings of a plugin that declares none: the table must be empty."""

    model_config = {"extra": "forbid", "frozen": True}
