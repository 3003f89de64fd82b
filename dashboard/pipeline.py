"""The two host-owned layers of the WSGI pipeline, around the plugins' wrappers.

``request -> LastResortCatcher -> [plugin wrappers, TOML order] -> ExceptionMapper -> app``

* :class:`ExceptionMapper` (innermost) turns whatever the app raises into a contract response by
  asking ``dashboard_map_exception``, so plugin wrappers see HTTP responses, not exceptions.
* :class:`LastResortCatcher` (outermost) makes sure nothing escapes as a bare 500 page, stamps
  ``X-Request-ID`` on every response, and marks this host as the one serving database calls made
  while the request runs (see :func:`dashboard.context.serving`).

Both stream: bodies are never buffered, ``close()`` is passed through, and an exception raised
while a body streams is answered as long as nothing has been sent yet (after that the server
aborts the connection, which is the only honest thing left to do).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from dashboard import contract, hookcalls
from dashboard.context import current_host, serving
from dashboard.db import report_outcome
from dashboard.dbfaults import DbOutcome, Fault, classify
from dashboard.streaming import ContextBoundIterable
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.errors")

ErrorToResponse = Callable[[BaseException, WSGIEnviron], Response]


def run_guarded(app: WSGIApp, environ: WSGIEnviron, start_response: StartResponse,
                to_response: ErrorToResponse) -> Iterable[bytes]:
    """Call ``app``; answer an exception raised before the body starts with ``to_response``."""
    started: list[bool] = []

    def recording_start_response(status: str, headers: list[tuple[str, str]],
                                 exc_info: Any = None) -> Any:
        started.append(True)
        return start_response(status, headers, exc_info)

    try:
        iterable = app(environ, recording_start_response)
    except Exception as exc:
        return _answer(exc, environ, start_response, to_response, started)
    return _iterate_guarded(iterable, environ, start_response, to_response, started)


def _answer(exc: BaseException, environ: WSGIEnviron, start_response: StartResponse,
            to_response: ErrorToResponse, started: list[bool]) -> Iterable[bytes]:
    response = to_response(exc, environ)
    # PEP 3333: replacing headers the app already set requires exc_info (the server re-raises
    # if they were sent); a first call must not pass it.
    exc_info = sys.exc_info() if started else None

    def replace_headers(status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> Any:
        return start_response(status, headers, exc_info)

    return response(environ, replace_headers)


def _iterate_guarded(iterable: Iterable[bytes], environ: WSGIEnviron,
                     start_response: StartResponse, to_response: ErrorToResponse,
                     started: list[bool]) -> Iterator[bytes]:
    sent_body = False
    try:
        for chunk in iterable:
            sent_body = sent_body or bool(chunk)
            yield chunk
    except Exception as exc:
        if sent_body:
            raise
        yield from _answer(exc, environ, start_response, to_response, started)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


class ExceptionMapper:
    """Innermost layer: exceptions from the app become contract responses."""

    def __init__(self, app: WSGIApp, host: Host) -> None:
        self.app = app
        self.host = host

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        return run_guarded(self.app, environ, start_response, self.to_response)

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
            logger.info("%s answered by a plugin in %s %s", type(exc).__name__,
                        environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        elif fault is None:
            logger.error("unhandled error in %s %s", environ.get("REQUEST_METHOD"),
                         environ.get("PATH_INFO"), exc_info=exc)
        else:
            logger.warning("database %s in %s %s", fault.value, environ.get("REQUEST_METHOD"),
                           environ.get("PATH_INFO"), exc_info=exc)
        if response is not None:
            return response
        code = "INTERNAL_ERROR" if fault is None else "DB_QUERY_ERROR"
        return contract.error_response(environ, code)


class LastResortCatcher:
    """Outermost layer: nothing escapes as a bare 500 page; every response has a request id."""

    def __init__(self, app: WSGIApp, host: Host) -> None:
        self.app = app
        self.host = host

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        rid = contract.request_id(environ)

        def stamped_start_response(status: str, headers: list[tuple[str, str]],
                                   exc_info: Any = None) -> Any:
            if not any(name.lower() == "x-request-id" for name, _ in headers):
                headers.append((contract.REQUEST_ID_HEADER, rid))
            return start_response(status, headers, exc_info)

        with serving(self.host):
            iterable = run_guarded(self.app, environ, stamped_start_response, self._internal_error)
        return ContextBoundIterable(iterable, current_host, self.host)

    @staticmethod
    def _internal_error(exc: BaseException, environ: WSGIEnviron) -> Response:
        logger.error("error escaped the pipeline in %s %s", environ.get("REQUEST_METHOD"),
                     environ.get("PATH_INFO"), exc_info=exc)
        return contract.error_response(environ, "INTERNAL_ERROR")
