"""The two host-owned layers of the WSGI pipeline, around the plugins' wrappers.

``request -> LastResortCatcher -> [plugin wrappers, TOML order] -> ExceptionMapper -> app``

* :class:`ExceptionMapper` (innermost) turns whatever the app raises into a contract response by
  asking ``dashboard_map_exception``, so plugin wrappers see HTTP responses, not exceptions.
* :class:`LastResortCatcher` (outermost) makes sure nothing escapes as a bare 500 page, stamps
  ``X-Request-ID`` on every response, marks the request (its host, for the database calls made
  while it runs, its id, for log lines; :mod:`dashboard.context`), runs what plugins asked
  to run at its end, and passes by the top run of wrappers that act on other paths only
  (:mod:`dashboard.pipeline.pathscope`).

Both stream: bodies are never buffered, ``close()`` is passed through (also when a server closes
a body it never iterated), and an exception raised while a body streams is answered as long as
nothing has been sent yet (after that the server aborts the connection, which is the only honest
thing left to do). They sit on every request, so they are written for cost:

* the mapper reads the app's body up to its first non-empty chunk before it returns (an error
  there is still answerable, and nothing is sent before that chunk anyway), and hands the rest on
  as a C-level chain: past the first byte nothing of ours runs per chunk. An empty body, a body
  whose first chunk is all it declared, and an error answer come back as lists, which every
  layer above finishes at once;
* the catcher runs the request in a context of its own with its mark set (one variable: each
  set costs as much as a small function call): the app's call, every chunk
  (``context.run(next, ...)`` behind a C-level iterator) and the close. The mark, and whatever a
  plugin sets while the request runs, never leak into the server's context, nor into another
  request the same thread serves between two chunks, and cost no frame of ours per chunk.
"""

from __future__ import annotations

import itertools
import logging
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextvars import Context, copy_context
from functools import partial
from typing import TYPE_CHECKING, Any

from dashboard import contract
from dashboard.context import ServedRequest, current_request
from dashboard.db.engine import report_outcome
from dashboard.db.faults import DbOutcome, Fault, classify
from dashboard.hooks import calls as hookcalls
from dashboard.logs.faultlog import dialect_of, log_classified
from dashboard.pipeline.closing import PRODUCED, ClosingBody, close_body
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.errors")

#: Observes a finished request: ``(environ, status line, perf_counter at arrival)``.
Meter = Callable[[WSGIEnviron, str, float], None]
_END = object()


class _Exchange(ServedRequest):
    """One request: what code inside it may ask (:class:`ServedRequest`, the context's mark),
    and its ``start_response`` as the server sees it: records the status sent, stamps the
    request id, and passes ``exc_info`` only once the server has had a first call.

    Layers below answer an error with ``exc_info`` whether or not the app had called
    ``start_response`` (PEP 3333 lets an error handler always pass it); only here is it known
    whether the server saw headers before, and a first call must not carry it (servers, and
    Werkzeug's test client, re-raise it).

    It also keeps the ``Content-Length`` the answer declares, for the mapper (see
    :func:`_read_start`): the one look at the headers serves both.
    """

    __slots__ = ("declared_length", "environ", "start_response", "started", "status")

    declared_length: str | None
    environ: WSGIEnviron
    start_response: StartResponse
    started: bool
    status: str

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not self.started:
            self.started = True
            exc_info = None
        self.status = status
        declared = None
        stamped = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                declared = value
            elif lowered == "x-request-id":
                stamped = True
        self.declared_length = declared
        if not stamped:
            headers.append((contract.REQUEST_ID_HEADER, self.request_id))
        return self.start_response(status, headers, exc_info)


def direct_call(app: WSGIApp) -> WSGIApp:
    """``app.__call__`` when ``app`` is an instance of a class with a Python ``__call__``; else
    ``app`` itself.

    Each layer calls the next once per request. CPython calls an instance through its type's
    ``__call__`` slot, a C detour that costs about as much again as the layer's own pass-through
    code; its bound ``__call__`` is called like a plain Python function. So the host hands every
    layer (and the mapper the app) the next one in this form. It is the same callable: a layer
    sees no difference, and a plain function or bound method comes back as it is.
    """
    if type(type(app).__call__) is types.FunctionType:
        return app.__call__  # type: ignore[no-any-return]
    return app


def _answer(exc: BaseException, response: Any, environ: WSGIEnviron,
            start_response: StartResponse) -> list[bytes]:
    """Send ``response`` for ``exc`` through ``start_response``, replacing any headers set;
    its body, read whole."""
    exc_info = (type(exc), exc, exc.__traceback__)
    if type(response) is contract.PreparedError:  # a refusal's envelope: built whole already
        return response(environ, start_response, exc_info)

    def replace_headers(status: str, headers: list[tuple[str, str]], _: Any = None) -> Any:
        return start_response(status, headers, exc_info)

    return _listed(response(environ, replace_headers))


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


def _read_start(body: Iterable[bytes]) -> list[bytes] | tuple[bytes, Iterator[bytes]]:
    """Read ``body`` up to its first non-empty chunk. A body that ends there, as long as the
    ``Content-Length`` its answer declared (as the host's outer layer saw it pass, looked at
    once that chunk came: an app may start its answer only then), or that has no byte, comes
    back as a list; any other, as its first chunk and the iterator of the rest. One frame for
    what every request needs.

    The length is the one the server is sent: a wrapper that rewrites the body and its length
    (or holds the headers back) makes it differ from the app's, and the body simply streams
    (on an exact match by chance, the next read finds the rest and chains it on)."""
    iterator = iter(body)
    # next(), not for loops: each of those would call the body's __iter__ again, which for a
    # Werkzeug ClosingIterator is a Python method.
    first = next(iterator, _END)
    while not first:  # an empty chunk (the end marker is true)
        first = next(iterator, _END)
    if first is _END:
        return []
    request = current_request.get()
    if type(request) is not _Exchange or request.declared_length != str(len(first)):
        return first, iterator  # type: ignore[return-value]
    more = next(iterator, _END)  # the end of a body whose length was declared, read to run it
    while more is not _END:
        if more:  # more than it declared: it streams as it is
            return first, itertools.chain((more,), iterator)  # type: ignore[arg-type]
        more = next(iterator, _END)
    return [first]  # type: ignore[list-item]


class ExceptionMapper:
    """Innermost layer: exceptions from the app become contract responses.

    An answer the app has produced whole comes back as a list: its first chunk is as long as
    the ``Content-Length`` it declared (every Werkzeug ``Response`` of bytes or text) and the
    body then ends. The mapper reads that end too, so the app's code after its last chunk runs
    as it would at the server's next call, then closes the app's body: every layer above
    finishes such a request at once, with no body object of its own. So do contract answers
    to an error, which are built whole here.
    """

    def __init__(self, app: WSGIApp, host: Host) -> None:
        self.app = direct_call(app)
        self.host = host

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        iterable = None
        try:
            iterable = self.app(environ, start_response)
            if type(iterable) in PRODUCED:
                return iterable  # type: ignore[no-any-return]
            started = _read_start(iterable)
        except Exception as exc:
            if iterable is not None:
                close_body(iterable)
            return _answer(exc, self.to_response(exc, environ), environ, start_response)
        if type(started) is list:
            close = getattr(iterable, "close", None)  # finished here (close_body, inlined: a
            if close is not None:                      # frame less on most requests), so every
                close()                                # layer above finishes at once
            return started
        first, rest = started
        # The first chunk, then the rest as a C-level chain (no frame of ours per chunk); the
        # close reaches the app's body once.
        return ClosingBody(itertools.chain((first,), rest), close_body, iterable)

    def to_response(self, exc: BaseException, environ: WSGIEnviron) -> Any:
        fault = classify(exc)
        if fault is Fault.POOL_EXHAUSTED:
            # SQLAlchemy fires no engine event for a pool timeout; this is where it is seen.
            report_outcome(self.host, DbOutcome(fault, exc))
        response = hookcalls.first_answer(self.host, "dashboard_map_exception", exc=exc,
                                          environ=environ, host=self.host)
        if fault is None and response is not None:
            # A plugin's own refusal (e.g. the breaker failing fast): expected, and logging a
            # traceback per refused request would flood the log and slow the fast answer.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s answered by a plugin in %s %s", type(exc).__name__,
                             environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        elif fault is None:
            logger.error("unhandled error in %s %s", environ.get("REQUEST_METHOD"),
                         environ.get("PATH_INFO"), exc_info=exc)
        else:
            log_classified(logger, fault, exc, environ, dialect_of(exc, self._dialect()))
        if response is not None:
            return response
        code = "INTERNAL_ERROR" if fault is None else "DB_QUERY_ERROR"
        return contract.error_response(environ, code)

    def _dialect(self) -> str | None:
        try:
            return str(self.host.engine.dialect.name)
        except Exception:
            return None


def _listed(body: Iterable[bytes]) -> list[bytes]:
    try:
        return list(body)
    finally:
        close_body(body)


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
                 context: Context, exchange: _Exchange, meter: Meter | None,
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
        return itertools.chain((self._first,), rest, iter(self.close, None))

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
    every request is marked (:class:`ServedRequest`), ended (its end callbacks run, once) and
    measured by ``meter`` (when given)."""

    def __init__(self, app: WSGIApp, host: Host, meter: Meter | None = None, *,
                 pass_by: tuple[tuple[str, ...], WSGIApp] | None = None) -> None:
        """``pass_by`` is ``(prefixes, below)``: the pipeline's top run of wrappers acts only
        on paths starting with one of ``prefixes`` (:mod:`dashboard.pipeline.pathscope`), so a request
        on any other path is handed to ``below``, the layer under that run."""
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
        exchange = _Exchange()  # filled here: an __init__ would be one more frame per request
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
            iterable = context.run(_answer, exc, self.internal_error(exc, environ), environ,
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
        return iterable  # type: ignore[no-any-return]

    @staticmethod
    def internal_error(exc: BaseException, environ: WSGIEnviron) -> Any:
        logger.error("error escaped the pipeline in %s %s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), exc_info=exc)
        return contract.error_response(environ, "INTERNAL_ERROR")
