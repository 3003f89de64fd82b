"""The ``redaction`` plugin: no database credential or token in any log line."""

from __future__ import annotations

from dashboard import hookimpl
from plugins.redaction.settings import RedactionSettings

SECTION = "redaction"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[RedactionSettings]]:
    return SECTION, RedactionSettings
