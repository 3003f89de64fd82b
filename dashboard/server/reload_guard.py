"""A reload never takes the service down: the config on disk is validated before gunicorn reloads.

gunicorn's reload (``SIGHUP``, its control socket, our admin API and watchdog, which all end in
``SIGHUP`` to the master) re-reads the config and starts new workers. With a broken config the
master's re-read exits (``dashboard serve`` re-imports :mod:`dashboard.gunicorn_conf`) or every new
worker fails to import the app (an operator's own gunicorn), after the old workers were told to
go: the port closes or answers nothing. So every restart path asks :func:`config_problems` first,
and :func:`guard_reload` makes the arbiter's own ``reload`` refuse (log, keep serving) when the
config is invalid.

Problems are described by key path, message and source, never by value (a value may be a secret).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dashboard.config.problems import ConfigError, ConfigProblem
from dashboard.hooks.discovery import load_installed_settings

_GUARDED = "_dashboard_reload_guarded"


def config_problems() -> list[ConfigProblem]:
    """What is wrong with the config a reload would read now (``[]`` when it is valid)."""
    try:
        load_installed_settings()
    except ConfigError as error:
        return list(error.problems)
    return []


def describe(problem: ConfigProblem) -> str:
    """``key.path: message (from source)``: the problem's own line, without the value."""
    return str(replace(problem, has_value=False))


def guard_reload(arbiter: Any, problems: Callable[[], list[ConfigProblem]] = config_problems
                 ) -> None:
    """Make ``arbiter.reload`` (gunicorn's, run on ``SIGHUP``) a no-op while the config is
    invalid: the problems go to the error log at ERROR and the old workers keep serving."""
    if getattr(arbiter, _GUARDED, False):
        return
    reload = arbiter.reload

    def reload_if_valid() -> None:
        found = problems()
        if found:
            for problem in found:
                arbiter.log.error("reload refused, config invalid: %s", describe(problem))
            arbiter.log.error("reload refused: %d config problem(s); the running workers keep "
                              "serving with the config they started with", len(found))
            return
        reload()

    arbiter.reload = reload_if_valid
    setattr(arbiter, _GUARDED, True)
