"""Turning a degraded error answer plus a kept success into the stale ``200`` of
docs/plugins/fallback.md."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dashboard import REQUEST_ID_HEADER, request_id, utc_timestamp
from dashboard.plugins.fallback.store import KeptAnswer

#: The answers a kept success may stand in for (docs/plugins/fallback.md).
STANDABLE_CODES = frozenset({"CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED", "DB_POOL_EXHAUSTED",
                             "DB_QUERY_TIMEOUT", "DB_CONFLICT", "OVERLOADED"})
#: Only these statuses are looked at, so no other error body is ever buffered.
STANDABLE_STATUSES = frozenset({503, 504})
MAX_ERROR_BODY_BYTES = 64 * 1024
STALE_HEADER = "X-Dashboard-Stale"


@dataclass(frozen=True)
class Degraded:
    """What the degraded answer said: its code and its retry hint (seconds, or ``None``)."""

    code: str
    retry_after_seconds: int | None


def read_degraded(body: bytes, headers: list[tuple[str, str]]) -> Degraded | None:
    """The degraded code of an error envelope, if it is one a kept answer may stand in for."""
    try:
        payload = json.loads(body)
        code = payload["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    if payload.get("success") is not False or code not in STANDABLE_CODES:
        return None
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    hint = meta.get("retry_after_seconds")
    if not isinstance(hint, int | float) or isinstance(hint, bool) or not math.isfinite(hint):
        hint = _header_seconds(headers)
    return Degraded(code, None if hint is None else max(0, math.ceil(hint)))


def _header_seconds(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "retry-after" and value.strip().isdigit():
            return int(value.strip())
    return None


def stand_in(kept: KeptAnswer, degraded: Degraded, environ: dict[str, Any], now: float
             ) -> tuple[bytes, list[tuple[str, str]]] | None:
    """The stale answer's body and headers, or ``None`` when the kept body is not usable."""
    age = round(max(0.0, now - kept.stored_at), 3)  # Age is its whole seconds: the same age
    rid = request_id(environ)
    if not kept.enveloped:
        body = kept.body
        headers = [*kept.headers] or [("Content-Type", "application/json")]
    else:
        enveloped = _envelope(kept, degraded, age, rid)
        if enveloped is None:
            return None
        body, headers = enveloped, [("Content-Type", "application/json")]
    headers += [("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                ("Age", str(int(age))), (REQUEST_ID_HEADER, rid),
                (STALE_HEADER, degraded.code)]
    return body, headers


def _envelope(kept: KeptAnswer, degraded: Degraded, age: float, rid: str) -> bytes | None:
    try:
        payload = json.loads(kept.body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("success") is not True:
        return None
    kept_meta = payload.get("meta")
    meta: dict[str, Any] = dict(kept_meta) if isinstance(kept_meta, dict) else {}
    meta |= {"timestamp": utc_timestamp(), "request_id": rid,
            "stale": True,
            "stale_since": utc_timestamp(datetime.fromtimestamp(kept.stored_at, UTC)),
            "age_seconds": age,
            "degraded_code": degraded.code,
            "retry_after_seconds": degraded.retry_after_seconds}
    return json.dumps({"success": True, "data": payload.get("data"), "meta": meta},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")
