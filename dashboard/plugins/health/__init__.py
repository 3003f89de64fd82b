"""The ``health`` plugin: /health, /health/deep, Kubernetes probes and /metrics.

Hooks implemented here, each delegating to a small module:

* ``dashboard_engine_created``: the pool gauges follow each engine (the host's own and every
  adopted one, under its name: :func:`dashboard.engine_name`).
* ``dashboard_wrap_wsgi``: :class:`~dashboard.plugins.health.middleware.HealthEndpoints` answers the
  health paths and passes every other request through.
* ``dashboard_host_closing``: the probes' pools are disposed.
* ``dashboard_health_checks``: this plugin's own ``pool`` check (every time, the most saturated
  engine) and ``database`` check (every engine, :mod:`dashboard.plugins.health.engines`): a
  real round trip each for ``deep``, the last background probe
  (:mod:`dashboard.plugins.health.background`) otherwise; other plugins contribute theirs (the
  breaker its ``breaker`` check).
* ``dashboard_resilience_thresholds``: ``pool_saturation_warning`` / ``_critical``.
* ``dashboard_recommendation``: the rules documented in :mod:`dashboard.plugins.health.rules`.
* ``dashboard_worker_started`` / ``dashboard_worker_exited``: readiness signals and the
  background probe in the worker, Prometheus multiprocess bookkeeping in the master.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard import CheckResult, Recommendation, collect_thresholds, engine_name, hookimpl
from dashboard.plugins.health import prometheus
from dashboard.plugins.health.middleware import HealthEndpoints
from dashboard.plugins.health.payload import restart_policy
from dashboard.plugins.health.pool_check import pool_check
from dashboard.plugins.health.rules import recommend, situation_of
from dashboard.plugins.health.settings import HealthSettings
from dashboard.plugins.health.state import HEALTH, SECTION, state_of

if TYPE_CHECKING:
    from dashboard import Host, WSGIApp


@hookimpl
def dashboard_settings_model() -> tuple[str, type[HealthSettings]]:
    return SECTION, HealthSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    state_of(host)


@hookimpl
def dashboard_engine_created(host: Host, engine: Engine) -> None:
    prometheus.track_pool(engine, engine_name(host, engine))


@hookimpl
def dashboard_wrap_wsgi(app: WSGIApp, host: Host) -> WSGIApp:
    return HealthEndpoints(app, host, state_of(host))


@hookimpl
def dashboard_host_closing(host: Host) -> None:
    state = host.find_state(HEALTH)
    if state is not None:
        state.close()


@hookimpl
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    state = state_of(host)
    settings = state.settings
    checks = [pool_check(host, settings.pool_saturation_warning,
                         settings.pool_saturation_critical)]
    if deep:
        checks.append(state.probe.check())
    else:
        background = state.background.check()  # the last background probe: no round trip
        if background is not None:
            checks.append(background)
    return checks


@hookimpl
def dashboard_resilience_thresholds(host: Host) -> dict[str, float]:
    settings = state_of(host).settings
    return {"pool_saturation_warning": settings.pool_saturation_warning,
            "pool_saturation_critical": settings.pool_saturation_critical}


@hookimpl
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]) -> Recommendation:
    policy_answer = restart_policy(host)
    policy: Any = policy_answer.get("policy") if policy_answer else None
    situation = situation_of(checks, collect_thresholds(host), policy)
    lasted = state_of(host).pressure.observe(situation.under_pressure, host.clock.monotonic())
    return recommend(replace(situation, pressure_seconds=lasted))


@hookimpl
def dashboard_worker_started(host: Host, pid: int) -> None:
    state = state_of(host)
    state.readiness.chain_drain_signals()
    prometheus.prime_series()
    state.background.start()  # after the fork, in the worker: threads do not survive a fork


@hookimpl
def dashboard_worker_exited(host: Host, pid: int, exitcode: int | None) -> None:
    prometheus.mark_worker_dead(pid)
