"""The ``maintenance`` plugin: switch the dashboard into maintenance mode with a file.

Enabled by listing ``maintenance`` in ``[dashboard].plugins``; configured in
``[plugins.maintenance]`` (see :mod:`dashboard_maintenance.settings`). Its place in the list is
its place in the WSGI pipeline: put it early (right after ``redaction``) so a blocked request
costs nothing further down.

This module holds only the hook implementations; each reads its settings from the host it is
given, so the plugin keeps no state between hosts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from dashboard import contract, hookimpl
from dashboard.checks import CheckResult
from dashboard_maintenance.flag import MaintenanceFlag
from dashboard_maintenance.middleware import ERROR_CODE, MaintenanceMode
from dashboard_maintenance.settings import MaintenanceSettings

if TYPE_CHECKING:
    from dashboard.types import Host, WSGIApp

SECTION = "maintenance"
DEGRADED_REASON = "maintenance"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[MaintenanceSettings]]:
    return SECTION, MaintenanceSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    """Teach the contract the ``MAINTENANCE`` code (503, retryable) before any request."""
    contract.register_error_code(ERROR_CODE)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> MaintenanceMode:
    settings = _settings(host)
    return MaintenanceMode(app, _flag(settings), retry_after_seconds=settings.retry_after_seconds,
                           allow_paths=settings.allow_paths)


@hookimpl
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    """A ``maintenance`` check: ``warn`` while the flag is up, so ``/health`` says why."""
    active = _flag(_settings(host)).active()
    return [CheckResult(SECTION, "warn" if active else "pass", {"active": active},
                        DEGRADED_REASON if active else None)]


def _settings(host: Host) -> MaintenanceSettings:
    return cast(MaintenanceSettings, host.plugin_settings(SECTION))


def _flag(settings: MaintenanceSettings) -> MaintenanceFlag:
    return MaintenanceFlag(settings.flag_file, settings.message)
