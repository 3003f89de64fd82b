"""dashboard: a plugin-based WSGI host that keeps a database-backed app serving, honestly degraded.

This module is the public API: the names in :data:`__all__` are what a plugin author may use, and
the built-in plugins use nothing else of the host (``tests/dashboard/test_public_api.py`` holds
them to it). Everything else under ``dashboard.`` is the host's own and may change without notice.
The hooks themselves are documented in :mod:`dashboard.hooks.specs`.

Names are loaded on first use (PEP 562): ``import dashboard`` costs pluggy and this file, and a
host module may ``from dashboard import hookimpl`` without an import cycle. Type checkers and IDEs
read the ``TYPE_CHECKING`` imports below, which name the same objects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pluggy

PROJECT_NAME = "dashboard"

#: Marks a hook specification (:mod:`dashboard.hooks.specs`; a plugin may add its own).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a plugin's hook implementation: ``@hookimpl def dashboard_configure(host): ...``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: Public name -> ``(module, attribute)``: where each lazily loaded name lives.
_LAZY: dict[str, tuple[str, str]] = {}


def _from(module: str, *names: str, **renamed: str) -> None:
    _LAZY.update({name: (module, name) for name in names})
    _LAZY.update({public: (module, attribute) for public, attribute in renamed.items()})


# Per-host state and the host's shape: what every hook receives.
_from("dashboard.types", "Host", "StateKey", "StartResponse", "WSGIApp", "WSGIEnviron")
# Time: every policy takes a Clock, so tests drive it with a ManualClock.
_from("dashboard.clock", "Clock", "ManualClock", "SystemClock")
# Contract answers: the envelope, codes and headers clients and monitors rely on.
_from("dashboard.contract", "CONTROL_PATH_PREFIXES", "DEGRADED_CODES", "ERROR_CODES", "ErrorCode",
      "PreparedError", "REQUEST_ID_HEADER", "error_response", "json_response", "plain_number",
      "prepared_error", "register_error_code", "request_id", "retry_after_seconds",
      "success_response", "utc_timestamp")
# Health checks and recommendation votes, exchanged through the health hooks.
_from("dashboard.checks", "Action", "CheckResult", "CheckStatus", "Recommendation")
# The request being served: its id, its host, and what runs when it ends.
_from("dashboard.context", "MASTER_PID_ENV", "at_request_end", "current_request_id",
      "serving_host")
# Response bodies: holding something exactly as long as the request that took it.
_from("dashboard.pipeline.closing", "PRODUCED", "ClosingBody", "close_body")
# Database faults, outcomes and the pool, as the host classifies and measures them.
_from("dashboard.db.faults", "DbOutcome", "Fault", "classify")
_from("dashboard.db.engine", "build_engine", "exclude_from_observation", "socket_fileno")
_from("dashboard.db.pool", "pool_figures", "saturation_status")
# Every engine the app uses (the host's own "default", then each adopted one), by name.
_from("dashboard.db.adopt", "database_engines", "engine_name")
_from("dashboard.db.bounds", "engine_bounds", "masked_url", "pool_bounds")
_from("dashboard.db.deadline", "DeadlineWatch", "shut_down_socket")
# Settings: a plugin's own TOML table, its problems, and the secrets never to show.
_from("dashboard.config.sections", "DatabaseSection", "SectionModel", "check_database_url")
_from("dashboard.config.problems", "ConfigError", "ConfigProblem")
_from("dashboard.config.secrets", "configured_secrets", "mask_literals")
# Asking the other plugins (plugins never import each other), each failure kept apart.
_from("dashboard.hooks.calls", "PluginAnswer", "ask_each", "first_answer")
_from("dashboard.hooks.resilience", "collect_checks", "collect_thresholds", "resilience_block",
      "strongest_vote")
# Background work: a periodic daemon thread; a process-wide installation done once.
_from("dashboard.periodic", "PeriodicThread")
_from("dashboard.once", "once")
# Runtime files: owner-only (0600 files, 0700 directories) whatever the umask.
_from("dashboard.private_files", "open_private", "private_dir", "touch_private",
      "write_private")
# Metrics: the process's Prometheus series, their write-behind beat, pools sampled per engine,
# and a request marked as answered by a stand-in (counted as code STALE).
_from("dashboard.metrics.series", "DEFAULT_ENGINE", "RESTART_SOURCES", "series")
_from("dashboard.metrics.engines", "mark_set")
_from("dashboard.metrics.priming", prime_metrics="prime")
_from("dashboard.metrics.pools", "watch_engine")
_from("dashboard.pipeline.observe", "mark_stand_in")
_from("dashboard.metrics.batch", "BatchedCounter", register_flush="register")
_from("dashboard.metrics.files", retire_worker_metrics="retire_process")


def config_problems_on_disk() -> list[str]:
    """What a reload would find wrong in the config on disk, one line per problem (key path,
    message, source; never the value), ``[]`` when it is valid: what the recovery plugin asks
    before it restarts workers. (The reload guard itself is the host's.)"""
    from dashboard.server.reload_guard import config_problems, describe

    return [describe(problem) for problem in config_problems()]


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus exposition of every series and its content type: under gunicorn, summed
    over every worker of the host (the multiprocess directory), else this process's registry.
    What ``/metrics`` answers; the host decides where the samples live."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    from dashboard.metrics.series import multiprocess_enabled

    if multiprocess_enabled():
        from dashboard.metrics.files import render_multiprocess

        return render_multiprocess(), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# Grouped by purpose, sorted within each group (hence no RUF022).
__all__ = [  # noqa: RUF022
    # Writing a plugin
    "PROJECT_NAME", "__version__", "hookimpl", "hookspec",
    # Per-host state, the host's shape, WSGI
    "Host", "StartResponse", "StateKey", "WSGIApp", "WSGIEnviron",
    # Time
    "Clock", "ManualClock", "SystemClock",
    # Contract answers
    "CONTROL_PATH_PREFIXES", "DEGRADED_CODES", "ERROR_CODES", "REQUEST_ID_HEADER", "ErrorCode",
    "PreparedError", "error_response", "json_response", "plain_number", "prepared_error",
    "register_error_code", "request_id", "retry_after_seconds", "success_response",
    "utc_timestamp",
    # Health checks and votes
    "Action", "CheckResult", "CheckStatus", "Recommendation",
    # The request being served
    "MASTER_PID_ENV", "at_request_end", "current_request_id", "serving_host",
    # Response bodies
    "PRODUCED", "ClosingBody", "close_body",
    # The database
    "DbOutcome", "DeadlineWatch", "Fault", "build_engine", "classify", "database_engines",
    "engine_bounds", "engine_name", "exclude_from_observation", "masked_url", "pool_bounds",
    "pool_figures", "saturation_status", "shut_down_socket", "socket_fileno",
    # Settings
    "ConfigError", "ConfigProblem", "DatabaseSection", "SectionModel", "check_database_url",
    "config_problems_on_disk", "configured_secrets", "mask_literals",
    # Asking the other plugins; gathering health
    "PluginAnswer", "ask_each", "collect_checks", "collect_thresholds", "first_answer",
    "resilience_block", "strongest_vote",
    # Background work
    "PeriodicThread", "once",
    # Runtime files
    "open_private", "private_dir", "touch_private", "write_private",
    # Metrics
    "BatchedCounter", "DEFAULT_ENGINE", "RESTART_SOURCES", "mark_set", "mark_stand_in",
    "prime_metrics", "register_flush", "render_metrics", "retire_worker_metrics", "series",
    "watch_engine",
]

if TYPE_CHECKING:
    from dashboard.checks import Action, CheckResult, CheckStatus, Recommendation
    from dashboard.clock import Clock, ManualClock, SystemClock
    from dashboard.config.problems import ConfigError, ConfigProblem
    from dashboard.config.secrets import configured_secrets, mask_literals
    from dashboard.config.sections import DatabaseSection, SectionModel, check_database_url
    from dashboard.context import MASTER_PID_ENV, at_request_end, current_request_id, serving_host
    from dashboard.contract import (
        CONTROL_PATH_PREFIXES,
        DEGRADED_CODES,
        ERROR_CODES,
        REQUEST_ID_HEADER,
        ErrorCode,
        PreparedError,
        error_response,
        json_response,
        plain_number,
        prepared_error,
        register_error_code,
        request_id,
        retry_after_seconds,
        success_response,
        utc_timestamp,
    )
    from dashboard.db.adopt import database_engines, engine_name
    from dashboard.db.bounds import engine_bounds, masked_url, pool_bounds
    from dashboard.db.deadline import DeadlineWatch, shut_down_socket
    from dashboard.db.engine import build_engine, exclude_from_observation, socket_fileno
    from dashboard.db.faults import DbOutcome, Fault, classify
    from dashboard.db.pool import pool_figures, saturation_status
    from dashboard.hooks.calls import PluginAnswer, ask_each, first_answer
    from dashboard.hooks.resilience import (
        collect_checks,
        collect_thresholds,
        resilience_block,
        strongest_vote,
    )
    from dashboard.metrics.batch import BatchedCounter
    from dashboard.metrics.batch import register as register_flush
    from dashboard.metrics.engines import mark_set
    from dashboard.metrics.files import retire_process as retire_worker_metrics
    from dashboard.metrics.pools import watch_engine
    from dashboard.metrics.priming import prime as prime_metrics
    from dashboard.metrics.series import DEFAULT_ENGINE, RESTART_SOURCES, series
    from dashboard.once import once
    from dashboard.periodic import PeriodicThread
    from dashboard.pipeline.closing import PRODUCED, ClosingBody, close_body
    from dashboard.pipeline.observe import mark_stand_in
    from dashboard.private_files import open_private, private_dir, touch_private, write_private
    from dashboard.types import Host, StartResponse, StateKey, WSGIApp, WSGIEnviron

    __version__: str
else:
    # ``once`` is also the name of its module: bound now, so that an earlier ``import
    # dashboard.once`` elsewhere cannot leave the module object where the function belongs.
    from dashboard.once import once

    def __getattr__(name: str) -> Any:
        """Load a public name on first use and keep it (PEP 562)."""
        if name == "__version__":
            value: Any = _version()
        elif name in _LAZY:
            module, attribute = _LAZY[name]
            value = getattr(importlib.import_module(module), attribute)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PROJECT_NAME)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"
