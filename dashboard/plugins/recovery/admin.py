"""The admin API under ``/admin/api/`` (docs/api/admin.md): status, system status, restart, and
the breaker's operator overrides (:mod:`dashboard.plugins.recovery.breakerctl`).

Authenticated by ``Authorization: Bearer <token>`` (:mod:`dashboard.plugins.recovery.authguard`:
the token, failures audited, an address that keeps failing throttled). With no token configured
the admin API is switched off: every call is 403 ``FORBIDDEN``, whatever credentials are sent.

Security caveat: bearer tokens travel in clear text unless TLS terminates in front of gunicorn.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from dashboard import (
    collect_checks,
    configured_secrets,
    error_response,
    mask_literals,
    resilience_block,
    strongest_vote,
    success_response,
    utc_timestamp,
)
from dashboard.plugins.recovery import readings
from dashboard.plugins.recovery.authguard import AdminAuth
from dashboard.plugins.recovery.body import BadRequest, parse_json_object, read_body
from dashboard.plugins.recovery.breakerctl import BreakerControl
from dashboard.plugins.recovery.master import master_pid, master_reloader
from dashboard.plugins.recovery.restarts import RestartRequest
from dashboard.plugins.recovery.schema import Heartbeat, RestartRecord

if TYPE_CHECKING:
    from dashboard import Host, StartResponse, WSGIApp, WSGIEnviron
    from dashboard.plugins.recovery.state import Recovery

PREFIX = "/admin/api/"
HISTORY_SHOWN = 50
logger = logging.getLogger("dashboard.recovery")


def restart_payload(record: RestartRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"id": record.id, "requested_at": utc_timestamp(record.requested_at),
            "completed_at": utc_timestamp(record.completed_at) if record.completed_at else None,
            "source": record.source, "actor": record.actor, "reason": record.reason,
            "decision": record.decision, "override": record.override}


def worker_payload(heartbeat: Heartbeat) -> dict[str, Any]:
    return {"pid": heartbeat.pid, "started_at": utc_timestamp(heartbeat.started_at),
            "last_heartbeat": utc_timestamp(heartbeat.last_heartbeat),
            "breaker_state": heartbeat.breaker_state}


def parse_restart_body(environ: WSGIEnviron) -> tuple[str, bool, bool]:
    """``(reason, override, acknowledge)`` from the JSON body, or :class:`BadRequest`."""
    body = parse_json_object(read_body(environ))
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("reason is required (1 to 500 characters)")
    if len(reason) > 500:
        raise BadRequest("reason must be at most 500 characters")
    flags = []
    for name in ("override", "acknowledge"):
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise BadRequest(f"{name} must be true or false")
        flags.append(value)
    return reason, flags[0], flags[1]


class AdminApi:
    """WSGI middleware answering ``/admin/api/...``; everything else goes to ``app``."""

    #: Every other path passes through untouched (dashboard.pipeline.pathscope).
    path_prefixes = (PREFIX,)

    def __init__(self, app: WSGIApp, host: Host, recovery: Recovery) -> None:
        self.app = app
        self.host = host
        self.recovery = recovery
        self.auth = AdminAuth(recovery)
        self.routes: dict[tuple[str, str], Callable[[WSGIEnviron], Response]] = {
            ("GET", "worker/status"): self.worker_status,
            ("GET", "system-status"): self.system_status,
            ("POST", "worker/restart"): self.restart,
            ("POST", "breaker"): BreakerControl(recovery),
        }

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        response = self.answer(environ, path[len(PREFIX):].rstrip("/"))
        response.headers["Cache-Control"] = "no-store"
        return response(environ, start_response)

    def answer(self, environ: WSGIEnviron, route: str) -> Response:
        refusal = self.auth.check(environ)
        if refusal is not None:
            return refusal
        method = environ.get("REQUEST_METHOD", "GET").upper()
        handler = self.routes.get(("GET" if method == "HEAD" else method, route))
        if handler is not None:
            try:
                return handler(environ)
            except SQLAlchemyError as error:
                logger.error("admin %s: restart store unavailable (%s)", route,
                             type(error).__name__)
                return error_response(environ, "INTERNAL_ERROR",
                                      "The restart history store is unavailable.")
        allowed = sorted({known_method for known_method, known in self.routes if known == route})
        if allowed:
            response = error_response(environ, "METHOD_NOT_ALLOWED")
            response.headers["Allow"] = ", ".join(sorted({*allowed, "HEAD"}) if "GET" in allowed
                                                  else allowed)
            return response
        return error_response(environ, "NOT_FOUND")

    # -- routes ---------------------------------------------------------------------------------

    def worker_status(self, environ: WSGIEnviron) -> Response:
        self.recovery.ensure_listed(os.getpid())
        verdict, view = self.recovery.current()  # last background read: never waits (§9.4)
        return success_response(environ, {
            "worker_pid": os.getpid(),
            "master_pid": master_pid(),
            "workers": [worker_payload(w) for w in (view.workers if view else ())],
            "policy": verdict.payload(),
            "restart_churn": verdict.churn.payload(),
            "restart_history": [restart_payload(r)
                                for r in (view.history[:HISTORY_SHOWN] if view else ())],
            "last_restart": restart_payload(view.last_restart if view else None),
        })

    def system_status(self, environ: WSGIEnviron) -> Response:
        self.recovery.ensure_listed(os.getpid())
        checks = collect_checks(self.host, deep=False)
        verdict, view = self.recovery.current()
        breaker = checks.get("breaker")
        policy = {"policy": verdict.payload(), "restart_churn": verdict.churn.payload()}
        return success_response(environ, {
            "database": readings.database_figures(self.host, checks),
            "breaker": breaker.payload(operator=True) if breaker is not None else None,
            "resilience": resilience_block(self.host, strongest_vote(self.host, checks), policy),
            "workers": [worker_payload(w) for w in (view.workers if view else ())],
            "restart_churn": verdict.churn.payload(),
        })

    def restart(self, environ: WSGIEnviron) -> Response:
        remote_addr = environ.get("REMOTE_ADDR")
        try:
            reason, override, acknowledge = parse_restart_body(environ)
        except BadRequest as problem:
            self.recovery.restarts.audit_invalid(str(problem), remote_addr)
            return error_response(environ, "VALIDATION_ERROR", str(problem))
        # Pasted by mistake (the token, a database password): never into history or audit.
        token = os.environ.get(self.recovery.settings.admin_token_env, "")
        reason = mask_literals(reason, {token, *configured_secrets(self.host.settings)})
        request = RestartRequest(reason=reason, override=override, acknowledge=acknowledge,
                                 remote_addr=remote_addr)
        outcome = self.recovery.restarts.request(request, master_reloader())
        if outcome.error_code is None:
            return success_response(environ, {
                "restart_id": outcome.restart_id, "decision": outcome.decision,
                "policy_before": outcome.policy_before.payload()}, status=202)
        retry_after: float | None = None
        if outcome.error_code == "RESTART_COOLDOWN":
            retry_after = outcome.policy_before.cooldown_remaining_seconds
        elif outcome.error_code == "RESTART_HISTORY_UNAVAILABLE":
            retry_after = self.recovery.contact.silence_limit_seconds
        message = outcome.message or (outcome.policy_before.next_action
                                      if outcome.decision == "refused" else None)
        return error_response(environ, outcome.error_code, message, retry_after=retry_after)
