"""The fallback's WSGI layer: keeps good answers as they pass, stands in for degraded ones.

For a request it does not cover (not a GET, not a configured path, carrying ``Authorization`` or
``Cookie`` or authenticated as a ``REMOTE_USER``; never a control endpoint) it calls the app and
returns its iterable untouched. For one it covers:

* a ``200`` streams through unchanged; its chunks are remembered (never more than 1 MiB: past
  that it is simply not kept) and handed, with its headers, to the writer once the body ended
  completely; a body the host hands on as a list (produced whole) is handed over at once. The
  writer decides whether it may be kept (:mod:`~dashboard.plugins.fallback.keeping`), off the
  request path;
* a ``503``/``504`` JSON answer is held back (error bodies are small; over 64 KiB it is passed
  on untouched), its envelope read, and when its code is one a stand-in is for (see
  docs/plugins/fallback.md) and a young enough answer is kept, the client gets the stale ``200``
  instead; otherwise the held answer is sent as it was.

``start_response`` is forwarded at once except for the held-back errors (PEP 3333 lets a
middleware delay it until its first body chunk), and ``close()`` always reaches the app's body.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from dashboard import CONTROL_PATH_PREFIXES, PRODUCED, WSGIApp, close_body, mark_stand_in
from dashboard.plugins.fallback.keeping import json_typed
from dashboard.plugins.fallback.keys import RequestKey
from dashboard.plugins.fallback.standin import (
    MAX_ERROR_BODY_BYTES,
    STANDABLE_STATUSES,
    read_degraded,
    stand_in,
)
from dashboard.plugins.fallback.store import MAX_BODY_BYTES, KeptAnswer

_MAX_PATHS = 4096
_WILDCARD = re.compile(r"[*?\[]")  # what starts fnmatch's special syntax


class RequestFilter:
    """Which requests the fallback covers, and the key their answers are kept under.

    Whether a path is covered is remembered per path (the last :data:`_MAX_PATHS` of them), so
    a request the fallback does not cover costs one cache lookup, not a pattern match.
    """

    def __init__(self, patterns: list[str]) -> None:
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or r"(?!)"
        match = re.compile(joined, re.DOTALL).match
        #: Each pattern's text before its first wildcard: every covered path starts with one.
        self.prefixes = tuple(_WILDCARD.split(pattern, maxsplit=1)[0] for pattern in patterns)
        self.covers: Callable[[str], bool] = functools.lru_cache(maxsize=_MAX_PATHS)(
            lambda path: bool(match(path)) and not _is_control(path))

    def key_for(self, environ: dict[str, Any], path: str) -> RequestKey | None:
        """What the key of a request on a path :attr:`covers` accepts is made of (``path`` is
        its ``PATH_INFO``; see :mod:`~dashboard.plugins.fallback.keys`), or ``None`` when the
        request itself is not covered: it belongs to one user, or its path holds a ``?``."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        if "HTTP_AUTHORIZATION" in environ or "HTTP_COOKIE" in environ or \
                environ.get("REMOTE_USER") or "?" in path:
            return None
        return (path, environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT"),
                environ.get("HTTP_ACCEPT_ENCODING"), environ.get("HTTP_ACCEPT_LANGUAGE"))


def _is_control(path: str) -> bool:
    """Never answered from the fallback (nor kept), whatever ``paths`` says: the contract's
    control prefixes (``/health`` covers ``/health/deep`` too)."""
    return path.startswith(CONTROL_PATH_PREFIXES)


_STANDABLE = frozenset(str(status) for status in STANDABLE_STATUSES)


class FallbackMiddleware:
    """See the module docstring. Collaborators are plain callables, so it tests without a host.

    ``offer(key, stored_at, headers, chunks)`` hands a passed ``200`` to the writer, which
    decides whether it may be kept; ``lookup(key)`` reads the kept one; ``wall()`` is epoch
    seconds; ``on_stand_in(code)`` counts a stand-in. A ``key`` is a request's
    :data:`~dashboard.plugins.fallback.keys.RequestKey`.
    """

    def __init__(self, app: WSGIApp, requests: RequestFilter, *,
                 offer: Callable[[RequestKey, float, list[tuple[str, str]], Sequence[bytes]],
                                 object],
                 lookup: Callable[[RequestKey], KeptAnswer | None], max_age_seconds: float,
                 wall: Callable[[], float], on_stand_in: Callable[[str], None]) -> None:
        self.app = app
        self.requests = requests
        #: A request on any other path passes through untouched (see dashboard.pipeline.pathscope).
        self.path_prefixes = requests.prefixes
        self.offer = offer
        self.lookup = lookup
        self.max_age_seconds = max_age_seconds
        self.wall = wall
        self.on_stand_in = on_stand_in

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not self.requests.covers(path):  # most requests: one cached lookup
            return self.app(environ, start_response)
        key = self.requests.key_for(environ, path)
        if key is None:
            return self.app(environ, start_response)
        covered = _Covered(self, environ, start_response, key)
        body = self.app(environ, covered.start_response)
        if type(body) in PRODUCED:  # a type() test does not narrow; isinstance takes subclasses
            return covered.produced(body)  # type: ignore[arg-type]
        covered.iterable = body
        return covered

    def replacement(self, key: RequestKey, body: bytes, headers: list[tuple[str, str]],
                    environ: dict[str, Any]) -> tuple[str, bytes, list[tuple[str, str]]] | None:
        """``(degraded code, body, headers)`` of the stale answer for a held one, or ``None``
        to let the held one stand. The kept entry is looked at first: a flood of refusals for
        a key with nothing (young) kept is never parsed."""
        kept = self.lookup(key)
        if kept is None:
            return None
        now = self.wall()
        if now - kept.stored_at > self.max_age_seconds:
            return None
        degraded = read_degraded(body, headers)
        if degraded is None:
            return None
        answer = stand_in(kept, degraded, environ, now)
        return None if answer is None else (degraded.code, *answer)


class _Covered:
    """One covered request, as both the ``start_response`` the app calls and the body the
    server gets (one object per request): what the app started, and what is handed to the
    writer or held back. Streams, remembers or holds chunks, and always closes the app's body.

    The request thread decides only what it must: whether to hold a degraded answer back, and
    whether a ``200`` ended whole. Whether that ``200`` may be kept is the writer's to decide.
    Per request, only the attributes every request needs are set; the rest start as the
    class's defaults.
    """

    headers: list[tuple[str, str]]  # a forwarded answer's, set by start_response
    passing = False  # a 200 whose chunks are remembered for the writer, so far
    chunks: list[bytes]  # set by start_response, for the answer it started
    passed_size = 0
    held: tuple[str, list[tuple[str, str]], Any] | None = None
    held_size = 0
    iterable: Iterable[bytes] = ()
    write: Callable[[bytes], Any] | None = None

    def __init__(self, middleware: FallbackMiddleware, environ: dict[str, Any],
                 upstream: Callable[..., Any], key: RequestKey) -> None:
        self.middleware = middleware
        self.environ = environ
        self.upstream = upstream
        self.key = key

    # -- the app's start_response -------------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], Any]:
        if status[:3] in _STANDABLE and json_typed(headers):
            self.held = (status, headers, exc_info)
            self.passing = False
            self.chunks = []
            return self.hold
        self.held = None
        self.headers = headers
        self.passing = status.startswith("200")
        self.chunks = []
        write = self.write = self.upstream(status, headers, exc_info)
        return self._untracked_write if self.passing else write

    def _untracked_write(self, data: bytes) -> Any:
        self.passing = False  # bytes that bypass the body cannot be kept faithfully
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
        try:
            answer = self.middleware.replacement(self.key, b"".join(self.chunks), headers,
                                                 self.environ)
        except Exception:  # the fallback must never fail a request: the real answer stands
            answer = None
        if answer is None:
            return self.release()
        code, body, new_headers = answer
        self.held = None
        self.chunks = []
        self.upstream("200 OK", new_headers, exc_info)
        self.middleware.on_stand_in(code)
        mark_stand_in(self.environ)  # the request histogram counts what the client got: STALE
        return [body]

    def pass_on(self, chunks: Sequence[bytes]) -> None:
        """A ``200`` that ended whole: to the writer."""
        self.passing = False
        self.middleware.offer(self.key, self.middleware.wall(), self.headers, chunks)

    # -- the body -----------------------------------------------------------------------------

    def produced(self, body: list[bytes] | tuple[bytes, ...]) -> Iterable[bytes]:
        """A body the app produced whole (the host hands such answers on as lists): passed
        on, or stood in for, right away, and handed on as it is."""
        if self.held is not None:
            for chunk in body:
                self.hold(chunk)
            return self.release() if self.held_size > MAX_ERROR_BODY_BYTES else self.finish_held()
        if self.passing and body:
            self.pass_on(body)
        return body

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.iterable:
            if self.held is not None:
                self.hold(chunk)
                if self.held_size > MAX_ERROR_BODY_BYTES:
                    yield from self.release()
                continue
            if self.passing:
                self.passed_size += len(chunk)
                if self.passed_size > MAX_BODY_BYTES:  # never kept: stop remembering it
                    self.passing = False
                    self.chunks = []
                else:
                    self.chunks.append(chunk)
            yield chunk
        if self.held is not None:
            yield from self.finish_held()
        elif self.passing and self.chunks:
            self.pass_on(self.chunks)

    def close(self) -> None:
        close_body(self.iterable)
