"""Settings sources: defaults, overridden by ``config/resilience.toml``, overridden by the
environment, each value remembering where it came from.

:func:`load_settings` is pure: it is given the settings models of the installed plugins
(discovery lives in :mod:`dashboard.hooks.discovery`) and returns validated :class:`Settings` or
raises
:class:`~dashboard.config.problems.ConfigError` listing every problem at once.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dashboard.config.problems import ConfigError, ConfigProblem, validation_problems
from dashboard.config.sections import CORE_SECTIONS, DashboardSection, Settings

DEFAULT_CONFIG_PATH = Path("config/resilience.toml")
CONFIG_PATH_ENV = "DASHBOARD_CONFIG"
GENERIC_ENV_PREFIX = "DASHBOARD__"
#: Set by ``dashboard serve``: which ``DASHBOARD__*`` variables carry a command-line flag
#: (``DASHBOARD__SERVER__WORKERS=--workers,...``), so a problem blames the flag, not the env.
FLAG_SOURCES_ENV = "DASHBOARD_FLAG_SOURCES"

#: Short environment names operators already use (twelve-factor style), and the key each sets.
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "DATABASE_URL": ("database", "url"),
    "DB_POOL_SIZE": ("database", "pool_size"),
    "DB_MAX_OVERFLOW": ("database", "max_overflow"),
    "DB_POOL_TIMEOUT": ("database", "pool_timeout"),
    "DB_CALL_TIMEOUT_MS": ("database", "call_timeout_ms"),
    "DB_CONNECT_TIMEOUT": ("database", "connect_timeout"),
    "DB_POOL_RECYCLE": ("database", "pool_recycle"),
    "DASHBOARD_ENV": ("dashboard", "environment"),
}

#: A check run on the validated ``[dashboard]`` table (e.g. that the app factory imports).
DashboardCheck = Callable[[DashboardSection, Mapping[str, str]], list[ConfigProblem]]


def resolve_config_path(explicit: str | os.PathLike[str] | None,
                        env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read and whether the operator named it (a named file must exist)."""
    if explicit:
        return Path(explicit), True
    if env.get(CONFIG_PATH_ENV):
        return Path(env[CONFIG_PATH_ENV]), True
    return DEFAULT_CONFIG_PATH, False


def read_toml(path: Path, required: bool) -> dict[str, Any] | None:
    """The parsed TOML file, or ``None`` when the default file is absent."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError([ConfigProblem(str(path), "config file not found")]) from None
        return None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([ConfigProblem(str(path), f"invalid TOML: {error}")]) from None
    except OSError as error:
        raise ConfigError(
            [ConfigProblem(str(path), f"cannot read config file ({type(error).__name__})")]
        ) from None


def peek_runtime_dir(config_path: str | os.PathLike[str] | None = None,
                     env: Mapping[str, str] | None = None) -> Path:
    """``[dashboard].runtime_dir`` read without loading plugins or validating anything else.

    The gunicorn master needs it before anything imports ``prometheus_client`` (the multiprocess
    directory must be chosen first); a broken config is reported by the full load right after.
    """
    env = os.environ if env is None else env
    default = DashboardSection.model_fields["runtime_dir"].default
    generic = env.get(f"{GENERIC_ENV_PREFIX}DASHBOARD__RUNTIME_DIR")
    if generic:
        return Path(generic)
    try:
        path, required = resolve_config_path(config_path, env)
        value = (read_toml(path, required) or {}).get("dashboard", {}).get("runtime_dir", default)
    except (ConfigError, AttributeError):
        return Path(default)
    return Path(value) if isinstance(value, str) else Path(default)


def load_settings(config_path: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None, *,
                  plugin_models: Mapping[str, type[BaseModel]],
                  data: dict[str, Any] | None = None,
                  known_problems: Iterable[ConfigProblem] = (),
                  dashboard_checks: Iterable[DashboardCheck] = ()) -> Settings:
    """Load, merge and validate everything; raise :class:`ConfigError` listing every problem.

    ``plugin_models`` maps a section name to the settings model of each *installed* plugin.
    ``data`` (parsed TOML) replaces reading the file (used by :mod:`dashboard.testing`).
    ``known_problems`` (found while discovering plugins) are reported with the rest;
    ``dashboard_checks`` run on the validated ``[dashboard]`` table.
    """
    env = os.environ if env is None else env
    path, required = resolve_config_path(config_path, env)
    read_from: Path | None = None
    if data is None:
        parsed = read_toml(path, required)
        read_from = path if parsed is not None else None
        data = parsed or {}
    else:
        data = copy.deepcopy(data)

    sources: dict[str, str] = {}
    _record_sources(data, "", "toml", sources)
    problems: list[ConfigProblem] = list(known_problems)
    _apply_env(data, env, sources, problems)

    validated: dict[str, BaseModel | None] = {}
    for name in data:
        if name not in CORE_SECTIONS and name != "plugins":
            problems.append(ConfigProblem(
                name, "unknown section (expected dashboard, server, database, logging or "
                "plugins.<name>)", sources.get(name)))
    for name, model in CORE_SECTIONS.items():
        validated[name] = _validate(model, data.get(name, {}), name, sources, problems)

    plugin_tables = data.get("plugins", {})
    if not isinstance(plugin_tables, dict):
        problems.append(ConfigProblem("plugins", "must be a table of [plugins.<name>] tables",
                                      sources.get("plugins")))
        plugin_tables = {}
    installed = ", ".join(sorted(plugin_models)) or "none"
    for name in plugin_tables:
        if name not in plugin_models:
            problems.append(ConfigProblem(
                f"plugins.{name}", f"no installed plugin named {name!r} (installed: {installed})",
                sources.get(f"plugins.{name}")))
    plugin_settings = {
        name: _validate(model, plugin_tables.get(name, {}), f"plugins.{name}", sources, problems)
        for name, model in plugin_models.items()
    }

    dashboard = validated["dashboard"]
    if isinstance(dashboard, DashboardSection):
        for name in dashboard.plugins:
            if name not in plugin_models:
                problems.append(ConfigProblem(
                    "dashboard.plugins", f"unknown plugin {name!r} (installed: {installed})",
                    sources.get("dashboard.plugins")))
        for check in dashboard_checks:
            problems += check(dashboard, sources)

    if problems:
        raise ConfigError(problems)
    return Settings(
        dashboard=validated["dashboard"],  # type: ignore[arg-type]
        server=validated["server"],  # type: ignore[arg-type]
        database=validated["database"],  # type: ignore[arg-type]
        plugins=plugin_settings,  # type: ignore[arg-type]
        sources=sources,
        config_path=read_from,
        logging=validated["logging"],  # type: ignore[arg-type]
    )


def _record_sources(data: Mapping[str, Any], prefix: str, source: str,
                    sources: dict[str, str]) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        sources[path] = source
        if isinstance(value, dict):
            _record_sources(value, f"{path}.", source, sources)


def _flag_sources(env: Mapping[str, str]) -> dict[str, str]:
    pairs = (item.partition("=") for item in env.get(FLAG_SOURCES_ENV, "").split(","))
    return {name: flag for name, _, flag in pairs if name and flag}


def _apply_env(data: dict[str, Any], env: Mapping[str, str], sources: dict[str, str],
               problems: list[ConfigProblem]) -> None:
    """Overlay env values: the short aliases first, then the generic ``DASHBOARD__`` form."""
    flags = _flag_sources(env)
    overrides: list[tuple[tuple[str, ...], str, str]] = [
        (keys, name, env[name]) for name, keys in ENV_ALIASES.items() if name in env
    ]
    for name in sorted(env):
        if name.startswith(GENERIC_ENV_PREFIX) and len(name) > len(GENERIC_ENV_PREFIX):
            keys = tuple(part.lower() for part in name[len(GENERIC_ENV_PREFIX):].split("__"))
            if len(keys) < 2 or not all(keys):
                problems.append(ConfigProblem(name, "expected DASHBOARD__<SECTION>__<KEY>",
                                              f"env {name}"))
                continue
            overrides.append((keys, name, env[name]))
    for keys, name, value in overrides:
        source = f"flag {flags[name]}" if name in flags else f"env {name}"
        target = data
        for key in keys[:-1]:
            existing = target.setdefault(key, {})
            if not isinstance(existing, dict):
                problems.append(ConfigProblem(".".join(keys), "is not inside a table", source))
                break
            target = existing
        else:
            target[keys[-1]] = value
            sources[".".join(keys)] = source


def _validate(model: type[BaseModel], table: Any, prefix: str, sources: Mapping[str, str],
              problems: list[ConfigProblem]) -> BaseModel | None:
    if not isinstance(table, dict):
        problems.append(ConfigProblem(prefix, "must be a table", sources.get(prefix)))
        return None
    try:
        return model.model_validate(table)
    except ValidationError as error:
        problems += validation_problems(error, prefix, sources)
        return None
