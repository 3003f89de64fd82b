"""The outermost host layer: nothing escapes as a bare 500 page, every response carries a
request id, and every request is marked, ended and measured once.

It runs the request in a context of its own with its mark set (one variable: each set costs as
much as a small function call): the app's call, every chunk (``context.run(next, ...)`` behind a
C-level iterator) and the close. The mark, and whatever a plugin sets while the request runs,
never leak into the server's context, nor into another request the same thread serves between
two chunks, and cost no frame of ours per chunk.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context, copy_context
from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard import contract
from dashboard.context import current_request
from dashboard.pipeline.closing import PRODUCED, close_body
from dashboard.pipeline.direct import direct_call
from dashboard.pipeline.exchange import Exchange, answer
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.errors")

#: Observes a finished request: ``(environ, status line, perf_counter at arrival)``.
Meter = Callable[[WSGIEnviron, str, float], None]
_END = object()


def _first_byte(body: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]] | None:
    """Read ``body`` up to its first non-empty chunk: that chunk and the iterator to go on
    with, or ``None`` for a body with no byte. (Empty chunks before it are dropped: they say
    nothing on the wire.)"""
    iterator = iter(body)
    chunk = next(iterator, _END)  # next(), not a for loop: that calls a Python __iter__ again
    while chunk is not _END:
        if chunk:
            return chunk, iterator  # type: ignore[return-value]
        chunk = next(iterator, _END)
    return None


def _end(ends: list[Callable[[], object]]) -> None:
    """Run the callbacks given to :func:`dashboard.context.at_request_end`, each once;
    one that raises is logged and the others still run."""
    while ends:
        callback = ends.pop(0)
        try:
            callback()
        except Exception:
            logger.exception("a request-end callback failed")


class _ServedBody:
    """The outermost body, its first byte already read: produced and closed in the request's
    context, closed once (when exhausted, so clients that never call ``close()``, such as test
    clients, still release what the request held, or at ``close()``) and measured once then.

    Iteration is C-level only: the first chunk, then ``context.run(next, ...)`` for each further
    chunk (the request's code runs with its marks set, the server's never does), then a
    ``close`` call at exhaustion.
    """

    __slots__ = ("_closed", "_context", "_exchange", "_first", "_inner", "_meter", "_rest",
                 "_started")

    def __init__(self, first: bytes, rest: Iterator[bytes], inner: Iterable[bytes],
                 context: Context, exchange: Exchange, meter: Meter | None,
                 started: float) -> None:
        self._first = first
        self._rest = rest
        self._inner = inner
        self._context = context
        self._exchange = exchange
        self._meter = meter
        self._started = started
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        rest = iter(partial(self._context.run, next, self._rest, _END), _END)
        # mypy reads next(it, _END) as object; the sentinel stops it, so rest yields bytes
        return itertools.chain((self._first,), rest, iter(self.close, None))  # type: ignore[arg-type]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._context.run(close_body, self._inner)
            finally:
                if self._exchange.ends:
                    self._context.run(_end, self._exchange.ends)
        finally:
            if self._meter is not None:
                self._meter(self._exchange.environ, self._exchange.status, self._started)


class LastResortCatcher:
    """Outermost layer: nothing escapes as a bare 500 page; every response has a request id;
    every request is marked (:class:`~dashboard.context.ServedRequest`), ended (its end
    callbacks run, once) and measured by ``meter`` (when given)."""

    def __init__(self, app: WSGIApp, host: Host, meter: Meter | None = None, *,
                 pass_by: tuple[tuple[str, ...], WSGIApp] | None = None) -> None:
        """``pass_by`` is ``(prefixes, below)``: the pipeline's top run of wrappers acts only
        on paths starting with one of ``prefixes`` (:mod:`dashboard.pipeline.pathscope`), so a
        request on any other path is handed to ``below``, the layer under that run."""
        self.app = direct_call(app)
        self.host = host
        self.meter = None if meter is None else direct_call(meter)
        self.scoped: tuple[str, ...] | None = None
        self.below = self.app
        if pass_by is not None:
            self.scoped, below = pass_by
            self.below = direct_call(below)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = contract.request_id(environ)
        exchange = Exchange()  # filled here: an __init__ would be one more frame per request
        exchange.environ = environ
        exchange.start_response = start_response
        exchange.request_id = rid
        exchange.host = self.host
        exchange.ends = None
        exchange.declared_length = None
        exchange.started = False
        exchange.status = "500"
        context = copy_context()  # the request runs in its own context: nothing leaks out
        context.run(current_request.set, exchange)
        iterable = None
        try:
            app = self.app
            if self.scoped is not None and not environ.get("PATH_INFO", "").startswith(
                    self.scoped):
                app = self.below
            iterable = context.run(app, environ, exchange.__call__)  # see direct_call
            started_body = (None if type(iterable) in PRODUCED
                            else context.run(_first_byte, iterable))
        except Exception as exc:
            if iterable is not None:
                context.run(close_body, iterable)
            iterable = context.run(answer, exc, self.internal_error(exc, environ), environ,
                                   exchange.__call__)
            started_body = None
        if started_body is not None:
            return _ServedBody(*started_body, iterable, context, exchange, self.meter, started)
        try:
            if type(iterable) not in PRODUCED:  # a body with no byte
                context.run(close_body, iterable)
                iterable = []
        finally:
            if exchange.ends:  # the request has ended
                context.run(_end, exchange.ends)
        if self.meter is not None:
            self.meter(environ, exchange.status, started)
        return iterable

    @staticmethod
    def internal_error(exc: BaseException, environ: WSGIEnviron) -> Any:
        logger.error("error escaped the pipeline in %s %s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), exc_info=exc)
        return contract.error_response(environ, "INTERNAL_ERROR")
