"""The ``health`` plugin: /health, /health/deep, Kubernetes probes and /metrics."""

from __future__ import annotations

from dashboard import hookimpl
from plugins.health.settings import HealthSettings

SECTION = "health"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[HealthSettings]]:
    return SECTION, HealthSettings
