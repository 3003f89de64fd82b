"""The ``breaker`` plugin: a circuit breaker that fails fast while the database is down."""

from __future__ import annotations

from dashboard import hookimpl
from plugins.breaker.settings import BreakerSettings

SECTION = "breaker"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[BreakerSettings]]:
    return SECTION, BreakerSettings
