"""The one place responses are shaped: envelope, error codes, ``Retry-After`` and request ids.

Clients (the ``MesApi`` browser client, monitors, scripts) depend on these names and shapes; see
CONTRACT.md §3. Anything that answers a JSON API request builds its response here, so the envelope
cannot drift between plugins.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON_KEY = "dashboard.request_id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@dataclass(frozen=True)
class ErrorCode:
    """A stable error code: its HTTP status, whether retrying can help, a default text."""

    code: str
    status: int
    retryable: bool
    message: str


_CODES = [
    ErrorCode("DB_POOL_EXHAUSTED", 503, True,
              "All database connections are busy; try again shortly."),
    ErrorCode("CIRCUIT_BREAKER_OPEN", 503, True,
              "The database is failing; requests are paused until it recovers."),
    ErrorCode("DB_QUERY_TIMEOUT", 504, True, "The database query took too long."),
    ErrorCode("DB_CONNECTION_FAILED", 503, True, "The database cannot be reached."),
    ErrorCode("DB_QUERY_ERROR", 500, False, "The database rejected the query."),
    ErrorCode("INTERNAL_ERROR", 500, False, "An internal error occurred."),
    ErrorCode("VALIDATION_ERROR", 400, False, "The request is not valid."),
    ErrorCode("UNAUTHORIZED", 401, False, "A valid admin token is required."),
    ErrorCode("FORBIDDEN", 403, False, "The admin API is disabled: no admin token is configured."),
    ErrorCode("NOT_FOUND", 404, False, "Not found."),
    ErrorCode("METHOD_NOT_ALLOWED", 405, False, "Method not allowed."),
    ErrorCode("RESTART_POLICY_BLOCKED", 409, False,
              "Restarts are blocked by the churn policy; an acknowledged override is required."),
    ErrorCode("RESTART_COOLDOWN", 429, True, "A restart happened recently; cooling down."),
    ErrorCode("RESTART_UNAVAILABLE", 503, False,
              "Not running under a gunicorn master that can reload."),
]
ERROR_CODES: dict[str, ErrorCode] = {c.code: c for c in _CODES}

#: Codes a client should slow down for and retry (the ``MesApi`` client's "degraded" codes).
DEGRADED_CODES = frozenset(
    {"DB_POOL_EXHAUSTED", "CIRCUIT_BREAKER_OPEN", "DB_QUERY_TIMEOUT", "DB_CONNECTION_FAILED"}
)


def register_error_code(spec: ErrorCode) -> ErrorCode:
    """Add a plugin's own error code (e.g. ``MAINTENANCE``) so :func:`error_response` can send it.

    Plugins call this from ``dashboard_configure``. Registering the same definition again is a
    no-op (hosts are built once per process, and tests build many); a different definition for an
    existing code is refused, so a plugin cannot change what a contract code means to clients.
    """
    existing = ERROR_CODES.get(spec.code)
    if existing is not None and existing != spec:
        raise ValueError(f"error code {spec.code!r} is already defined as {existing}")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", spec.code) or not 400 <= spec.status <= 599:
        raise ValueError(f"error code {spec.code!r}: need an UPPER_SNAKE name and a 4xx/5xx "
                         f"status (got {spec.status})")
    ERROR_CODES[spec.code] = spec
    return spec


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with a trailing ``Z`` (``2026-11-28T10:00:00Z``), as every payload uses."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds to wait, rounded up and never below 1: what clients are told to wait."""
    if not math.isfinite(seconds):
        return 1
    return max(1, math.ceil(seconds))


def plain_number(value: float) -> int | float:
    """``600`` rather than ``600.0`` when a (float) setting is whole, as payloads show them."""
    return int(value) if float(value).is_integer() else value


def request_id(environ: dict[str, Any]) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is sane, else a generated one.

    Stored in the environ so every layer of one request reports the same id.
    """
    rid = environ.get(REQUEST_ID_ENVIRON_KEY)
    if rid is None:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        environ[REQUEST_ID_ENVIRON_KEY] = rid
    return rid


def _meta(environ: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": utc_timestamp(), "request_id": request_id(environ)}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    """A JSON response with compact, UTF-8 output."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    return Response(body, status=status, headers=headers, content_type="application/json")


def success_response(environ: dict[str, Any], data: Any, status: int = 200) -> Response:
    """``{"success": true, "data": ..., "meta": ...}``."""
    response = json_response({"success": True, "data": data, "meta": _meta(environ)}, status)
    response.headers[REQUEST_ID_HEADER] = request_id(environ)
    return response


def error_response(environ: dict[str, Any], code: str, message: str | None = None,
                   retry_after: float | None = None, retryable: bool | None = None,
                   status: int | None = None) -> Response:
    """The error envelope for ``code``.

    ``retry_after`` (seconds, rounded up) is sent as ``meta.retry_after_seconds`` and the
    ``Retry-After`` header exactly when the error is retryable; a retryable error without an
    explicit hint gets 1 second. ``retryable`` and ``status`` override the code's defaults (e.g.
    ``DB_CONNECTION_FAILED`` is not retryable when the database rejected the credentials).
    """
    spec = ERROR_CODES[code]
    retryable = spec.retryable if retryable is None else retryable
    if code in DEGRADED_CODES:
        from dashboard.metrics import series

        series().degraded_responses.labels(code=code).inc()
    meta = _meta(environ)
    headers: dict[str, str] = {}
    if retryable:
        seconds = retry_after_seconds(retry_after if retry_after is not None else 1)
        meta["retry_after_seconds"] = seconds
        headers["Retry-After"] = str(seconds)
    payload = {
        "success": False,
        "error": {"code": code, "message": message or spec.message, "retryable": retryable},
        "meta": meta,
    }
    response = json_response(payload, status or spec.status, headers)
    response.headers[REQUEST_ID_HEADER] = request_id(environ)
    return response
