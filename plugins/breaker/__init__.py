"""The ``breaker`` plugin: a circuit breaker that fails fast while the database is down.

It counts database outcomes reported through ``dashboard_db_outcome`` (only connectivity failures,
statement timeouts and pool exhaustion are failures; an app's bad SQL or a rejected password says
nothing about availability), refuses database accesses through ``dashboard_db_checkout`` while
OPEN, and answers the refusal as ``CIRCUIT_BREAKER_OPEN`` with ``Retry-After`` = the real time
left until HALF_OPEN. State is per worker process and per host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard import contract, hookimpl
from dashboard.checks import CheckResult, Recommendation
from dashboard.dbfaults import DbOutcome
from dashboard.metrics import series
from plugins.breaker.gate import BreakerGate, BreakerMiddleware
from plugins.breaker.machine import CircuitBreaker, CircuitOpenError, State, Transition
from plugins.breaker.notify import TransitionNotifier, log_transition
from plugins.breaker.poolgate import gate_pool_waits
from plugins.breaker.settings import BreakerSettings

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from dashboard.host import Host
    from dashboard.types import WSGIApp

SECTION = "breaker"
_STATUS = {State.CLOSED: "pass", State.HALF_OPEN: "warn", State.OPEN: "fail"}


class BreakerRuntime:
    """The breaker of one host in one process, with its gate and its notifier."""

    def __init__(self, settings: BreakerSettings, monotonic: Any) -> None:
        self.settings = settings
        self.notifier = TransitionNotifier([log_transition])
        self.breaker = CircuitBreaker(
            window_size=settings.window_size, minimum_calls=settings.minimum_calls,
            failure_rate_threshold=settings.failure_rate_threshold,
            open_seconds=settings.open_seconds,
            half_open_max_calls=settings.half_open_max_calls,
            monotonic=monotonic, on_transition=self._on_transition)
        self.gate = BreakerGate(self.breaker)
        _publish(State.CLOSED)

    def _on_transition(self, transition: Transition) -> None:
        """Runs after the breaker's lock is released: the gauge now, the rest in the background."""
        _publish(transition.after)
        self.notifier(transition)


def runtime_of(host: Host) -> BreakerRuntime | None:
    """This host's breaker, once configured (``None`` when the plugin is not enabled there)."""
    return host.plugin_state(SECTION)


def _publish(state: State) -> None:
    try:
        series().breaker_state.set(state.gauge_value)
    except Exception:  # metrics must never break a decision
        return


@hookimpl
def dashboard_settings_model() -> tuple[str, type[BreakerSettings]]:
    return SECTION, BreakerSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    settings = host.plugin_settings(SECTION)
    assert isinstance(settings, BreakerSettings)
    host.plugin_state(SECTION, lambda: BreakerRuntime(settings, host.clock.monotonic))


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    runtime = runtime_of(host)
    assert runtime is not None, "dashboard_configure runs before the pipeline is built"
    gate = runtime.gate
    gate_pool_waits(host.engine, host, gate.check)  # refuse before a pool wait, not after it
    return BreakerMiddleware(app, gate)


@hookimpl
def dashboard_db_checkout(host: Host) -> None:
    runtime = runtime_of(host)
    if runtime is not None:
        runtime.gate.check()


@hookimpl
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    runtime = runtime_of(host)
    if runtime is not None:
        runtime.gate.observe(outcome)


@hookimpl
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any]) -> Response | None:
    refusal = _find_refusal(exc)
    if refusal is None:
        return None
    return contract.error_response(environ,  # type: ignore[arg-type]  # the WSGI environ dict
                                   "CIRCUIT_BREAKER_OPEN", retry_after=refusal.retry_after)


def _find_refusal(exc: BaseException | None) -> CircuitOpenError | None:
    """The breaker's refusal, also when a library re-raised it wrapped in its own error."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, CircuitOpenError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    runtime = runtime_of(host)
    if runtime is None:
        return []
    snapshot = runtime.breaker.snapshot()
    _publish(snapshot.state)  # OPEN turns HALF_OPEN lazily; keep the gauge honest on each look
    status = _STATUS[snapshot.state]
    retry_after = (contract.retry_after_seconds(snapshot.seconds_until_half_open)
                   if snapshot.seconds_until_half_open is not None else None)
    return [CheckResult(
        name="breaker", status=status,  # type: ignore[arg-type]
        details={"state": snapshot.state.value, "failure_rate": round(snapshot.failure_rate, 4),
                 "retry_after_seconds": retry_after},
        degraded_reason=None if status == "pass" else "circuit_breaker_open")]


@hookimpl
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    runtime = runtime_of(host)
    if runtime is None:
        return {}
    return {"breaker_failure_rate": runtime.settings.failure_rate_threshold}


@hookimpl
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    check = checks.get("breaker")
    if check is None or check.status == "pass":
        return None
    if check.details.get("state") == State.OPEN.value:
        seconds = check.details.get("retry_after_seconds")
        return Recommendation("throttle", f"circuit breaker open: database calls fail fast for "
                                          f"{seconds}s more")
    return Recommendation("throttle", "circuit breaker half-open: probing the database")
