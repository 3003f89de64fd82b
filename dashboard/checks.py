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
    """

    name: str
    status: CheckStatus
    details: dict[str, Any] = field(default_factory=dict)
    degraded_reason: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"status": self.status, **self.details}


@dataclass(frozen=True)
class Recommendation:
    """A vote for what an operator (or the watchdog) should do now, and why."""

    action: Action
    reason: str
