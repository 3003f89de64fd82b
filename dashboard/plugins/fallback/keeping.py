"""Which passed answers may be kept (docs/plugins/fallback.md), decided in the writer thread, off
the request path: the request thread hands over every ``200`` of a covered request as it is.

An answer is kept when its headers say JSON, neither ``private`` nor ``no-store``, no cookie
set, not known to be over 1 MiB, and its body is a success envelope.
"""

from __future__ import annotations

import functools
import json

from dashboard.plugins.fallback.store import MAX_BODY_BYTES


def keepable(headers: list[tuple[str, str]]) -> bool:
    """The headers of a ``200`` that may be kept: JSON, neither private nor ``no-store``, not
    known to be big, setting no cookie."""
    json_type = False
    for name, value in headers:
        lower = name.lower()
        if lower == "content-type":
            json_type = is_json(value)
        elif lower == "cache-control":
            directives = {part.split("=", 1)[0].strip().lower() for part in value.split(",")}
            if "private" in directives or "no-store" in directives:
                return False
        elif lower == "content-length":
            if not value.strip().isdigit() or int(value) > MAX_BODY_BYTES:
                return False
        elif lower == "set-cookie":
            return False  # an answer that sets a cookie belongs to one client
    return json_type


@functools.lru_cache(maxsize=64)
def is_json(content_type: str) -> bool:
    """``application/json``, whatever its parameters (the request thread asks this of every
    degraded answer it might hold back, hence the memo)."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def json_typed(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" and is_json(value) for name, value in headers)


def is_enveloped_success(body: bytes) -> bool:
    """``{"success": true, "data": ..., ...}``: the only answers worth standing in with."""
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return (isinstance(payload, dict) and payload.get("success") is True and "data" in payload
            and isinstance(payload.get("meta", {}), dict))


def may_keep(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Everything about a ``200`` that decides whether it is kept."""
    return len(body) <= MAX_BODY_BYTES and keepable(headers) and is_enveloped_success(body)
