"""Values exchanged through the health hooks: one check's result and one recommendation vote."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CheckStatus = Literal["pass", "warn", "fail"]
Action = Literal["observe", "throttle", "recover"]

ACTION_STRENGTH: dict[str, int] = {"observe": 0, "throttle": 1, "recover": 2}


@dataclass(frozen=True)
class CheckResult:
    """One named entry of ``checks`` in the health payload.

    ``details`` are the fields shown next to ``status`` (e.g. ``state``, ``saturation``).
    ``degraded_reason`` names why the host is degraded when this check is not ``pass``
    (``circuit_breaker_open``, ``db_pool_saturated``, ...); it is not shown inside the check.
    ``operator_details`` are shown only to an authenticated operator (the admin API's
    system-status), never on public ``/health``: free text an operator typed, such as the reason
    of a breaker override, may name hosts or incidents (docs/api/health.md, docs/api/admin.md).
    """

    name: str
    status: CheckStatus
    details: dict[str, Any] = field(default_factory=dict)
    degraded_reason: str | None = None
    operator_details: dict[str, Any] = field(default_factory=dict)

    def payload(self, *, operator: bool = False) -> dict[str, Any]:
        """The check as health shows it; with ``operator``, plus the operator-only fields."""
        if operator:
            return {"status": self.status, **self.details, **self.operator_details}
        return {"status": self.status, **self.details}


@dataclass(frozen=True)
class Recommendation:
    """A vote for what an operator (or the watchdog) should do now, and why."""

    action: Action
    reason: str
