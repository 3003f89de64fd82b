"""The ``fallback`` plugin: the last good answer stands in while the database cannot answer.

CONTRACT §12. Hooks only; the logic lives in :mod:`.middleware` (keep and stand in),
:mod:`.store` (the per-host files), :mod:`.writer` (off the request path) and :mod:`.state`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import hookimpl
from dashboard.checks import CheckResult
from plugins.fallback.settings import FallbackSettings
from plugins.fallback.state import SECTION, FallbackState

if TYPE_CHECKING:
    from dashboard.host import Host
    from dashboard.types import WSGIApp


def state_of(host: Host) -> FallbackState:
    def create() -> FallbackState:
        settings = host.plugin_settings(SECTION)
        assert isinstance(settings, FallbackSettings)
        return FallbackState(settings, host.runtime_dir, lambda: host.clock.now().timestamp())

    state = host.plugin_state(SECTION, create)
    assert state is not None
    return state


@hookimpl
def dashboard_settings_model() -> tuple[str, type[FallbackSettings]]:
    return SECTION, FallbackSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    state_of(host)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    return state_of(host).wrap(app)


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    return [state_of(host).check()]
