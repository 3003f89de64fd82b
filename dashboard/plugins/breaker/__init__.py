"""The ``breaker`` plugin: a circuit breaker that fails fast while the database is down.

It counts database outcomes reported through ``dashboard_db_outcome`` (only connectivity failures,
statement timeouts and pool exhaustion are failures; an app's bad SQL or a rejected password says
nothing about availability), refuses database accesses through ``dashboard_db_checkout`` while
OPEN, and answers the refusal as ``CIRCUIT_BREAKER_OPEN`` with ``Retry-After`` = the real time
left until HALF_OPEN. This module is the hooks only; the parts, by folder:

* ``core/``: the pure state machine, its window, rules, probe permits and override bookkeeping,
  and :class:`~.core.protocol.ScopeBreaker`, the one interface every scope implements;
* ``worker/``: ``scope = "worker"`` (the default): the core's machine in each worker process,
  and the relay that carries an operator's override to every worker of the host;
* ``host/``: ``scope = "host"``: one breaker for every worker of the host, in a shared block in
  ``runtime_dir``, with the host-wide bound on new connection attempts
  (``dashboard_db_connect_attempt``);
* ``cluster/``: ``scope = "cluster"``: one syncer per host shares the host breaker's trips and
  probe lease with other hosts through Redis;
* beside them: :mod:`.runtime` (what one host keeps: :class:`~.runtime.BreakerRuntime`),
  :mod:`.gate` (where requests meet the breaker), :mod:`.slowwatch` (with ``slow_call_ms`` set,
  statements counted slow while still running, from ``dashboard_db_statement_started``),
  :mod:`.poolgate`, :mod:`.notify`, :mod:`.metrics`, :mod:`.settings`, and :mod:`.control`:
  operators override the breaker through ``dashboard_breaker_control`` (the admin API's
  ``POST /admin/api/breaker``): forced open or disabled for a while, or reset; health shows the
  override as ``checks.breaker.forced``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard import (
    CheckResult,
    DbOutcome,
    PreparedError,
    Recommendation,
    hookimpl,
    prepared_error,
    retry_after_seconds,
)
from dashboard.plugins.breaker.control import (
    answer_control,
    forced_details,
    forced_reason_details,
)
from dashboard.plugins.breaker.core import overrides
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, find_refusal
from dashboard.plugins.breaker.metrics import count_rejection, publish_forced
from dashboard.plugins.breaker.poolgate import gate_pool_waits
from dashboard.plugins.breaker.runtime import BREAKER, BreakerRuntime, publish_state
from dashboard.plugins.breaker.settings import BreakerSettings

if TYPE_CHECKING:
    from dashboard import Host, WSGIApp

SECTION = "breaker"
DISABLED_REASON = "circuit_breaker_disabled"
logger = logging.getLogger("dashboard.breaker")
_STATUS = {BreakerState.CLOSED: "pass", BreakerState.HALF_OPEN: "warn", BreakerState.OPEN: "fail"}


@hookimpl
def dashboard_settings_model() -> tuple[str, type[BreakerSettings]]:
    return SECTION, BreakerSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    settings = host.plugin_settings(SECTION, BreakerSettings)
    host.state(BREAKER, lambda: BreakerRuntime(settings, host.clock, host.runtime_dir,
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
    runtime = host.find_state(BREAKER)
    if runtime is not None:  # refuse before a pool wait, not after it
        gate_pool_waits(engine, host, runtime.gate.check)


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    runtime = host.find_state(BREAKER)
    if runtime is None:
        return app
    runtime.start_sync()  # in the serving process (host scope: the block's sync thread)
    return app  # no layer: the gate keeps a request's probe permit itself (see gate.py)


@hookimpl
def dashboard_worker_started(host: Host, pid: int) -> None:
    runtime = host.find_state(BREAKER)
    if runtime is not None:
        runtime.start_sync()
        runtime.start_relay()  # worker scope: other workers' overrides reach this one
        runtime.start_cluster()  # cluster scope: this worker may become the host's syncer
        logger.info("%s", runtime.describe())


@hookimpl
def dashboard_db_checkout(host: Host) -> None:
    runtime = host.find_state(BREAKER)
    if runtime is not None:
        if runtime.attempts is not None:
            runtime.attempts.end()  # after a new connection: the pool hands it out, it connected
        runtime.gate.check()


@hookimpl
def dashboard_db_connect_attempt(host: Host) -> None:
    """Host scope: take one of the host's connection-attempt reservations, waiting for one."""
    runtime = host.find_state(BREAKER)
    if runtime is not None and runtime.attempts is not None:
        try:
            runtime.attempts.begin()
        except CircuitOpenError:
            count_rejection()
            raise


@hookimpl
def dashboard_db_statement_started(host: Host) -> None:
    runtime = host.find_state(BREAKER)
    if runtime is not None:
        runtime.statement_started()


@hookimpl
def dashboard_host_closing(host: Host) -> None:
    runtime = host.find_state(BREAKER)
    if runtime is not None:
        runtime.close()


@hookimpl
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    runtime = host.find_state(BREAKER)
    if runtime is not None:
        runtime.gate.observe(outcome)  # first: a waiting attempt must see this failure counted
        if runtime.attempts is not None:
            runtime.attempts.end()


@hookimpl
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any]
                            ) -> PreparedError | None:
    refusal = find_refusal(exc)
    if refusal is None:
        return None
    return prepared_error(environ,  # type: ignore[arg-type]  # the WSGI environ dict
                                   "CIRCUIT_BREAKER_OPEN", retry_after=refusal.retry_after)


@hookimpl
def dashboard_health_checks(host: Host) -> list[CheckResult]:
    runtime = host.find_state(BREAKER)
    if runtime is None:
        return []
    snapshot = runtime.breaker.snapshot()
    publish_state(snapshot.state)  # OPEN turns HALF_OPEN lazily; keep the gauges honest
    publish_forced(snapshot.forced)
    status = _STATUS[snapshot.state]
    reason = None if status == "pass" else "circuit_breaker_open"
    if snapshot.forced == overrides.DISABLED:  # CLOSED, but nothing protects the database
        status, reason = "warn", DISABLED_REASON
    retry_after = (retry_after_seconds(snapshot.seconds_until_half_open)
                   if snapshot.seconds_until_half_open is not None else None)
    return [CheckResult(
        name="breaker", status=status,  # type: ignore[arg-type]
        details={"state": snapshot.state.value, "failure_rate": round(snapshot.failure_rate, 4),
                 "slow_call_rate": round(snapshot.slow_call_rate, 4),
                 "retry_after_seconds": retry_after,
                 "scope": runtime.scope_label, **forced_details(snapshot)},
        degraded_reason=reason, operator_details=forced_reason_details(snapshot))]


@hookimpl
def dashboard_breaker_control(host: Host, action: str, duration_seconds: int | None,
                              reason: str) -> dict[str, object] | None:
    """Apply an operator override to this host's breaker scope (:mod:`.control`)."""
    runtime = host.find_state(BREAKER)
    if runtime is None:
        return None
    return answer_control(runtime, action, duration_seconds, reason)


@hookimpl
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    runtime = host.find_state(BREAKER)
    if runtime is None:
        return {}
    return {"breaker_failure_rate": runtime.settings.failure_rate_threshold}


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
    if check.details.get("state") == BreakerState.OPEN.value:
        seconds = check.details.get("retry_after_seconds")
        return Recommendation("throttle", f"circuit breaker open: database calls fail fast for "
                                          f"{seconds}s more")
    return Recommendation("throttle", "circuit breaker half-open: probing the database")
