"""The host's settings tables (``[dashboard]``, ``[server]``, ``[database]``, ``[logging]``) and
:class:`Settings`.

One registry of typed sections, as gunicorn's ``config.py`` is: the same models feed validation,
``dashboard check`` and docs/reference/configuration.md. Plugins base their own tables on
:class:`SectionModel`, so every table has the same rules: unknown keys are errors, numbers are
finite, values are frozen once loaded, and list settings may come from the environment as a
comma-separated list or a JSON array.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from dashboard.config.secrets import mask_secret_value

#: The shipped pipeline, outermost first (README "Plugin order" says why).
BUILTIN_PLUGINS = ["redaction", "breaker", "health", "recovery", "fallback", "admission",
                   "degradation"]

#: Drivers that are optional extras of the distribution, and the extra that installs each.
DRIVER_EXTRAS = {"pymysql": "mysql", "mysqldb": "mysql", "oracledb": "oracle",
                 "cx_oracle": "oracle"}
#: Module each SQLAlchemy driver name imports, where the two differ.
_DRIVER_MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "pysqlite": "sqlite3",
                   "pymysql": "pymysql", "mysqldb": "MySQLdb", "oracledb": "oracledb",
                   "cx_oracle": "cx_Oracle", "pyodbc": "pyodbc", "asyncpg": "asyncpg",
                   "pg8000": "pg8000", "mariadbconnector": "mariadb"}


class SectionModel(BaseModel):
    """Base for every settings table: unknown keys are errors, numbers finite, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _list_from_text(cls, value: Any, info: ValidationInfo) -> Any:
        """A list setting given as text (an environment variable): JSON array or commas."""
        if not isinstance(value, str) or info.field_name is None:
            return value
        annotation = cls.model_fields[info.field_name].annotation
        if get_origin(annotation) not in (list, tuple) and annotation not in (list, tuple):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                raise ValueError("must be a JSON array or a comma-separated list") from None
        return [item.strip() for item in text.split(",") if item.strip()]


def check_database_url(value: str) -> str:
    """A SQLAlchemy URL whose dialect exists and whose driver is installed, or a clear error."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(
            "is not a SQLAlchemy URL (dialect+driver://user:pass@host:port/db)") from None
    if url.get_backend_name() == "postgres":
        raise ValueError("uses the dialect 'postgres'; SQLAlchemy calls it 'postgresql'")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"names an unknown database dialect {url.drivername!r}") from None
    driver = str(getattr(dialect, "driver", "") or url.get_driver_name())
    module = _DRIVER_MODULES.get(driver, driver)
    if module and importlib.util.find_spec(module) is None:
        extra = DRIVER_EXTRAS.get(driver)
        if extra:
            hint = f"pip install 'dashboard[{extra}]'"
        elif driver == "psycopg2" and importlib.util.find_spec("psycopg") is not None:
            hint = f"write {url.get_backend_name()}+psycopg:// to use the installed psycopg 3"
        else:
            hint = f"install the {driver!r} package"
        raise ValueError(f"needs the database driver {driver!r}, which is not installed "
                         f"({hint})")
    return value


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
    workers: int = Field(2, ge=1, le=256, description="Worker processes (1..256).")
    threads: int = Field(4, ge=1, le=1024, description="Threads per worker, gthread (1..1024).")
    timeout: int = Field(30, ge=1, le=86400, description="Seconds before a silent worker is "
                         "killed (1..86400).")
    graceful_timeout: int = Field(30, ge=1, le=86400, description="Seconds in-flight requests "
                                  "get on reload (1..86400).")
    header_timeout: float = Field(10, gt=0, le=3600, description="Seconds a client has to send "
                                  "a request head; then the connection is dropped (>0..3600).")

    @field_validator("bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value.startswith("unix:"):
            if len(value) == len("unix:"):
                raise ValueError("must name a socket path after 'unix:'")
            return value
        host, sep, port = value.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if (not sep or not host or not port.isdigit() or not 0 < int(port) < 65536
                or not re.fullmatch(r"[\w.\-:]+", host)):
            raise ValueError("must be HOST:PORT with a port from 1 to 65535, or unix:PATH")
        return value


class DatabaseSection(SectionModel):
    """``[database]``: the engine that serves requests uses exactly these values."""

    url: str | None = Field(None, description="SQLAlchemy URL of the host's own engine (a "
                            "secret; its driver must be installed). Unset: the host builds no "
                            "engine of its own (the demo app then runs on its embedded SQLite "
                            "default).")
    adopt: bool = Field(True, description="Give every SQLAlchemy engine the app creates in a "
                        "worker these bounds and timeouts (false: leave the app's engines as "
                        "they are).")
    pool_size: int = Field(5, ge=1, le=1000, description="Connections kept open (1..1000).")
    max_overflow: int = Field(10, ge=0, le=1000, description="Extra connections allowed under "
                              "load (0..1000).")
    pool_timeout: float = Field(30, gt=0, le=3600, description="Seconds a request waits for a "
                                "connection (0..3600).")
    call_timeout_ms: int = Field(55000, ge=1, le=86_400_000, description="Per-statement "
                                 "timeout, enforced by the driver or server.")
    connect_timeout: int = Field(10, ge=1, le=3600, description="Seconds to establish a new "
                                 "connection (1..3600).")
    pool_recycle: int = Field(1800, ge=-1, description="Seconds before a connection is replaced "
                              "(-1: never).")
    pool_pre_ping: bool = Field(True, description="Test a pooled connection before handing it out.")

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str | None) -> str | None:
        return check_database_url(value) if value else None


class LoggingSection(SectionModel):
    """``[logging]``: how our lines and gunicorn's error and access lines are written."""

    format: Literal["text", "json"] = Field(
        "text", description="`text`: one readable line per record; `json`: one JSON object per "
        "line (timestamp, level, pid, logger, message, request_id, fields).")
    level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "info", description="Lowest level written, for our loggers and gunicorn's error log.")

    @field_validator("format", "level", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


CORE_SECTIONS: dict[str, type[SectionModel]] = {
    "dashboard": DashboardSection,
    "server": ServerSection,
    "database": DatabaseSection,
    "logging": LoggingSection,
}


@dataclass(frozen=True)
class Settings:
    """The validated settings, with the source of every value."""

    dashboard: DashboardSection
    server: ServerSection
    database: DatabaseSection
    plugins: Mapping[str, BaseModel]
    sources: Mapping[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    logging: LoggingSection = field(default_factory=LoggingSection)

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
            ("logging", self.logging),
        ]
        tables += [(f"plugins.{name}", model) for name, model in sorted(self.plugins.items())]
        for prefix, model in tables:
            for key, value in model.model_dump(mode="json").items():
                path = f"{prefix}.{key}"
                rows.append((path, mask_secret_value(path, value), self.source_of(path)))
        return rows
