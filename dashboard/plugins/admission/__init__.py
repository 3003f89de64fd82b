"""The ``admission`` plugin: a per-worker limit on app requests in flight
(docs/plugins/admission.md).

With ``gthread`` the worker's threads are the scarce resource: a locked table holds every one of
them long before the pool runs dry, and then ``/livez`` queues behind app requests. Admission
keeps ``reserve`` threads for control endpoints: an app request waits at most ``max_wait_ms``
for one of the limit's slots, else it is answered ``503 OVERLOADED`` with an honest
``Retry-After``; exempt paths pass untouched whatever the plugin order. The limit is fixed or
adaptive (the gradient rule of :mod:`dashboard.plugins.admission.limits`), and the ``throttle``
recommendation halves the adaptive ceiling (:mod:`dashboard.plugins.admission.throttle`).

Hooks only; the logic lives in the limiter, the limit policies and the middleware.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dashboard import (
    CheckResult,
    ConfigError,
    ConfigProblem,
    ErrorCode,
    Recommendation,
    hookimpl,
    register_error_code,
)
from dashboard.plugins.admission.metering import PrometheusEvents, publish_limit
from dashboard.plugins.admission.middleware import OVERLOADED, AdmissionMiddleware
from dashboard.plugins.admission.settings import AdmissionSettings, config_problems
from dashboard.plugins.admission.state import ADMISSION, SECTION, AdmissionState, build_state
from dashboard.plugins.admission.throttle import pressure_reasons

if TYPE_CHECKING:
    from dashboard import Host, WSGIApp

OVERLOADED_CODE = ErrorCode(
    OVERLOADED, 503, True, "The server is at capacity; try again shortly.")


def state_of(host: Host) -> AdmissionState | None:
    """This host's admission state, once configured (``None`` when not enabled there)."""
    return host.find_state(ADMISSION)


@hookimpl
def dashboard_settings_model() -> tuple[str, type[AdmissionSettings]]:
    return SECTION, AdmissionSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    settings = host.plugin_settings(SECTION, AdmissionSettings)
    threads = host.settings.server.threads
    problems = config_problems(settings, threads)
    if problems:
        raise ConfigError([ConfigProblem(path, message) for path, message in problems])
    register_error_code(OVERLOADED_CODE)
    max_latency = host.settings.database.call_timeout_ms / 1000.0
    host.state(ADMISSION, lambda: build_state(settings, threads, host.clock, max_latency))


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    state = state_of(host)
    assert state is not None, "dashboard_configure runs before the pipeline is built"
    state.limiter.watch_limit(publish_limit)  # serving processes only: the master serves nothing
    return AdmissionMiddleware(app, state.limiter, exempt_paths=state.exempt_paths,
                               max_wait_seconds=state.max_wait_seconds,
                               events=PrometheusEvents(state.limiter.in_flight))


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    state = state_of(host)
    if state is None:
        return []
    snapshot = state.limiter.snapshot()
    return [CheckResult(
        name=SECTION, status="warn" if snapshot.rejecting else "pass",
        details={"limit": snapshot.limit, "in_flight": snapshot.in_flight,
                 "waiting": snapshot.waiting, "rejected_total": snapshot.rejected_total},
        degraded_reason="overloaded" if snapshot.rejecting else None)]


@hookimpl
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    """Abstains; watches the checks to lower the ceiling while health would say ``throttle``."""
    state = state_of(host)
    if state is not None:
        state.observe_pressure(bool(pressure_reasons(checks)))
    return None
