"""The innermost host layer: whatever the app raises becomes a contract response.

It asks ``dashboard_map_exception`` first (so a plugin's refusal is its own answer), classifies
database faults for the log and the pool metrics, and otherwise answers ``INTERNAL_ERROR`` or
``DB_QUERY_ERROR``: plugin wrappers above it see HTTP responses, never exceptions.

It sits on every request, so it reads the app's body up to its first non-empty chunk before it
returns (an error there is still answerable, and nothing is sent before that chunk anyway), and
hands the rest on as a C-level chain: past the first byte nothing of ours runs per chunk. An
empty body, a body whose first chunk is all it declared, and an error answer come back as lists,
which every layer above finishes at once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dashboard import contract
from dashboard.context import current_request, db_failure, handled_db_failure
from dashboard.db.engine import report_outcome
from dashboard.db.faults import DbOutcome, Fault, classify
from dashboard.hooks import calls as hookcalls
from dashboard.logs.faultlog import dialect_of, log_classified
from dashboard.pipeline.closing import PRODUCED, ClosingBody, close_body
from dashboard.pipeline.direct import direct_call
from dashboard.pipeline.exchange import Exchange, answer
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.errors")

_END: Any = object()  # typed Any: next(iterator, _END) stays bytes to the checker
_failure = db_failure.get  # one C call per request: was a database failure recorded?


class _Overruled(Exception):  # a jump to the answer, never seen outside
    """The app's 5xx is replaced by the contract's answer to the recorded failure."""


def read_start(body: Iterable[bytes]) -> list[bytes] | tuple[bytes, Iterator[bytes]]:
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
    if type(request) is not Exchange or request.declared_length != str(len(first)):
        return first, iterator
    more = next(iterator, _END)  # the end of a body whose length was declared, read to run it
    while more is not _END:
        if more:  # more than it declared: it streams as it is
            return first, itertools.chain((more,), iterator)
        more = next(iterator, _END)
    return [first]


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
                if _failure() is None or not self.overruled():
                    return iterable
                raise _Overruled
            started = read_start(iterable)
            if _failure() is not None and self.overruled():
                raise _Overruled
        except _Overruled:
            close_body(iterable)
            exc = _failure() or RuntimeError("no failure recorded")
            return answer(exc, self.to_response(exc, environ), environ, start_response)
        except Exception as exc:
            if iterable is not None:
                close_body(iterable)
            return answer(exc, self.to_response(exc, environ), environ, start_response)
        if isinstance(started, list):
            close = getattr(iterable, "close", None)  # finished here (close_body, inlined: a
            if close is not None:                      # frame less on most requests), so every
                close()                                # layer above finishes at once
            return started
        first, rest = started
        # The first chunk, then the rest as a C-level chain (no frame of ours per chunk); the
        # close reaches the app's body once.
        return ClosingBody(itertools.chain((first,), rest), close_body, iterable)

    @staticmethod
    def overruled() -> bool:
        """A database failure was recorded during the request and the app answered anyway:
        is its answer a 5xx (a framework's own error page), which the contract's answer for
        that failure replaces? Any other answer stands (the app coped).

        The status is the one the request's exchange saw pass; a wrapper that holds an answer
        back (fallback, for a JSON error it may stand in for) holds only 5xx ones, and then
        the exchange still shows its initial ``500``."""
        request = current_request.get()
        return type(request) is not Exchange or request.status.startswith("5")

    def to_response(self, exc: BaseException, environ: WSGIEnviron) -> Any:
        fault = classify(exc)
        if fault is Fault.POOL_EXHAUSTED and not handled_db_failure(exc):
            # SQLAlchemy fires no engine event for a pool timeout; this is where it is seen
            # (an adopted engine's is counted where it is raised, see dashboard.db.adopt).
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
        except Exception:  # also: no engine of the host's own
            return None
