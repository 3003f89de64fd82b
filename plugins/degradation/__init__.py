"""The ``degradation`` plugin: database failures become retry-aware 503/504 contract responses."""

from __future__ import annotations

from dashboard import hookimpl
from plugins.degradation.settings import DegradationSettings

SECTION = "degradation"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[DegradationSettings]]:
    return SECTION, DegradationSettings
