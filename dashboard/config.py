"""Settings: defaults, overridden by ``config/resilience.toml``, overridden by the environment.

One registry of typed sections (the host's three, plus one pydantic model per installed plugin)
feeds validation, ``dashboard check`` and the README reference, the way gunicorn's ``config.py``
does. Every value remembers where it came from, so a problem is reported as one line naming the
key path and its source::

    database.pool_size: must be >= 1 (got 0, from env DB_POOL_SIZE)
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG_PATH = Path("config/resilience.toml")
CONFIG_PATH_ENV = "DASHBOARD_CONFIG"
GENERIC_ENV_PREFIX = "DASHBOARD__"
BUILTIN_PLUGINS = ["redaction", "breaker", "degradation", "health", "recovery"]

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


class SectionModel(BaseModel):
    """Base for every settings table: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DashboardSection(SectionModel):
    """``[dashboard]``: what the host loads and where it keeps its state."""

    environment: Literal["production", "staging", "development", "testing"] = Field(
        "production", description="`testing` turns memoization off and makes time easy to drive.")
    plugins: list[str] = Field(
        default_factory=lambda: list(BUILTIN_PLUGINS),
        description="Enabled plugins, outermost first: the order of the WSGI pipeline.")
    app_factory: str = Field(
        "dashboard.reports:create_app",
        description="`module:callable`, called once per worker with the host; returns a WSGI app.")
    runtime_dir: Path = Field(
        Path("var/run"), description="State shared by the workers of one host (relative to cwd).")

    @field_validator("plugins", mode="before")
    @classmethod
    def _split_plugin_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("plugins")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        seen = [name for index, name in enumerate(value) if name in value[:index]]
        if seen:
            raise ValueError(f"lists {seen[0]!r} more than once")
        return value

    @field_validator("app_factory")
    @classmethod
    def _module_colon_callable(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", value):
            raise ValueError("must look like 'package.module:callable'")
        return value


class ServerSection(SectionModel):
    """``[server]``: handed to gunicorn."""

    bind: str = Field("127.0.0.1:8000", description="HOST:PORT (or unix:PATH) to listen on.")
    workers: int = Field(2, ge=1, description="Worker processes.")
    threads: int = Field(4, ge=1, description="Threads per worker (gthread worker class).")
    timeout: int = Field(30, ge=1, description="Seconds before a silent worker is killed.")
    graceful_timeout: int = Field(30, ge=1, description="Seconds in-flight requests get on reload.")

    @field_validator("bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value.startswith("unix:"):
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT with a port from 1 to 65535, or unix:PATH")
        return value


class DatabaseSection(SectionModel):
    """``[database]``: the engine that serves requests uses exactly these values."""

    url: str = Field("sqlite:///var/dashboard.db", description="SQLAlchemy URL (a secret).")
    pool_size: int = Field(5, ge=1, description="Connections kept open.")
    max_overflow: int = Field(10, ge=0, description="Extra connections allowed under load.")
    pool_timeout: float = Field(30, gt=0, description="Seconds a request waits for a connection.")
    call_timeout_ms: int = Field(55000, ge=1, description="Per-statement timeout, enforced by "
                                 "the driver or server.")
    connect_timeout: int = Field(10, ge=1, description="Seconds to establish a new connection.")
    pool_recycle: int = Field(1800, ge=-1, description="Seconds before a connection is replaced "
                              "(-1: never).")
    pool_pre_ping: bool = Field(True, description="Test a pooled connection before handing it out.")

    @field_validator("url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a SQLAlchemy URL (dialect+driver://user:pass@host/db)") from None
        return value


CORE_SECTIONS: dict[str, type[SectionModel]] = {
    "dashboard": DashboardSection,
    "server": ServerSection,
    "database": DatabaseSection,
}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration, rendered as a single line for the operator."""

    path: str
    message: str
    source: str | None = None
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        detail = []
        if self.has_value:
            detail.append(f"got {mask_secret_value(self.path, self.value)!r}")
        if self.source:
            detail.append(f"from {self.source}")
        return f"{self.path}: {self.message}" + (f" ({', '.join(detail)})" if detail else "")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` has one entry per problem."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Settings:
    """The validated settings, with the source of every value."""

    dashboard: DashboardSection
    server: ServerSection
    database: DatabaseSection
    plugins: Mapping[str, BaseModel]
    sources: Mapping[str, str] = field(default_factory=dict)
    config_path: Path | None = None

    @property
    def testing(self) -> bool:
        return self.dashboard.environment == "testing"

    def plugin(self, section: str) -> BaseModel:
        return self.plugins[section]

    def source_of(self, dotted_path: str) -> str:
        return self.sources.get(dotted_path, "default")

    def effective(self) -> list[tuple[str, Any, str]]:
        """Every leaf setting as ``(dotted path, value, source)``, secrets masked."""
        rows: list[tuple[str, Any, str]] = []
        tables: list[tuple[str, BaseModel]] = [
            ("dashboard", self.dashboard), ("server", self.server), ("database", self.database),
        ]
        tables += [(f"plugins.{name}", model) for name, model in sorted(self.plugins.items())]
        for prefix, model in tables:
            for key, value in model.model_dump(mode="json").items():
                path = f"{prefix}.{key}"
                rows.append((path, mask_secret_value(path, value), self.source_of(path)))
        return rows


SECRET_KEYS = ("url", "store_url", "password", "token", "secret")


def mask_secret_value(path: str, value: Any) -> Any:
    """Hide the password of URLs and any value whose key names a secret."""
    key = path.rsplit(".", 1)[-1]
    if not isinstance(value, str) or not value:
        return value
    if key.endswith("url"):
        return mask_url_password(value)
    if any(word in key for word in ("password", "secret")) or key.endswith("token"):
        return "***"
    return value


def mask_url_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; other text unchanged."""
    return re.sub(r"(?P<head>[a-zA-Z][\w+.\-]*://[^:/@\s]*:)[^\s]*@(?=[^@]*$)", r"\g<head>***@",
                  url)


def resolve_config_path(explicit: str | os.PathLike[str] | None,
                        env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read and whether the operator named it (a named file must exist)."""
    if explicit:
        return Path(explicit), True
    if env.get(CONFIG_PATH_ENV):
        return Path(env[CONFIG_PATH_ENV]), True
    return DEFAULT_CONFIG_PATH, False


def read_toml(path: Path, required: bool) -> dict[str, Any]:
    """Parse the TOML file, or ``{}`` when the default file is absent."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError([ConfigProblem(str(path), "config file not found")]) from None
        return {}
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
        value = read_toml(path, required).get("dashboard", {}).get("runtime_dir", default)
    except (ConfigError, AttributeError):
        return Path(default)
    return Path(value) if isinstance(value, str) else Path(default)


def load_settings(config_path: str | os.PathLike[str] | None = None,
                  env: Mapping[str, str] | None = None,
                  plugin_models: Mapping[str, type[BaseModel]] | None = None,
                  data: dict[str, Any] | None = None) -> Settings:
    """Load, merge and validate everything; raise :class:`ConfigError` listing every problem.

    ``plugin_models`` maps a section name to the settings model of each *installed* plugin; by
    default they are discovered from the ``dashboard.plugins`` entry points. ``data`` (parsed TOML)
    replaces reading the file (used by :mod:`dashboard.testing`).
    """
    env = os.environ if env is None else env
    path, required = resolve_config_path(config_path, env)
    from_file = data is None
    data = read_toml(path, required) if data is None else copy.deepcopy(data)

    sources: dict[str, str] = {}
    _record_sources(data, "", "toml", sources)
    problems: list[ConfigProblem] = []
    _apply_env(data, env, sources, problems)

    if plugin_models is None:
        from dashboard.registry import installed_settings_models

        plugin_models, load_problems = installed_settings_models()
        problems += load_problems

    validated: dict[str, BaseModel] = {}
    for name in data:
        if name not in CORE_SECTIONS and name != "plugins":
            problems.append(ConfigProblem(name, "unknown section (expected dashboard, server, "
                                          "database or plugins.<name>)", sources.get(name)))
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
        problems += _check_app_factory(dashboard.app_factory, sources)

    if problems:
        raise ConfigError(problems)
    return Settings(
        dashboard=validated["dashboard"],  # type: ignore[arg-type]
        server=validated["server"],  # type: ignore[arg-type]
        database=validated["database"],  # type: ignore[arg-type]
        plugins=plugin_settings,
        sources=sources,
        config_path=path if from_file else None,
    )


def load_settings_or_exit() -> Settings:
    """The validated settings, or exit 2 with one line per problem on stderr (never a traceback).

    For processes that cannot start without settings: the gunicorn master and every worker.
    """
    try:
        return load_settings()
    except ConfigError as error:
        print_problems(error)
        raise SystemExit(2) from None


def print_problems(error: ConfigError) -> None:
    """One line per problem on stderr, naming the key path and the value's source."""
    for problem in error.problems:
        print(problem, file=sys.stderr)


def _record_sources(data: Mapping[str, Any], prefix: str, source: str,
                    sources: dict[str, str]) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        sources[path] = source
        if isinstance(value, dict):
            _record_sources(value, f"{path}.", source, sources)


def _apply_env(data: dict[str, Any], env: Mapping[str, str], sources: dict[str, str],
               problems: list[ConfigProblem]) -> None:
    """Overlay env values: the short aliases first, then the generic ``DASHBOARD__`` form."""
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
        target = data
        for key in keys[:-1]:
            existing = target.setdefault(key, {})
            if not isinstance(existing, dict):
                problems.append(ConfigProblem(".".join(keys), "is not inside a table",
                                              f"env {name}"))
                break
            target = existing
        else:
            target[keys[-1]] = value
            sources[".".join(keys)] = f"env {name}"


def _validate(model: type[BaseModel], table: Any, prefix: str, sources: Mapping[str, str],
              problems: list[ConfigProblem]) -> BaseModel | None:
    if not isinstance(table, dict):
        problems.append(ConfigProblem(prefix, "must be a table", sources.get(prefix)))
        return None
    try:
        return model.model_validate(table)
    except ValidationError as error:
        for item in error.errors():
            path = ".".join([prefix, *(str(part) for part in item["loc"])])
            leaf = ".".join([prefix, *(str(p) for p in item["loc"][:1])])
            problems.append(ConfigProblem(
                path, _humane(item), sources.get(path) or sources.get(leaf) or "default",
                item.get("input"), has_value=item["type"] not in ("missing",)))
        return None


_MESSAGES = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "extra_forbidden": "unknown key",
    "missing": "is required",
    "literal_error": "must be one of {expected}",
    "string_too_short": "must not be empty",
}


def _humane(item: Mapping[str, Any]) -> str:
    template = _MESSAGES.get(item["type"])
    if template is None:
        message = str(item["msg"])
        return message.removeprefix("Value error, ")
    return template.format(**(item.get("ctx") or {}))


def resolve_factory(spec: str) -> Any:
    """The object named by ``"package.module:attribute.path"`` (imports the module)."""
    module_name, _, attribute = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def _check_app_factory(spec: str, sources: Mapping[str, str]) -> list[ConfigProblem]:
    """The factory must import and be callable, or the server would start and fail per worker."""
    source = sources.get("dashboard.app_factory", "default")
    module_name, _, attribute = spec.partition(":")
    try:
        target = resolve_factory(spec)
    except ImportError as error:
        return [ConfigProblem("dashboard.app_factory",
                              f"cannot import module {module_name!r} ({type(error).__name__})",
                              source, spec, True)]
    except AttributeError:
        return [ConfigProblem("dashboard.app_factory",
                              f"module {module_name!r} has no attribute {attribute!r}",
                              source, spec, True)]
    except Exception as error:
        return [ConfigProblem("dashboard.app_factory",
                              f"importing {module_name!r} failed ({type(error).__name__})",
                              source, spec, True)]
    if not callable(target):
        return [ConfigProblem("dashboard.app_factory", "is not callable", source, spec, True)]
    return []
