"""``POST /admin/api/breaker`` (docs/api/admin.md): an operator forces the breaker open, disables
it, or resets it, for the breaker's whole scope, and the change is audited.

The recovery plugin owns the admin API but not the breaker: it validates and audits here, and
asks whichever plugin answers ``dashboard_breaker_control`` (the ``breaker`` plugin) to apply the
override. The two meet only through that hook. No plugin answering means no breaker is
configured: 404 ``NOT_FOUND`` with a message saying so.

Why the route is mounted here and not by the breaker plugin: what it needs first (the admin
token, the audit log, the admin API's answers) is this plugin's, and so is what it promises when
no breaker runs (404 naming the missing breaker and a ``refused`` audit line; with a third-party
plugin answering the hook, a 500 and a ``failed`` line when it raises). A route served by the
breaker plugin would not exist in those cases, or would need this validation twice. So the HTTP
side (authentication, validation, masking, audit, envelope) stays here and everything the
override does to the breaker is the breaker plugin's (``dashboard/plugins/breaker/control.py``).

Body: ``{"action": "force_open" | "disable" | "reset", "reason": "...", "duration_seconds":
1..86400 (force_open and disable only), "acknowledge": true}``. Anything else is 400
``VALIDATION_ERROR`` with a message naming the field; without ``acknowledge: true`` nothing
happens (an override reaches every worker, so it is never sent by accident). The reason is
masked for secrets like a restart reason. Every request with a known action leaves one audit
line (``breaker_force_open`` | ``breaker_disable`` | ``breaker_reset``), refused ones included.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from dashboard import ask_each, configured_secrets, error_response, mask_literals, success_response
from dashboard.plugins.recovery.audit import BreakerAuditRecord
from dashboard.plugins.recovery.body import BadRequest, parse_json_object, read_body

if TYPE_CHECKING:
    from dashboard import WSGIEnviron
    from dashboard.plugins.recovery.state import Recovery

ACTIONS = ("force_open", "disable", "reset")
TIMED_ACTIONS = ("force_open", "disable")
MAX_DURATION_SECONDS = 86_400
MAX_REASON_LENGTH = 500
HOOK = "dashboard_breaker_control"
logger = logging.getLogger("dashboard.recovery")


@dataclass(frozen=True)
class BreakerCommand:
    """A validated override request."""

    action: str
    reason: str
    duration_seconds: int | None


def event_of(action: str) -> str:
    return f"breaker_{action}"


def known_action(body: dict[str, Any]) -> str | None:
    action = body.get("action")
    return action if isinstance(action, str) and action in ACTIONS else None


def parse_command(body: dict[str, Any]) -> BreakerCommand:
    """The command in ``body``, or :class:`BadRequest` naming what is wrong."""
    action = known_action(body)
    if action is None:
        raise BadRequest('action must be one of "force_open", "disable", "reset"')
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest(f"reason is required (1 to {MAX_REASON_LENGTH} characters)")
    if len(reason) > MAX_REASON_LENGTH:
        raise BadRequest(f"reason must be at most {MAX_REASON_LENGTH} characters")
    duration = body.get("duration_seconds")
    if action in TIMED_ACTIONS:
        duration = whole_seconds(duration)
    elif duration is not None:
        raise BadRequest("duration_seconds is not taken by reset (it ends every override now)")
    if body.get("acknowledge") is not True:
        raise BadRequest("acknowledge must be true: the override applies to the breaker's "
                         "whole scope")
    return BreakerCommand(action, reason.strip(), duration)


def whole_seconds(value: Any) -> int:
    """``duration_seconds``: a whole number of seconds in 1..86400 (``300.0`` is 300)."""
    problem = f"duration_seconds is required: a whole number of seconds, 1 to " \
              f"{MAX_DURATION_SECONDS}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(problem)
    if isinstance(value, float) and not value.is_integer():
        raise BadRequest(problem)
    if not 1 <= value <= MAX_DURATION_SECONDS:
        raise BadRequest(f"duration_seconds must be between 1 and {MAX_DURATION_SECONDS}")
    return int(value)


class BreakerControl:
    """The route's handler, bound to one host's recovery parts."""

    def __init__(self, recovery: Recovery) -> None:
        self.recovery = recovery
        self.host = recovery.host

    def __call__(self, environ: WSGIEnviron) -> Response:
        remote_addr = environ.get("REMOTE_ADDR")
        body: dict[str, Any] = {}
        try:
            body = parse_json_object(read_body(environ))
            command = parse_command(body)
        except BadRequest as problem:
            action = known_action(body)
            if action is not None:
                self.audit(action, f"invalid request: {problem}", None, "refused", None,
                           remote_addr, acknowledge=body.get("acknowledge") is True)
            return error_response(environ, "VALIDATION_ERROR", str(problem))
        reason = self.masked(command.reason)
        answer, failed = self.apply(command, reason)
        if answer is None:
            self.audit(command.action, reason, command.duration_seconds,
                       "failed" if failed else "refused", None, remote_addr)
            if failed:
                return error_response(environ, "INTERNAL_ERROR",
                                      "The breaker could not apply the override; see the "
                                      "server log.")
            return error_response(environ, "NOT_FOUND",
                                  'No circuit breaker is enabled on this server: add "breaker" '
                                  "to [dashboard].plugins to control it.")
        self.audit(command.action, reason, command.duration_seconds, "executed", answer,
                   remote_addr)
        return success_response(environ, {key: answer.get(key) for key in (
            "action", "scope", "forced", "expires_at", "seconds_left")})

    def masked(self, reason: str) -> str:
        """Pasted by mistake (the token, a database password): never into the audit or logs."""
        token = os.environ.get(self.recovery.settings.admin_token_env, "")
        return mask_literals(reason, {token, *configured_secrets(self.host.settings)})

    def apply(self, command: BreakerCommand, reason: str) -> tuple[dict[str, Any] | None, bool]:
        """The first answer in TOML order, and whether a plugin raised (logged by class only:
        no traceback or driver text goes to the log)."""
        failed = False
        for answer in ask_each(self.host, HOOK, host=self.host, action=command.action,
                               duration_seconds=command.duration_seconds, reason=reason):
            if answer.error is not None:
                failed = True
                logger.error("breaker %s failed in plugin %r (%s)", command.action,
                             answer.plugin, type(answer.error).__name__)
            elif isinstance(answer.result, dict):
                return answer.result, failed
        return None, failed

    def audit(self, action: str, reason: str, duration: int | None, decision: str,
              answer: dict[str, Any] | None, remote_addr: str | None, *,
              acknowledge: bool = True) -> None:
        record = BreakerAuditRecord(
            timestamp=self.host.clock.now(), event=event_of(action), actor="admin",
            remote_addr=remote_addr, reason=reason, override=False,
            acknowledge=acknowledge,
            policy_state=self.recovery.verdict().state, decision=decision, restart_id=None,
            duration_seconds=duration, scope=answer.get("scope") if answer else None,
            expires_at=answer.get("expires_at") if answer else None)
        try:
            self.recovery.restarts.audit.append(record)
        except OSError as error:  # the override stands; say loudly that it is not audited
            logger.error("audit log not written for breaker %s (%s)", action,
                         type(error).__name__)
