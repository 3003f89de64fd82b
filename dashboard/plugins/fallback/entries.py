"""One kept answer as a file: what it holds, how it is named, how its bytes read back.

A file is ``MAGIC``, one JSON header line, then the body. The header says the entry's ``key`` (a
read checks it, so two keys can never share an answer even if their names collided),
``stored_at`` (epoch seconds), and, when they differ from a plain enveloped answer's:
``enveloped`` (false: a plain JSON body, stood in as it is), ``headers`` (the representation
headers a plain stand-in repeats: ``Content-Type``, ``Content-Encoding``, ``Content-Language``)
and ``vary`` (a *pointer*: the answers for this key differ by these request headers, and each is
kept under the key with their values, see :mod:`dashboard.plugins.fallback.keys`).

A file's name is two hashes: of the key's *group* (everything before its ``?``: the app's
identity and the path) and of the key. So the entries of one path are found by their name's
prefix, which is what bounds them per path (``max_entries_per_path``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

MAGIC = b"DFB2\n"
SUFFIX = ".answer"
GROUP_CHARS = 16  # a name is <16 hex of the group>-<24 hex of the key>.answer


@dataclass(frozen=True)
class KeptAnswer:
    """One kept ``200``: its key, when it was kept (epoch seconds), its body, and how it
    stands in (see the module docstring)."""

    key: str
    stored_at: float
    body: bytes
    enveloped: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    vary: tuple[str, ...] | None = None  # set on a pointer only


def _hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def group_of(key: str) -> str:
    """The group of a key: the app's identity and the path, without the query."""
    return key.partition("?")[0]


def group_prefix(key: str) -> str:
    return _hex(group_of(key))[:GROUP_CHARS] + "-"


def file_name(key: str) -> str:
    return group_prefix(key) + _hex(key)[:24] + SUFFIX


def encode(answer: KeptAnswer) -> bytes:
    header: dict[str, object] = {"key": answer.key, "stored_at": answer.stored_at}
    if not answer.enveloped:
        header["enveloped"] = False
    if answer.headers:
        header["headers"] = [list(pair) for pair in answer.headers]
    if answer.vary is not None:
        header["vary"] = list(answer.vary)
    return MAGIC + json.dumps(header, ensure_ascii=True).encode("ascii") + b"\n" + answer.body


def decode(raw: bytes) -> KeptAnswer | None:
    """The answer in a file's bytes, or ``None`` when they are not one."""
    if not raw.startswith(MAGIC):
        return None
    header_end = raw.find(b"\n", len(MAGIC))
    if header_end < 0:
        return None
    try:
        header = json.loads(raw[len(MAGIC):header_end])
        key, stored_at = header["key"], float(header["stored_at"])
        headers = tuple((str(name), str(value)) for name, value in header.get("headers", ()))
        vary = header.get("vary")
        vary = None if vary is None else tuple(str(name) for name in vary)
        enveloped = header.get("enveloped", True) is True
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(key, str):
        return None
    return KeptAnswer(key, stored_at, raw[header_end + 1:], enveloped, headers, vary)


def read_header(head: bytes) -> tuple[str, float] | None:
    """``(key, stored_at)`` from the first bytes of a file, or ``None``."""
    if not head.startswith(MAGIC):
        return None
    end = head.find(b"\n", len(MAGIC))
    try:
        header = json.loads(head[len(MAGIC):end]) if end > 0 else None
        key, stored_at = header["key"], float(header["stored_at"])  # type: ignore[index]
    except (ValueError, KeyError, TypeError):
        return None
    return (key, stored_at) if isinstance(key, str) else None
