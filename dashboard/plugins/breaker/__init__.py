"""The ``breaker`` plugin: a circuit breaker that fails fast while the database is down.

It counts database outcomes reported through ``dashboard_db_outcome`` (only connectivity failures,
statement timeouts and pool exhaustion are failures; an app's bad SQL or a rejected password says
nothing about availability), refuses database accesses through ``dashboard_db_checkout`` while
OPEN, and answers the refusal as ``CIRCUIT_BREAKER_OPEN`` with ``Retry-After`` = the real time
left until HALF_OPEN. In host and cluster scope a new connection attempt
(``dashboard_db_connect_attempt``) also takes a host-wide reservation
(:mod:`dashboard.plugins.breaker.attempts`). With ``slow_call_ms`` set, statement starts arrive through
``dashboard_db_statement_started`` and a per-worker sweeper counts a statement as slow once it has
run that long, still running (:mod:`dashboard.plugins.breaker.slowwatch`). With ``scope = "worker"`` (the
default) the state is per worker process; with ``"host"`` every worker of the host shares one
state in ``runtime_dir`` (:mod:`dashboard.plugins.breaker.hostscope`). Operators override it through
``dashboard_breaker_control`` (the recovery plugin's ``POST /admin/api/breaker``): forced open or
disabled for a while, or reset (:mod:`dashboard.plugins.breaker.overrides`); health shows the override as
``checks.breaker.forced``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard import contract, hookimpl
from dashboard.checks import CheckResult, Recommendation
from dashboard.db.faults import DbOutcome
from dashboard.plugins.breaker import overrides
from dashboard.plugins.breaker.machine import CircuitOpenError, Snapshot, State, find_refusal
from dashboard.plugins.breaker.metrics import count_rejection, publish_forced
from dashboard.plugins.breaker.poolgate import gate_pool_waits
from dashboard.plugins.breaker.settings import BreakerSettings
from dashboard.plugins.breaker.state import BREAKER, BreakerState, publish_state

if TYPE_CHECKING:
    from dashboard.types import Host, WSGIApp

SECTION = "breaker"
DISABLED_REASON = "circuit_breaker_disabled"
logger = logging.getLogger("dashboard.breaker")
_STATUS = {State.CLOSED: "pass", State.HALF_OPEN: "warn", State.OPEN: "fail"}


@hookimpl
def dashboard_settings_model() -> tuple[str, type[BreakerSettings]]:
    return SECTION, BreakerSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    settings = host.plugin_settings(SECTION, BreakerSettings)
    host.state(BREAKER, lambda: BreakerState(settings, host.clock, host.runtime_dir,
                                             probe_lease_seconds(host),
                                             host.settings.dashboard.app_factory,
                                             attempt_lease_seconds(host)))


def probe_lease_seconds(host: Host) -> float:
    """How long a host-wide probe permit may be held: longer than any one request may wait for
    and run its database calls (a dead holder's lease is freed sooner, see ``leases``)."""
    database = host.settings.database
    return (database.pool_timeout + database.connect_timeout
            + database.call_timeout_ms / 1000 + 5)


def attempt_lease_seconds(host: Host) -> float:
    """How long a connection-attempt reservation may be held: longer than a connect and the
    first statements of a new connection may take (a missed end must not hold it for ever)."""
    database = host.settings.database
    return database.connect_timeout + database.call_timeout_ms / 1000 + 5


@hookimpl
def dashboard_engine_created(host: Host, engine: Engine) -> None:
    state = host.find_state(BREAKER)
    if state is not None:  # refuse before a pool wait, not after it
        gate_pool_waits(engine, host, state.gate.check)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    state = host.find_state(BREAKER)
    if state is None:
        return app
    state.start_sync()  # in the serving process (host scope: the block's sync thread)
    return app  # no layer: the gate keeps a request's probe permit itself (see gate.py)


@hookimpl
def dashboard_worker_started(host: Host, pid: int) -> None:
    state = host.find_state(BREAKER)
    if state is not None:
        state.start_sync()
        state.start_relay()  # worker scope: other workers' overrides reach this one
        state.start_cluster()  # cluster scope: this worker may become the host's syncer
        logger.info("%s", state.describe())


@hookimpl
def dashboard_db_checkout(host: Host) -> None:
    state = host.find_state(BREAKER)
    if state is not None:
        if state.attempts is not None:
            state.attempts.end()  # after a new connection: the pool hands it out, it connected
        state.gate.check()


@hookimpl
def dashboard_db_connect_attempt(host: Host) -> None:
    """Host scope: take one of the host's connection-attempt reservations, waiting for one."""
    state = host.find_state(BREAKER)
    if state is not None and state.attempts is not None:
        try:
            state.attempts.begin()
        except CircuitOpenError:
            count_rejection()
            raise


@hookimpl
def dashboard_db_statement_started(host: Host) -> None:
    state = host.find_state(BREAKER)
    if state is not None:
        state.statement_started()


@hookimpl
def dashboard_host_closing(host: Host) -> None:
    state = host.find_state(BREAKER)
    if state is not None:
        state.close()


@hookimpl
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    state = host.find_state(BREAKER)
    if state is not None:
        state.gate.observe(outcome)  # first: a waiting attempt must see this failure counted
        if state.attempts is not None:
            state.attempts.end()


@hookimpl
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any]
                            ) -> contract.PreparedError | None:
    refusal = find_refusal(exc)
    if refusal is None:
        return None
    return contract.prepared_error(environ,  # type: ignore[arg-type]  # the WSGI environ dict
                                   "CIRCUIT_BREAKER_OPEN", retry_after=refusal.retry_after)


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    state = host.find_state(BREAKER)
    if state is None:
        return []
    snapshot = state.breaker.snapshot()
    publish_state(snapshot.state)  # OPEN turns HALF_OPEN lazily; keep the gauges honest
    publish_forced(snapshot.forced)
    status = _STATUS[snapshot.state]
    reason = None if status == "pass" else "circuit_breaker_open"
    if snapshot.forced == overrides.DISABLED:  # CLOSED, but nothing protects the database
        status, reason = "warn", DISABLED_REASON
    retry_after = (contract.retry_after_seconds(snapshot.seconds_until_half_open)
                   if snapshot.seconds_until_half_open is not None else None)
    return [CheckResult(
        name="breaker", status=status,  # type: ignore[arg-type]
        details={"state": snapshot.state.value, "failure_rate": round(snapshot.failure_rate, 4),
                 "slow_call_rate": round(snapshot.slow_call_rate, 4),
                 "retry_after_seconds": retry_after,
                 "scope": state.scope_label, **forced_details(snapshot)},
        degraded_reason=reason)]


def forced_details(snapshot: Snapshot) -> dict[str, object]:
    """``forced`` (``None`` | ``"open"`` | ``"disabled"``), its seconds left (whole, rounded up)
    and the operator's reason."""
    left = snapshot.forced_seconds_left
    return {"forced": snapshot.forced,
            "forced_seconds_left": contract.retry_after_seconds(left) if left is not None
            else None,
            "forced_reason": snapshot.forced_reason}


@hookimpl
def dashboard_breaker_control(host: Host, action: str, duration_seconds: int | None,
                              reason: str) -> dict[str, object] | None:
    """Apply an operator override to this host's breaker scope (``BreakerState.control``)."""
    state = host.find_state(BREAKER)
    if state is None:
        return None
    result = state.control(action, duration_seconds, reason)
    publish_forced(result.forced)
    logger.warning("circuit breaker override: %s%s (scope %s)", action,
                   f" for {duration_seconds}s" if duration_seconds is not None else "",
                   result.scope)
    return {"action": result.action, "scope": result.scope, "forced": result.forced,
            "expires_at": contract.utc_timestamp(result.expires_at)
            if result.expires_at is not None else None,
            "seconds_left": round(result.seconds_left, 3)
            if result.seconds_left is not None else None}


@hookimpl
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    state = host.find_state(BREAKER)
    if state is None:
        return {}
    return {"breaker_failure_rate": state.settings.failure_rate_threshold}


@hookimpl
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    check = checks.get("breaker")
    if check is None or check.status == "pass":
        return None
    forced = check.details.get("forced")
    if forced == overrides.DISABLED:
        return Recommendation("observe", f"circuit breaker disabled by an operator for "
                                         f"{check.details.get('forced_seconds_left')}s more: "
                                         "database calls are not protected")
    if forced == overrides.FORCED_OPEN:
        seconds = check.details.get("retry_after_seconds")
        return Recommendation("throttle", f"circuit breaker forced open by an operator: "
                                          f"database calls fail fast for {seconds}s more")
    if check.details.get("state") == State.OPEN.value:
        seconds = check.details.get("retry_after_seconds")
        return Recommendation("throttle", f"circuit breaker open: database calls fail fast for "
                                          f"{seconds}s more")
    return Recommendation("throttle", "circuit breaker half-open: probing the database")
