"""The one place responses are shaped: envelope, error codes, ``Retry-After`` and request ids.

Clients (the ``MesApi`` browser client, monitors, scripts) depend on these names and shapes; see
docs/api/responses.md. Anything that answers a JSON API request builds its response here, so the
envelope cannot drift between plugins.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

#: The control endpoints' path prefixes: probes, health, metrics, the operator's page and API,
#: static files. Admission never makes them wait; the fallback never answers them.
CONTROL_PATH_PREFIXES = ("/livez", "/readyz", "/health", "/metrics", "/admin", "/static")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON_KEY = "dashboard.request_id"
#: The code of the error envelope answering this request (read by the request histogram).
ERROR_CODE_ENVIRON_KEY = "dashboard.error_code"
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
    ErrorCode("DB_CONFLICT", 503, True,
              "The database stopped this request to resolve a conflict with another; "
              "try again."),
    ErrorCode("DB_QUERY_ERROR", 500, False, "The database rejected the query."),
    ErrorCode("INTERNAL_ERROR", 500, False, "An internal error occurred."),
    ErrorCode("VALIDATION_ERROR", 400, False, "The request is not valid."),
    ErrorCode("UNAUTHORIZED", 401, False, "A valid admin token is required."),
    ErrorCode("FORBIDDEN", 403, False, "The admin API is disabled: no admin token is configured."),
    ErrorCode("NOT_FOUND", 404, False, "Not found."),
    ErrorCode("METHOD_NOT_ALLOWED", 405, False, "Method not allowed."),
    ErrorCode("RESTART_POLICY_BLOCKED", 409, False,
              "Restarts are blocked by the churn policy; an acknowledged override is required."),
    ErrorCode("CONFIG_INVALID", 409, False,
              "The config on disk is invalid; nothing was reloaded."),
    ErrorCode("RESTART_COOLDOWN", 429, True, "A restart happened recently; cooling down."),
    ErrorCode("RESTART_UNAVAILABLE", 503, False,
              "Not running under a gunicorn master that can reload."),
]
ERROR_CODES: dict[str, ErrorCode] = {c.code: c for c in _CODES}

#: Codes a client should slow down for and retry (the ``MesApi`` client's "degraded" codes).
DEGRADED_CODES = frozenset(
    {"DB_POOL_EXHAUSTED", "CIRCUIT_BREAKER_OPEN", "DB_QUERY_TIMEOUT", "DB_CONNECTION_FAILED",
     "DB_CONFLICT"}
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
    """ISO-8601 UTC with a trailing ``Z`` (``2026-11-28T10:00:00.000Z``), as every payload uses;
    "now" when no ``moment`` is given."""
    if moment is not None:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return epoch_timestamp(time.time())


def epoch_timestamp(seconds: float) -> str:
    """:func:`utc_timestamp` of a ``time.time()`` reading (responses, log records).

    Rendered from a per-second cache: every response and log line carries a timestamp, and
    formatting a datetime costs more than the rest of a refusal.
    """
    second = int(seconds)
    cached = _second_cache
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + ".%03dZ")
        globals()["_second_cache"] = cached
    return cached[1] % ((seconds - second) * 1000)  # %d truncates as int() does


_second_cache: tuple[int, str] = (-1, "")  # (whole second, its text with a %03d for the ms)


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds to wait, rounded up and never below 1: what clients are told to wait."""
    # max(1, ceil(seconds)) for a finite number, as one comparison and one call: a refusal
    # computes it on every answer (NaN and infinities fail the comparison and get 1).
    return math.ceil(seconds) if 1.0 < seconds < math.inf else 1


def plain_number(value: float) -> int | float:
    """``600`` rather than ``600.0`` when a (float) setting is whole, as payloads show them."""
    return int(value) if float(value).is_integer() else value


class _RequestIds:
    """Generated request ids: a random per-process prefix and a counter.

    Unique across the workers of a host and across restarts (the prefix is 64 random bits, drawn
    again in every forked child), and far cheaper per request than a ``uuid4``.
    """

    def __init__(self) -> None:
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self.prefix = os.urandom(8).hex() + "-"
        # The prefix and the counter in hex, made at C level (a Python method here cost a frame
        # on every request). Formatting a number is most of an id's cost, so it is done once
        # per 4,096 ids: an id is its block's text (the counter's hex digits above the last
        # three) joined to one of 4,096 ready-made endings. The same text as "%x" % counter.
        self.ids: Iterator[str] = itertools.chain.from_iterable(
            map(self._block, itertools.count()))

    def _block(self, block: int) -> Iterator[str]:
        """The ids of counter values ``block * 4096`` to ``block * 4096 + 4095`` (from 1)."""
        if block == 0:
            return map(self.prefix.__add__, _UNPADDED_ENDINGS)
        return map(f"{self.prefix}{block:x}".__add__, _ENDINGS)


_ENDINGS = tuple(f"{low:03x}" for low in range(4096))
_UNPADDED_ENDINGS = tuple(f"{low:x}" for low in range(1, 4096))


_request_ids = _RequestIds()


def request_id(environ: dict[str, Any]) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is sane, else a generated one.

    Stored in the environ so every layer of one request reports the same id.
    """
    rid = environ.get(REQUEST_ID_ENVIRON_KEY)
    if rid is None:
        given = environ.get("HTTP_X_REQUEST_ID")
        rid = given if given and _SAFE_REQUEST_ID.match(given) else next(_request_ids.ids)
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
    """The error envelope for ``code``, as a Werkzeug ``Response`` (headers can be added).

    ``retry_after`` (seconds, rounded up) is sent as ``meta.retry_after_seconds`` and the
    ``Retry-After`` header exactly when the error is retryable; a retryable error without an
    explicit hint gets 1 second. ``retryable`` and ``status`` override the code's defaults (e.g.
    ``DB_CONNECTION_FAILED`` is not retryable when the database rejected the credentials).
    """
    prepared = prepared_error(environ, code, message, retry_after, retryable, status)
    headers = [(name, value) for name, value in prepared.headers if name != "Content-Length"]
    return Response(prepared.body, status=prepared.status_code, headers=headers)


class PreparedError:
    """An error envelope as a plain WSGI app, rendered from a per-code template.

    The fail-fast path answers many requests a second while the database is down; building a
    Werkzeug ``Response`` and a JSON document for each costs more than the refusal itself. The
    error part is serialised once per (code, message, retryable, status); the timestamp, the
    request id (already restricted to ``[A-Za-z0-9._:-]``) and the retry hint are filled in.
    ``status_code`` and ``code`` are there for wrappers that look at the answer.
    """

    __slots__ = ("body", "code", "headers", "status", "status_code")

    def __init__(self, code: str, status_code: int, status: str, body: bytes,
                 headers: list[tuple[str, str]]) -> None:
        self.code = code
        self.status_code = status_code
        self.status = status
        self.body = body
        self.headers = headers

    def __call__(self, environ: dict[str, Any], start_response: Any,
                 exc_info: Any = None) -> list[bytes]:
        """A WSGI app's call; ``exc_info``, when given, goes to ``start_response`` (an error
        handler's answer replacing headers already set, without a wrapper around it)."""
        start_response(self.status, self.headers, exc_info)
        return [self.body] if environ.get("REQUEST_METHOD") != "HEAD" else []


_ENVELOPE = b'{"success":false,"error":%s,"meta":{"timestamp":"%s","request_id":"%s"%s}}'
_error_parts: dict[tuple[str, str, bool, int], tuple[bytes, str]] = {}


def prepared_error(environ: dict[str, Any], code: str, message: str | None = None,
                   retry_after: float | None = None, retryable: bool | None = None,
                   status: int | None = None) -> PreparedError:
    """The same envelope as :func:`error_response`, for hot paths (see :class:`PreparedError`)."""
    spec = ERROR_CODES[code]
    retryable = spec.retryable if retryable is None else retryable
    environ[ERROR_CODE_ENVIRON_KEY] = code  # for the request histogram's code label
    status_code = status or spec.status
    key = (code, message or spec.message, retryable, status_code)
    parts = _error_parts.get(key)
    if parts is None:
        error = json.dumps({"code": code, "message": key[1], "retryable": retryable},
                           separators=(",", ":"), ensure_ascii=False).encode()
        parts = _error_parts.setdefault(key, (error, _status_line(status_code)))
    if code in DEGRADED_CODES:
        (_degraded_counters.get(code) or _degraded_counter(code)).inc()
    rid = environ.get(REQUEST_ID_ENVIRON_KEY) or request_id(environ)  # set, inside the host
    headers = [("Content-Type", "application/json"), (REQUEST_ID_HEADER, rid)]
    extra = b""
    if retryable:
        seconds = retry_after_seconds(retry_after if retry_after is not None else 1)
        extra = b',"retry_after_seconds":%d' % seconds
        headers.append(("Retry-After", str(seconds)))
    body = _ENVELOPE % (parts[0], epoch_timestamp(time.time()).encode(), rid.encode(), extra)
    headers.append(("Content-Length", str(len(body))))
    return PreparedError(code, status_code, parts[1], body, headers)


_degraded_counters: dict[str, Any] = {}


def _degraded_counter(code: str) -> Any:
    """``dashboard_degraded_responses_total{code}``, counted in memory and written on the
    metrics beat (no mmap write per answer); made on first use."""
    from dashboard.metrics.batch import BatchedCounter
    from dashboard.metrics.series import series

    return _degraded_counters.setdefault(
        code, BatchedCounter(series().degraded_responses.labels(code=code)))


def _status_line(status_code: int) -> str:
    from http import HTTPStatus

    return f"{status_code} {HTTPStatus(status_code).phrase.upper()}"
