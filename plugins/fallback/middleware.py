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
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

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


class RequestFilter:
    """Which requests the fallback covers, and the key their answers are kept under."""

    def __init__(self, patterns: list[str]) -> None:
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or r"(?!)"
        self._match = re.compile(joined, re.DOTALL).match

    def key_for(self, environ: dict[str, Any]) -> str | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        if "HTTP_AUTHORIZATION" in environ or "HTTP_COOKIE" in environ:
            return None
        path = environ.get("PATH_INFO", "")
        if not self._match(path) or _is_control(path):
            return None
        query = environ.get("QUERY_STRING", "")
        return f"{path}?{query}" if query else path


def _is_control(path: str) -> bool:
    """Never answered from the fallback (nor kept), whatever ``paths`` says: the contract's
    control prefixes (``/health`` covers ``/health/deep`` too)."""
    return path.startswith(CONTROL_PATH_PREFIXES)


def keepable(status: str, headers: list[tuple[str, str]]) -> bool:
    """A ``200`` JSON answer that is neither private nor ``no-store`` and not known to be big."""
    if not status.startswith("200"):
        return False
    json_type = False
    for name, value in headers:
        lower = name.lower()
        if lower == "content-type":
            json_type = value.split(";", 1)[0].strip().lower() == "application/json"
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


def _json_error(status: str, headers: list[tuple[str, str]]) -> bool:
    if not status[:3].isdigit() or int(status[:3]) not in STANDABLE_STATUSES:
        return False
    return any(name.lower() == "content-type"
               and value.split(";", 1)[0].strip().lower() == "application/json"
               for name, value in headers)


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
        exchange = _Exchange(self, environ, start_response, key)
        return _Body(self.app(environ, exchange.start_response), exchange)

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


class _Exchange:
    """One covered request: what the app started, and what is being kept or held back."""

    __slots__ = (
        "chunks",
        "environ",
        "forwarded",
        "held",
        "held_size",
        "keeping",
        "kept_size",
        "key",
        "middleware",
        "stored_at",
        "upstream",
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
        self.forwarded = False

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], Any]:
        if _json_error(status, headers):
            self.held = (status, headers, exc_info)
            self.keeping = False
            self.chunks = []
            return self._hold_write
        self.held = None
        self.keeping = keepable(status, headers)
        if self.keeping:
            self.stored_at = self.middleware.wall()
        self.forwarded = True
        write = self.upstream(status, headers, exc_info)
        if not self.keeping:
            return write

        def untracked_write(data: bytes) -> Any:
            self.keeping = False  # bytes that bypass the body cannot be kept faithfully
            return write(data)

        return untracked_write

    def _hold_write(self, data: bytes) -> None:
        self.hold(data)

    def keep(self, chunk: bytes) -> None:
        self.kept_size += len(chunk)
        if self.kept_size > MAX_BODY_BYTES:
            self.keeping = False
            self.chunks = []
        else:
            self.chunks.append(chunk)

    def hold(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.held_size += len(chunk)

    def release(self) -> list[bytes]:
        """Send the held answer as it was; returns its buffered chunks."""
        assert self.held is not None
        status, headers, exc_info = self.held
        self.held = None
        self.forwarded = True
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
        self.forwarded = True
        self.upstream("200 OK", new_headers, exc_info)
        self.middleware.on_stand_in(degraded.code)
        return [body]


class _Body:
    """The covered request's body: streams, keeps or holds chunks, and always closes the app's."""

    __slots__ = ("exchange", "iterable")

    def __init__(self, iterable: Iterable[bytes], exchange: _Exchange) -> None:
        self.iterable = iterable
        self.exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        exchange = self.exchange
        for chunk in self.iterable:
            if exchange.held is not None:
                exchange.hold(chunk)
                if exchange.held_size > MAX_ERROR_BODY_BYTES:
                    yield from exchange.release()
                continue
            if exchange.keeping:
                exchange.keep(chunk)
            yield chunk
        if exchange.held is not None:
            yield from exchange.finish_held()
        elif exchange.keeping and exchange.chunks:
            exchange.keeping = False
            exchange.middleware.offer(exchange.key, exchange.stored_at, exchange.chunks)

    def close(self) -> None:
        close = getattr(self.iterable, "close", None)
        if close is not None:
            close()
