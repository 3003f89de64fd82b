"""The ``fallback`` plugin: the last good answer stands in while the database cannot answer.

docs/plugins/fallback.md. Hooks only; the logic lives in :mod:`.middleware` (keep and stand in),
:mod:`.keeper` and :mod:`.keys` (what is kept under which key, and for which app),
:mod:`.store` (the per-host files), :mod:`.writer` (off the request path) and :mod:`.state`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import CheckResult, hookimpl
from dashboard.plugins.fallback.settings import FallbackSettings
from dashboard.plugins.fallback.state import FALLBACK, SECTION, FallbackState

if TYPE_CHECKING:
    from dashboard import Host, WSGIApp


def _state(host: Host) -> FallbackState:
    settings = host.plugin_settings(SECTION, FallbackSettings)
    return host.state(FALLBACK, lambda: FallbackState(
        settings, host.runtime_dir, host.clock.time, host.settings.dashboard.app_factory))


@hookimpl
def dashboard_settings_model() -> tuple[str, type[FallbackSettings]]:
    return SECTION, FallbackSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    _state(host)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    return _state(host).wrap(app)


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    state = host.find_state(FALLBACK)
    return [] if state is None else [state.check()]


@hookimpl
def dashboard_host_closing(host: Host) -> None:
    state = host.find_state(FALLBACK)
    if state is not None:
        state.close()
