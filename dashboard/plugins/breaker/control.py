"""The breaker's operator controls: force open, disable or reset the breaker of a whole scope.

The operator's ``POST /admin/api/breaker`` (docs/api/admin.md, docs/plugins/breaker.md) reaches
the breaker through one hook, ``dashboard_breaker_control``, which this plugin answers with
:func:`answer_control`: the override is checked (:data:`~.core.overrides.ACTIONS`, a duration for
the timed ones), applied to the scope (:func:`apply_control`), logged as a WARNING on
``dashboard.breaker`` and shown by ``dashboard_breaker_forced``; the answer is the endpoint's
``data`` (``action``, ``scope``, ``forced``, ``expires_at``, ``seconds_left``).

Why the route itself stays mounted by the admin API (the ``recovery`` plugin,
``dashboard/plugins/recovery/breakerctl.py``): the admin token, the audit log and the refusals a
client relies on belong to the admin API and exist without any breaker. With no breaker plugin
the endpoint must still answer 404 ``NOT_FOUND`` saying no breaker is enabled and audit the
request as refused; with a third-party plugin answering the hook it must validate, apply through
it, and answer 500 and audit ``failed`` when that plugin raises. Served by this plugin, none of
that could happen without it, and the validation would exist twice. So the two plugins meet
through the hook only (plugins never import each other): the admin API authenticates, validates
the body and audits; this module decides what the override does to the breaker.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dashboard import retry_after_seconds, utc_timestamp
from dashboard.plugins.breaker.core.model import Snapshot
from dashboard.plugins.breaker.core.overrides import ACTIONS
from dashboard.plugins.breaker.metrics import publish_forced

if TYPE_CHECKING:
    from dashboard.plugins.breaker.runtime import BreakerRuntime

logger = logging.getLogger("dashboard.breaker")


@dataclass(frozen=True)
class ControlResult:
    """What an operator override did (the admin answer): the scope it reached, the override now
    in force and when it ends (UTC)."""

    action: str
    scope: str
    forced: str | None
    expires_at: datetime | None
    seconds_left: float | None


def apply_control(runtime: BreakerRuntime, action: str, seconds: float | None,
                  reason: str) -> ControlResult:
    """Apply an operator override to the whole scope of ``runtime``'s breaker.

    Worker scope: every worker of the host through the relay (``scope`` ``"host"`` in the
    answer), or the answering worker alone without one (``"worker"``). Host and cluster
    scope: the shared block, seen by every worker on its next call and within 25 ms.
    ``ValueError`` for an unknown action or a missing or out-of-range duration.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown breaker action {action!r} (expected one of "
                         f"{', '.join(ACTIONS)})")
    if action != "reset" and seconds is None:
        raise ValueError(f"{action} needs a duration")
    duration = None if action == "reset" else seconds
    breaker, reached = runtime.breaker, runtime.scope_label
    if runtime.relay is not None:
        runtime.relay.publish(action, duration, reason)
        reached = "host"
    elif action == "force_open":
        breaker.force_open(duration, reason)  # type: ignore[arg-type]
    elif action == "disable":
        breaker.disable(duration, reason)  # type: ignore[arg-type]
    else:
        breaker.reset(reason)
    for listener in list(runtime.control_listeners):
        with contextlib.suppress(Exception):
            listener(action, duration, reason)
    snapshot = breaker.snapshot()
    left = snapshot.forced_seconds_left
    expires = runtime.clock.now() + timedelta(seconds=left) if left is not None else None
    return ControlResult(action, reached, snapshot.forced, expires, left)


def answer_control(runtime: BreakerRuntime, action: str, duration_seconds: int | None,
                   reason: str) -> dict[str, object]:
    """``dashboard_breaker_control``'s answer: apply, log, publish the gauge, describe."""
    result = apply_control(runtime, action, duration_seconds, reason)
    publish_forced(result.forced)
    logger.warning("circuit breaker override: %s%s (scope %s)", action,
                   f" for {duration_seconds}s" if duration_seconds is not None else "",
                   result.scope)
    return {"action": result.action, "scope": result.scope, "forced": result.forced,
            "expires_at": utc_timestamp(result.expires_at)
            if result.expires_at is not None else None,
            "seconds_left": round(result.seconds_left, 3)
            if result.seconds_left is not None else None}


def forced_details(snapshot: Snapshot) -> dict[str, object]:
    """Health's ``forced`` (``None`` | ``"open"`` | ``"disabled"``) and its seconds left (whole,
    rounded up): all that public ``/health`` says of an override (docs/api/health.md)."""
    left = snapshot.forced_seconds_left
    return {"forced": snapshot.forced,
            "forced_seconds_left": retry_after_seconds(left) if left is not None else None}


def forced_reason_details(snapshot: Snapshot) -> dict[str, object]:
    """The operator's free-text reason, for authenticated admin answers only
    (``CheckResult.operator_details``; docs/api/admin.md): it may name hosts or incidents."""
    return {"forced_reason": snapshot.forced_reason}
