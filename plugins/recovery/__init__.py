"""The ``recovery`` plugin: graceful reloads, watchdog, restart-churn policy and the admin API."""

from __future__ import annotations

from dashboard import hookimpl
from plugins.recovery.settings import RecoverySettings

SECTION = "recovery"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[RecoverySettings]]:
    return SECTION, RecoverySettings
