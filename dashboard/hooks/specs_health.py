"""Hooks the health and recovery plugins ask of every plugin: checks, thresholds, recommendation
votes, the restart policy and the breaker's operator override.

They make the ``/health`` payload and the admin API; the order rules are in
:mod:`dashboard.hooks.specs`, which assembles this module with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboard import hookspec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dashboard.checks import CheckResult, Recommendation
    from dashboard.types import Host


@hookspec
def dashboard_health_checks(host: Host, deep: bool) -> list[CheckResult]:
    """Contribute named checks to ``/health`` (``deep=False``) and ``/health/deep``.

    Called by the health plugin whenever it computes a payload (not for memoized answers), in
    the worker answering. ``host`` is that worker's host; ``deep`` says whether a database round
    trip is allowed: a check that needs the database must only run when ``deep`` is true.
    Returns a list of :class:`dashboard.checks.CheckResult` (collecting: one list per plugin, in
    TOML order). A check may raise: the health plugin reports it as ``fail`` with the
    exception's class name. A ``CheckResult.degraded_reason`` names why the host is degraded.
    """


@hookspec
def dashboard_resilience_thresholds(host: Host) -> dict[str, float | int]:
    """Contribute the thresholds this plugin owns, merged into ``resilience.thresholds``.

    Called by the health plugin with each computed payload; ``host`` is the answering worker's
    host. Returns a flat ``{name: number}`` dict (collecting; merged in TOML order, a later
    plugin's key replacing an earlier one's).
    """


@hookspec
def dashboard_recommendation(host: Host, checks: Mapping[str, CheckResult]
                             ) -> Recommendation | None:
    """Vote for ``observe``, ``throttle`` or ``recover`` given the current checks.

    Called by the health plugin with each computed payload (and by the recovery watchdog).
    ``host`` is the current host, ``checks`` the checks just computed, by name. Returns a
    :class:`dashboard.checks.Recommendation` or ``None`` to abstain (collecting). The strongest
    vote wins (recover > throttle > observe); ties keep TOML order.
    """


@hookspec(firstresult=True)
def dashboard_restart_policy(host: Host) -> dict[str, Any] | None:
    """Report the restart policy as ``{"policy": {...}, "restart_churn": {...}}``
    (docs/api/health.md).

    Called by the health plugin with each computed payload (and by any plugin reporting the
    policy); ``host`` is the current host. firstresult: the first plugin in TOML order that
    answers wins. Implemented by the recovery plugin; when no enabled plugin answers, health
    reports ``null``.
    """


@hookspec(firstresult=True)
def dashboard_breaker_control(host: Host, action: str, duration_seconds: int | None,
                              reason: str) -> dict[str, Any] | None:
    """Apply an operator override to the circuit breaker (docs/api/admin.md); ``None`` if none runs.

    Called by the recovery plugin's admin API (``POST /admin/api/breaker``) in the worker that
    answers, after authentication and validation, through
    :func:`dashboard.hooks.calls.first_answer`.
    ``host`` is that worker's host; ``action`` is ``"force_open"``, ``"disable"`` or ``"reset"``;
    ``duration_seconds`` the override's length (1..86400; ``None`` for ``reset``); ``reason``
    the operator's reason, already masked for secrets. The override applies to the breaker's
    whole scope and ends by itself. firstresult: the first plugin in TOML order that answers
    wins. Returns ``{"action", "scope", "forced", "expires_at", "seconds_left"}`` (``forced``
    ``None`` | ``"open"`` | ``"disabled"``; ``expires_at`` an RFC 3339 UTC string or ``None``),
    or ``None`` when no breaker is configured for ``host`` (the admin API then answers 404).
    """
