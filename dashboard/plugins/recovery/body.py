"""The one reader for admin JSON bodies: bounded, chunked or not, and strict about what it takes.

Every malformed body is a :class:`BadRequest` whose message says what is wrong without echoing
the body (the caller answers 400 ``VALIDATION_ERROR`` and audits the attempt as refused):

* at most :data:`MAX_BODY_BYTES`; a body without ``Content-Length`` (``Transfer-Encoding:
  chunked``, which gunicorn de-chunks and marks with ``wsgi.input_terminated``) is read up to one
  byte past the bound, never to its end;
* UTF-8, JSON (no ``NaN``/``Infinity``), an object at the top;
* nesting at most :data:`MAX_DEPTH` deep, measured on the raw text before parsing (so a body of
  30,000 ``[`` costs one linear scan, not a recursion error);
* no string (key or value) with a NUL or an unpaired surrogate (``"\\ud800"`` is valid JSON but
  no valid text: it cannot be stored in PostgreSQL or written as UTF-8).
"""

from __future__ import annotations

import json
import re
from typing import Any

from dashboard import WSGIEnviron

MAX_BODY_BYTES = 16 * 1024
MAX_DEPTH = 32
_READ_SIZE = 8192
#: A JSON string literal: disjoint alternatives, so matching is linear in the body's length.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")


class BadRequest(Exception):
    """The body is not acceptable; the message says why (never quoting the body)."""


def read_body(environ: WSGIEnviron, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes, with or without ``Content-Length``."""
    stream = environ.get("wsgi.input")
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if stream is None:
        return b""
    if length_text:
        if not length_text.isdigit():
            raise BadRequest("Content-Length is not a number")
        length = int(length_text)
        if length > limit:
            raise BadRequest(f"body larger than {limit} bytes")
        return _read_up_to(stream, length)
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if not (chunked or environ.get("wsgi.input_terminated")):
        return b""  # no length and a stream that may not end: PEP 3333 says read nothing
    body = _read_up_to(stream, limit + 1)
    if len(body) > limit:
        raise BadRequest(f"body larger than {limit} bytes")
    return body


def _read_up_to(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(min(_READ_SIZE, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The body as a JSON object, or :class:`BadRequest`. An empty body is ``{}``."""
    if not raw.strip():
        return {}
    if nesting_depth(raw) > max_depth:
        raise BadRequest(f"body nested deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
        body = json.loads(text, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    if not _all_text_safe(body):
        raise BadRequest("body contains a NUL character or an unpaired surrogate")
    return body


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting outside string literals (linear, no recursion)."""
    brackets = _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", raw))
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _all_text_safe(value: Any) -> bool:
    """No NUL or lone surrogate in any string; ``value`` is at most MAX_DEPTH deep here."""
    if isinstance(value, str):
        return _UNSAFE_TEXT.search(value) is None
    if isinstance(value, dict):
        return all(_all_text_safe(k) and _all_text_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_text_safe(item) for item in value)
    return True
