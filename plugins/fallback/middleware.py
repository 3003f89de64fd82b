"""The fallback's WSGI layer: keeps good answers as they pass, stands in for degraded ones.

For a request it does not cover (not a GET, a configured path, or carrying ``Authorization`` /
``Cookie``; never a control endpoint) it calls the app and returns its iterable untouched. For
one it covers:

* a ``200`` JSON answer that may be kept streams through unchanged; its chunks are remembered
  (never more than 1 MiB: past that the answer is simply not kept) and handed to the writer once
  the body ended completely;
* a ``503``/``504`` JSON answer is held back (error bodies are small; over 64 KiB it is passed
  on untouched), its envelope read, and when its code is one of CONTRACT §12's and a young enough
  answer is kept, the client gets the stale ``200`` instead; otherwise the held answer is sent as
  it was.

``start_response`` is forwarded at once except for the held-back errors (PEP 3333 lets a
middleware delay it until its first body chunk), and ``close()`` always reaches the app's body.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from dashboard.closing import close_body
from dashboard.contract import CONTROL_PATH_PREFIXES
from dashboard.types import WSGIApp
from plugins.fallback.standin import (
    MAX_ERROR_BODY_BYTES,
    STANDABLE_STATUSES,
    Degraded,
    read_degraded,
    stand_in,
)
from plugins.fallback.store import MAX_BODY_BYTES, KeptAnswer

_MAX_PATHS = 4096


class RequestFilter:
    """Which requests the fallback covers, and the key their answers are kept under.

    Whether a path is covered is remembered per path (the last :data:`_MAX_PATHS` of them), so
    a request the fallback does not cover costs one cache lookup, not a pattern match.
    """

    def __init__(self, patterns: list[str]) -> None:
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or r"(?!)"
        match = re.compile(joined, re.DOTALL).match
        self.covers: Callable[[str], bool] = functools.lru_cache(maxsize=_MAX_PATHS)(
            lambda path: bool(match(path)) and not _is_control(path))

    def key_for(self, environ: dict[str, Any]) -> str | None:
        path = environ.get("PATH_INFO", "")
        if not self.covers(path) or environ.get("REQUEST_METHOD") != "GET":
            return None
        if "HTTP_AUTHORIZATION" in environ or "HTTP_COOKIE" in environ:
            return None
        query = environ.get("QUERY_STRING", "")
        return f"{path}?{query}" if query else path


def _is_control(path: str) -> bool:
    """Never answered from the fallback (nor kept), whatever ``paths`` says: the contract's
    control prefixes (``/health`` covers ``/health/deep`` too)."""
    return path.startswith(CONTROL_PATH_PREFIXES)


def keepable(headers: list[tuple[str, str]]) -> bool:
    """The headers of a ``200`` that may be kept: JSON, neither private nor ``no-store``, not
    known to be big, setting no cookie."""
    json_type = False
    for name, value in headers:
        kind = _HEADER_KINDS.get(name) or _HEADER_KINDS.get(name.lower())
        if kind is None:
            continue
        if kind == "content-type":
            json_type = _is_json(value)
        elif kind == "cache-control":
            directives = {part.split("=", 1)[0].strip().lower() for part in value.split(",")}
            if "private" in directives or "no-store" in directives:
                return False
        elif kind == "content-length":
            if not value.strip().isdigit() or int(value) > MAX_BODY_BYTES:
                return False
        else:
            return False  # set-cookie: an answer that sets a cookie belongs to one client
    return json_type


#: The headers ``keepable`` reads, by their lower-case name and the spellings apps send.
_HEADER_KINDS = {spelling: kind
                 for kind in ("content-type", "cache-control", "content-length", "set-cookie")
                 for spelling in (kind, kind.title())}


@functools.lru_cache(maxsize=64)
def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _json_typed(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" and _is_json(value) for name, value in headers)


_STANDABLE = frozenset(str(status) for status in STANDABLE_STATUSES)


class FallbackMiddleware:
    """See the module docstring. Collaborators are plain callables, so it tests without a host.

    ``offer(key, stored_at, chunks)`` hands a passed answer to the writer; ``lookup(key)`` reads
    the kept one; ``wall()`` is epoch seconds; ``on_stand_in(code)`` counts a stand-in.
    """

    def __init__(self, app: WSGIApp, requests: RequestFilter, *,
                 offer: Callable[[str, float, list[bytes]], object],
                 lookup: Callable[[str], KeptAnswer | None], max_age_seconds: float,
                 wall: Callable[[], float], on_stand_in: Callable[[str], None]) -> None:
        self.app = app
        self.requests = requests
        self.offer = offer
        self.lookup = lookup
        self.max_age_seconds = max_age_seconds
        self.wall = wall
        self.on_stand_in = on_stand_in

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        key = self.requests.key_for(environ)
        if key is None:
            return self.app(environ, start_response)
        covered = _Covered(self, environ, start_response, key)
        covered.iterable = self.app(environ, covered.start_response)
        return covered

    def replacement(self, key: str, degraded: Degraded, environ: dict[str, Any]
                    ) -> tuple[bytes, list[tuple[str, str]]] | None:
        """The stale answer for a degraded one, or ``None`` to let the degraded one stand."""
        kept = self.lookup(key)
        if kept is None:
            return None
        now = self.wall()
        if now - kept.stored_at > self.max_age_seconds:
            return None
        return stand_in(kept, degraded, environ, now)


class _Covered:
    """One covered request, as both the ``start_response`` the app calls and the body the
    server gets (one object per request): what the app started, and what is kept or held back.
    Streams, keeps or holds chunks, and always closes the app's body."""

    __slots__ = (
        "chunks",
        "environ",
        "held",
        "held_size",
        "iterable",
        "keeping",
        "kept_size",
        "key",
        "middleware",
        "stored_at",
        "upstream",
        "write",
    )

    def __init__(self, middleware: FallbackMiddleware, environ: dict[str, Any],
                 upstream: Callable[..., Any], key: str) -> None:
        self.middleware = middleware
        self.environ = environ
        self.upstream = upstream
        self.key = key
        self.keeping = False
        self.chunks: list[bytes] = []
        self.kept_size = 0
        self.stored_at = 0.0
        self.held: tuple[str, list[tuple[str, str]], Any] | None = None
        self.held_size = 0
        self.iterable: Iterable[bytes] = ()
        self.write: Callable[[bytes], Any] | None = None

    # -- the app's start_response -------------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], Any]:
        if status[:3] in _STANDABLE and _json_typed(headers):
            self.held = (status, headers, exc_info)
            self.keeping = False
            self.chunks = []
            return self.hold
        self.held = None
        self.keeping = status.startswith("200") and keepable(headers)
        if self.keeping:
            self.stored_at = self.middleware.wall()
        write = self.write = self.upstream(status, headers, exc_info)
        return self._untracked_write if self.keeping else write

    def _untracked_write(self, data: bytes) -> Any:
        self.keeping = False  # bytes that bypass the body cannot be kept faithfully
        assert self.write is not None
        return self.write(data)

    def hold(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.held_size += len(chunk)

    def release(self) -> list[bytes]:
        """Send the held answer as it was; returns its buffered chunks."""
        assert self.held is not None
        status, headers, exc_info = self.held
        self.held = None
        self.upstream(status, headers, exc_info)
        chunks, self.chunks = self.chunks, []
        return chunks

    def finish_held(self) -> list[bytes]:
        """The held error ended: stand in for it when allowed, else send it untouched."""
        assert self.held is not None
        _status, headers, exc_info = self.held
        answer = None
        try:
            degraded = read_degraded(b"".join(self.chunks), headers)
            if degraded is not None:
                answer = self.middleware.replacement(self.key, degraded, self.environ)
        except Exception:  # the fallback must never fail a request: the real answer stands
            answer = degraded = None
        if answer is None or degraded is None:
            return self.release()
        body, new_headers = answer
        self.held = None
        self.chunks = []
        self.upstream("200 OK", new_headers, exc_info)
        self.middleware.on_stand_in(degraded.code)
        return [body]

    # -- the body -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.iterable:
            if self.held is not None:
                self.hold(chunk)
                if self.held_size > MAX_ERROR_BODY_BYTES:
                    yield from self.release()
                continue
            if self.keeping:
                self.kept_size += len(chunk)
                if self.kept_size > MAX_BODY_BYTES:
                    self.keeping = False
                    self.chunks = []
                else:
                    self.chunks.append(chunk)
            yield chunk
        if self.held is not None:
            yield from self.finish_held()
        elif self.keeping and self.chunks:
            self.keeping = False
            self.middleware.offer(self.key, self.stored_at, self.chunks)

    def close(self) -> None:
        close_body(self.iterable)
