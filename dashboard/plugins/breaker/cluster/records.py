"""What the cluster's Redis keys must hold to be acted on; anything else is ignored, once said.

Redis is shared: another version, a bug or anyone who can write there may leave a record this
host cannot read (``version = "abc"``, ``open_until_ms = "x"``, a field missing, a JSON string
where a hash belongs). Such a record is *malformed*: it is never adopted, it is not a Redis
outage (Redis answered; falling back to host scope for it would be wrong), it never makes an
answer fail, and it is said once: one WARNING line per malformed content (not per 50 ms tick),
said again only after a well-formed record was read in between (docs/plugins/breaker.md,
"Shared state is bounded"). A well-formed record whose period is too long is not malformed: it is
adopted cut to this host's bounds (:mod:`dashboard.plugins.breaker.bounds`).

A malformed record reads as absent, except that its ``version`` is read by the same rule the
write scripts use (:data:`COUNT_LUA`: a decimal count of at most 15 digits, else 0), so the next
verdict a host publishes (a fenced write at that version) replaces it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger("dashboard.breaker")

OPEN, CLOSED = "OPEN", "CLOSED"
_COUNT = re.compile(r"[0-9]{1,15}")  # exact in a Lua number (a double) and in Python
#: The same rule in the scripts (prepended to each script that reads a count).
COUNT_LUA = ("local function count(x) if type(x) == 'string' and #x <= 15 "
             "and string.match(x, '^%d+$') then return tonumber(x) end return 0 end ")
_SHOWN = 200  # characters of a malformed content quoted in the WARNING line


@dataclass(frozen=True)
class ClusterRecord:
    """The cluster's last verdict, as written by some host."""

    state: str = CLOSED
    version: int = 0
    generation: int = 0
    open_until_ms: int = 0
    reason: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Override:
    """An operator's cluster-wide override, timed by the Redis server's clock."""

    kind: str  # "open" | "disabled"
    until_ms: int
    reason: str
    version: int


class Malformed(ValueError):
    """A key holds what no version of this code writes; ``str()`` says what is wrong."""


def text(value: bytes | str | None) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def count(value: str | None) -> int:
    """A count as the scripts read it: 0 unless a plain decimal of at most 15 digits."""
    return int(value) if value is not None and _COUNT.fullmatch(value) else 0


def _strict(fields: dict[str, str], name: str) -> int:
    value = fields.get(name)
    if value is None:
        raise Malformed(f"no {name}")
    if not _COUNT.fullmatch(value):
        raise Malformed(f"{name} {value[:40]!r} is not a whole number")
    return int(value)


def fields_of(raw: object) -> dict[str, str]:
    """A hash read by HGETALL (a flat list); a key of another type arrives as its type's name."""
    if not isinstance(raw, list):
        raise Malformed(f"a {text(raw)!s} where a hash belongs")  # type: ignore[arg-type]
    return {text(raw[i]) or "": text(raw[i + 1]) or "" for i in range(0, len(raw) - 1, 2)}


def record_of(fields: dict[str, str]) -> ClusterRecord:
    """The record in ``fields``; :class:`Malformed` unless every field a writer sets is there
    and readable (``reason`` and ``origin`` may be empty)."""
    if not fields:
        return ClusterRecord()
    state = fields.get("state")
    if state not in (OPEN, CLOSED):
        raise Malformed(f"state {state!r} is neither OPEN nor CLOSED" if state is not None
                        else "no state")
    version, generation = _strict(fields, "version"), _strict(fields, "generation")
    return ClusterRecord(state, version, generation, _strict(fields, "open_until_ms"),
                         fields.get("reason") or None, fields.get("origin") or None)


def override_of(fields: dict[str, str], now_ms: int) -> Override | None:
    """The override in ``fields`` while it lasts; :class:`Malformed` when unreadable."""
    if not fields:
        return None
    kind = fields.get("kind")
    if kind not in ("open", "disabled"):
        raise Malformed(f"kind {kind!r} is neither open nor disabled" if kind is not None
                        else "no kind")
    until, version = _strict(fields, "until_ms"), _strict(fields, "version")
    if until <= now_ms:
        return None  # PEXPIRE has not caught up yet: over is over
    return Override(kind, until, fields.get("reason", ""), version)


class MalformedNotes:
    """One WARNING per malformed content of each key (see the module docstring)."""

    def __init__(self) -> None:
        self._said: dict[str, str] = {}

    def malformed(self, key: str, content: object, problem: Malformed) -> None:
        shown = repr(content)[:_SHOWN]  # repr: a newline in Redis cannot start a log line
        if self._said.get(key) == shown:
            return
        self._said[key] = shown
        logger.warning("breaker: ignored a malformed %s in Redis (%s: %s); it is not adopted, "
                       "and the next write there replaces it", key, problem, shown)

    def well_formed(self, key: str) -> None:
        self._said.pop(key, None)
