"""The two host-owned layers of the WSGI pipeline, around the plugins' wrappers.

``request -> LastResortCatcher -> [plugin wrappers, TOML order] -> ExceptionMapper -> app``

* :class:`ExceptionMapper` (innermost) turns whatever the app raises into a contract response by
  asking ``dashboard_map_exception``, so plugin wrappers see HTTP responses, not exceptions.
* :class:`LastResortCatcher` (outermost) makes sure nothing escapes as a bare 500 page, stamps
  ``X-Request-ID`` on every response, and marks this host as the one serving database calls made
  while the request runs (see :mod:`dashboard.context`).

Both stream: bodies are never buffered, ``close()`` is passed through (also when a server closes
a body it never iterated), and an exception raised while a body streams is answered as long as
nothing has been sent yet (after that the server aborts the connection, which is the only honest
thing left to do). They sit on every request, so they are written for cost: one closure per
request, plain iterator classes instead of generators, and no body wrapper at all around a body
that is already a list (it can neither raise nor query the database while it is sent). A plugin
wrapper around such a list says so with a true ``produced`` attribute (the admission slot's body,
the breaker's scope): the outer layer then only measures and closes it, with no layer per chunk.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dashboard import contract, hookcalls
from dashboard.context import current_host
from dashboard.db import report_outcome
from dashboard.dbfaults import DbOutcome, Fault, classify
from dashboard.faultlog import dialect_of, log_classified
from dashboard.requestcontext import request_id_var
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from dashboard.types import Host

logger = logging.getLogger("dashboard.errors")

ErrorToResponse = Callable[[BaseException, WSGIEnviron], Any]
#: Observes a finished request: ``(environ, status line, perf_counter at arrival)``.
Meter = Callable[[WSGIEnviron, str, float], None]
_PRODUCED = (list, tuple)


class _Exchange:
    """One request's ``start_response``: records the status sent, stamps the request id."""

    __slots__ = ("environ", "request_id", "start_response", "started", "status")

    def __init__(self, environ: WSGIEnviron, start_response: StartResponse,
                 request_id: str | None) -> None:
        self.environ = environ
        self.start_response = start_response
        self.request_id = request_id
        self.started = False
        self.status = "500"

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.started = True
        self.status = status
        if self.request_id is not None:
            for name, _ in headers:
                if name.lower() == "x-request-id":
                    break
            else:
                headers.append((contract.REQUEST_ID_HEADER, self.request_id))
        return self.start_response(status, headers, exc_info)

    def answer(self, exc: BaseException, to_response: ErrorToResponse) -> Iterable[bytes]:
        """Answer ``exc`` with ``to_response``; replacing headers already set passes exc_info
        (PEP 3333: the server re-raises if they were sent), a first call must not."""
        response = to_response(exc, self.environ)
        exc_info = sys.exc_info() if self.started else None

        def replace_headers(status: str, headers: list[tuple[str, str]],
                            _exc_info: Any = None) -> Any:
            return self(status, headers, exc_info)

        return response(self.environ, replace_headers)  # type: ignore[no-any-return]


class _GuardedBody:
    """Iterates and closes the app's body; answers an exception raised before the first byte.

    The body is closed once: when it is exhausted (so clients that never call ``close()``, such
    as test clients, still release what the request held) or at ``close()``, whichever is first.
    """

    __slots__ = ("_answer", "_closed", "_exchange", "_inner", "_iterator", "_sent",
                 "_to_response")

    def __init__(self, inner: Iterable[bytes], exchange: _Exchange,
                 to_response: ErrorToResponse) -> None:
        self._inner = inner
        self._exchange = exchange
        self._to_response = to_response
        self._iterator: Iterator[bytes] | None = None
        self._answer: Iterator[bytes] | None = None
        self._sent = False
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._answer is not None:
            return next(self._answer)
        try:
            if self._iterator is None:
                self._iterator = iter(self._inner)
            chunk = next(self._iterator)
        except StopIteration:
            self.close()
            raise
        except Exception as exc:
            if self._sent:
                self.close()
                raise
            self.close()
            self._answer = iter(self._exchange.answer(exc, self._to_response))
            return next(self._answer)
        if chunk:
            self._sent = True
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def guarded(app: WSGIApp, environ: WSGIEnviron, start_response: StartResponse,
            to_response: ErrorToResponse) -> Iterable[bytes]:
    """Call ``app``; answer an exception raised before the body starts with ``to_response``."""
    exchange = _Exchange(environ, start_response, None)
    try:
        iterable = app(environ, exchange)
    except Exception as exc:
        return exchange.answer(exc, to_response)
    if type(iterable) in _PRODUCED:
        return iterable
    return _GuardedBody(iterable, exchange, to_response)


class ExceptionMapper:
    """Innermost layer: exceptions from the app become contract responses."""

    def __init__(self, app: WSGIApp, host: Host) -> None:
        self.app = app
        self.host = host

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        return guarded(self.app, environ, start_response, self.to_response)

    def to_response(self, exc: BaseException, environ: WSGIEnviron) -> Response:
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
            return response  # type: ignore[no-any-return]
        code = "INTERNAL_ERROR" if fault is None else "DB_QUERY_ERROR"
        return contract.error_response(environ, code)

    def _dialect(self) -> str | None:
        try:
            return str(self.host.engine.dialect.name)
        except Exception:
            return None


class _ServedBody(_GuardedBody):
    """The outermost body: guarded, produced and closed with this host marked as serving and
    the request id set for log lines, and measured once when closed.

    The marks are set per chunk, not for the whole iteration: they must never leak into another
    request the same thread serves between two chunks.
    """

    __slots__ = ("_host", "_meter", "_started")

    def __init__(self, inner: Iterable[bytes], exchange: _Exchange,
                 to_response: ErrorToResponse, host: Host, meter: Meter | None,
                 started: float) -> None:
        super().__init__(inner, exchange, to_response)
        self._host = host
        self._meter = meter
        self._started = started

    def __next__(self) -> bytes:
        host_token = current_host.set(self._host)
        id_token = request_id_var.set(self._exchange.request_id)
        try:
            return super().__next__()
        finally:
            request_id_var.reset(id_token)
            current_host.reset(host_token)

    def close(self) -> None:
        if self._closed:
            return
        host_token = current_host.set(self._host)
        id_token = request_id_var.set(self._exchange.request_id)
        try:
            super().close()
        finally:
            request_id_var.reset(id_token)
            current_host.reset(host_token)
            if self._meter is not None:
                self._meter(self._exchange.environ, self._exchange.status, self._started)


class _ProducedBody:
    """The outermost body around a plugin wrapper whose chunks are already produced (its
    ``produced`` attribute is true: a list inside, nothing of the app's runs while it is
    iterated, so nothing can raise). Iteration is a plain ``yield from``, with no marks per
    chunk; ``close()`` (at exhaustion or by the server, once) runs with the marks set, as
    :class:`_ServedBody`'s, and is measured once.
    """

    __slots__ = ("_closed", "_exchange", "_host", "_inner", "_meter", "_started")

    def __init__(self, inner: Iterable[bytes], exchange: _Exchange, host: Host,
                 meter: Meter | None, started: float) -> None:
        self._inner = inner
        self._exchange = exchange
        self._host = host
        self._meter = meter
        self._started = started
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner
        self.close()  # exhausted: closed now, as _GuardedBody does (test clients never close)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        host_token = current_host.set(self._host)
        id_token = request_id_var.set(self._exchange.request_id)
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            request_id_var.reset(id_token)
            current_host.reset(host_token)
            if self._meter is not None:
                self._meter(self._exchange.environ, self._exchange.status, self._started)


class LastResortCatcher:
    """Outermost layer: nothing escapes as a bare 500 page; every response has a request id;
    every request is measured by ``meter`` (when given) and its id is set for log lines."""

    def __init__(self, app: WSGIApp, host: Host, meter: Meter | None = None) -> None:
        self.app = app
        self.host = host
        self.meter = meter

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = contract.request_id(environ)
        host_token = current_host.set(self.host)
        id_token = request_id_var.set(rid)
        exchange = _Exchange(environ, start_response, rid)
        try:
            try:
                iterable = self.app(environ, exchange)
            except Exception as exc:
                iterable = exchange.answer(exc, self._internal_error)
        finally:
            request_id_var.reset(id_token)
            current_host.reset(host_token)
        if type(iterable) in _PRODUCED:
            if self.meter is not None:
                self.meter(environ, exchange.status, started)
            return iterable
        if getattr(iterable, "produced", False):
            return _ProducedBody(iterable, exchange, self.host, self.meter, started)
        return _ServedBody(iterable, exchange, self._internal_error, self.host, self.meter,
                           started)

    @staticmethod
    def _internal_error(exc: BaseException, environ: WSGIEnviron) -> Response:
        logger.error("error escaped the pipeline in %s %s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), exc_info=exc)
        return contract.error_response(environ, "INTERNAL_ERROR")
