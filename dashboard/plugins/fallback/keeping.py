"""Which passed answers may be kept, decided in the writer thread, off the request path: the
request thread hands over every ``200`` of a covered request as it is (docs/plugins/fallback.md).

A ``200`` is kept when its body is JSON (``application/json`` or any ``+json`` type), neither
``private`` nor ``no-store``, it sets no cookie, it is not over 1 MiB, and it does not vary on a
request header other than ``Accept``, ``Accept-Encoding`` and ``Accept-Language`` (``Vary: *``
included): an answer that varies on ``X-Forwarded-User`` (or any header an auth proxy or app
could key a user's data on) belongs to one user and is never shown to another. A success
envelope is stood in for as an envelope; any other JSON as it was.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from dashboard.plugins.fallback.keys import VARY_FIELDS
from dashboard.plugins.fallback.store import MAX_BODY_BYTES

#: The headers a plain stand-in repeats from the kept answer (its representation).
REPLAYED = ("content-type", "content-encoding", "content-language")


@dataclass(frozen=True)
class Keep:
    """How a keepable answer is kept: as an envelope or plain, the headers a plain stand-in
    repeats, and the request headers it varies on (sorted, lower case)."""

    enveloped: bool
    headers: tuple[tuple[str, str], ...]
    vary: tuple[str, ...]


def decide(headers: list[tuple[str, str]], body: bytes) -> Keep | None:
    """How to keep a ``200`` with these headers and this body, or ``None`` to keep nothing."""
    if len(body) > MAX_BODY_BYTES or not keepable(headers):
        return None
    vary: set[str] = set()
    encoded = False
    replayed = []
    for name, value in headers:
        lower = name.lower()
        if lower == "vary":
            vary.update(part.strip().lower() for part in value.split(",") if part.strip())
        elif lower in REPLAYED:
            replayed.append((name, value))
            encoded = encoded or (lower == "content-encoding"
                                  and value.strip().lower() not in ("", "identity"))
    if encoded:  # a compressed body cannot be read: it stands in as it is, for its variant
        return Keep(False, tuple(replayed), tuple(sorted(vary)))
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return Keep(_is_envelope(payload), tuple(replayed), tuple(sorted(vary)))


def keepable(headers: list[tuple[str, str]]) -> bool:
    """The headers of a ``200`` that may be kept: JSON, neither private nor ``no-store``, not
    known to be big, setting no cookie, varying on no request header but the three."""
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
        elif lower == "vary":
            names = {part.strip().lower() for part in value.split(",") if part.strip()}
            if not names <= VARY_FIELDS.keys():  # "*" included
                return False
    return json_type


@functools.lru_cache(maxsize=64)
def is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, whatever its parameters (the request thread
    asks this of every degraded answer it might hold back, hence the memo)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.endswith("+json") and "/" in media)


def json_typed(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" and is_json(value) for name, value in headers)


def _is_envelope(payload: object) -> bool:
    return (isinstance(payload, dict) and payload.get("success") is True and "data" in payload
            and isinstance(payload.get("meta", {}), dict))


def is_enveloped_success(body: bytes) -> bool:
    """``{"success": true, "data": ..., ...}``: stood in for as an envelope with ``meta.stale``."""
    try:
        return _is_envelope(json.loads(body))
    except ValueError:
        return False


def may_keep(headers: list[tuple[str, str]], body: bytes) -> bool:
    """Everything about a ``200`` that decides whether it is kept."""
    return decide(headers, body) is not None
