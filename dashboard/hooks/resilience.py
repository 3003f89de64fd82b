"""What the plugins say about resilience, gathered through hooks: checks, thresholds, votes.

Health's payload (docs/api/health.md) and admin system-status (docs/api/admin.md) show the same
``resilience`` block, and the recovery plugin's heartbeats carry the same breaker state and
recommendation; plugins
never import each other, so the gathering lives here, in the host. Each contribution is asked
for separately (:mod:`dashboard.hooks.calls`): one plugin that raises costs its own answer only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dashboard.checks import ACTION_STRENGTH, CheckResult, Recommendation
from dashboard.hooks.calls import ask_each

if TYPE_CHECKING:
    from dashboard.types import Host

NO_VOTE = Recommendation("observe", "no plugin voted")


def collect_checks(host: Host, deep: bool) -> dict[str, CheckResult]:
    """Every enabled plugin's checks by name; a raising plugin becomes one ``fail`` check."""
    checks: dict[str, CheckResult] = {}
    for answer in ask_each(host, "dashboard_health_checks", host=host, deep=deep):
        if answer.error is not None:
            checks[answer.plugin] = CheckResult(
                answer.plugin, "fail", {"error": type(answer.error).__name__})
            continue
        results = answer.result if isinstance(answer.result, list | tuple) else [answer.result]
        for result in results:
            if isinstance(result, CheckResult):
                checks[result.name] = result
    return checks


def collect_thresholds(host: Host) -> dict[str, Any]:
    """``resilience.thresholds``: every plugin's contribution merged, in TOML order."""
    thresholds: dict[str, Any] = {}
    for answer in ask_each(host, "dashboard_resilience_thresholds", host=host):
        if answer.error is None and isinstance(answer.result, Mapping):
            thresholds.update(answer.result)
    return thresholds


def strongest_vote(host: Host, checks: Mapping[str, CheckResult]) -> Recommendation:
    """The strongest ``dashboard_recommendation`` vote; ties keep TOML order."""
    best: Recommendation | None = None
    for answer in ask_each(host, "dashboard_recommendation", host=host, checks=checks):
        vote = answer.result
        if answer.error is not None or not isinstance(vote, Recommendation):
            continue
        if best is None or ACTION_STRENGTH[vote.action] > ACTION_STRENGTH[best.action]:
            best = vote
    return best or NO_VOTE


def resilience_block(host: Host, recommendation: Recommendation,
                     restart_policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``resilience`` object; ``restart_policy`` is ``{"policy", "restart_churn"}`` or None."""
    return {
        "thresholds": collect_thresholds(host),
        "recommendation": {"action": recommendation.action, "reason": recommendation.reason},
        "policy": restart_policy.get("policy") if restart_policy else None,
        "restart_churn": restart_policy.get("restart_churn") if restart_policy else None,
    }
