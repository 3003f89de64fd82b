"""Where the breaker meets requests: the database gate, the outcome counter, the request scope.

The host fans SQLAlchemy events out to hooks (see :mod:`dashboard.db`): every pool checkout and
every new connection attempt made while a request is served asks :meth:`BreakerGate.check`, and
every statement outcome reaches :meth:`BreakerGate.observe`. With ``slow_call_ms`` set, every
statement start reaches :meth:`BreakerGate.statement_started`, and a statement the sweeper has
already counted as slow is not counted again when it ends. Gating there (not on the URL) means a
request that never touches the database (a page, ``/health``) keeps working while the breaker is
OPEN, and a request refused at a *new* connection attempt is refused before any packet is sent.

A HALF_OPEN probe permit belongs to the request that got it: the same request passes the gate
again (a report may run several statements), the others are refused at once, and
:class:`BreakerMiddleware` gives the permit back when the request ends. While the breaker is
CLOSED at the start of a request the middleware adds nothing, so the common case costs one
attribute read.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable

from dashboard.closing import PRODUCED, ClosingBody
from dashboard.dbfaults import DbOutcome
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron
from plugins.breaker.machine import CircuitBreaker, CircuitOpenError, Permit
from plugins.breaker.metrics import FailureRateGauge, count_rejection
from plugins.breaker.slowwatch import SlowCallWatch


class _RequestScope:
    """What the breaker remembers about one request: its probe permit, if it got one. (No
    Python ``__init__``: one is made per request while the breaker is not CLOSED, refusals
    included; the middleware sets ``permit``.)"""

    __slots__ = ("permit",)
    permit: Permit | None


_scope: contextvars.ContextVar[_RequestScope | None] = contextvars.ContextVar(
    "dashboard_breaker_scope", default=None)


class BreakerGate:
    """Turns database checkouts and outcomes into breaker decisions and counts."""

    def __init__(self, breaker: CircuitBreaker, watch: SlowCallWatch | None = None) -> None:
        self.breaker = breaker
        self.failure_rate = FailureRateGauge(breaker)
        self.watch = watch

    def statement_started(self) -> None:
        """A statement starts: watch it for ``slow_call_ms`` (only when a watch is configured)."""
        watch = self.watch
        if watch is not None:
            scope = _scope.get()
            watch.start(scope.permit if scope is not None else None)

    def check(self) -> None:
        """Let a database access go ahead, or raise :class:`CircuitOpenError`."""
        scope = _scope.get()
        if scope is not None and scope.permit is not None and self.breaker.holds(scope.permit):
            return
        try:
            permit = self.breaker.acquire()
        except CircuitOpenError:
            count_rejection()
            raise
        if permit is not None:
            if scope is None:  # not inside a request we wrap: nothing could hand it back later
                self.breaker.release(permit)
            else:
                scope.permit = permit

    def observe(self, outcome: DbOutcome) -> None:
        """Count one outcome: completed, or an availability failure; other faults are ignored.

        A statement already counted as slow is not counted again; if it failed for availability,
        its slow outcome becomes that failure.
        """
        fault = outcome.fault
        if self.watch is not None:
            slow = self.watch.end()
            if slow is not False:
                if slow is not None and fault is not None and fault.is_availability_failure:
                    self.breaker.record_failure_of_slow(slow)
                    self.failure_rate.publish()
                return
        scope = _scope.get()
        permit = scope.permit if scope is not None else None
        if fault is None:
            self.breaker.record_success(permit)
        elif fault.is_availability_failure:
            self.breaker.record_failure(permit)
        self.failure_rate.publish()


class BreakerMiddleware:
    """Gives each request a scope for its probe permit and releases the permit when it ends.

    Streams: the body is never buffered; the scope stays set from the call until the body is
    closed (a lazily streamed report may query the database while it streams: the host runs
    every chunk of a request in that request's own context). A body that is a list has nothing
    more to run: its request ends before it is returned.
    """

    def __init__(self, app: WSGIApp, gate: BreakerGate) -> None:
        self.app = app
        self.gate = gate

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        if self.gate.breaker.is_closed:
            # No permit to hand back: skip the scope (the common case, on every request). A
            # request that starts CLOSED and meets HALF_OPEN later gives a permit back at once.
            return self.app(environ, start_response)
        scope = _RequestScope()
        scope.permit = None
        token = _scope.set(scope)
        try:
            iterable = self.app(environ, start_response)
        except BaseException:
            self._end(scope, token)
            raise
        if type(iterable) in PRODUCED:
            self._end(scope, token)
            return iterable
        return ClosingBody(iterable, self._end, scope, token)

    def _end(self, scope: _RequestScope, token: contextvars.Token[_RequestScope | None]
             ) -> None:
        permit = scope.permit
        if permit is not None:
            scope.permit = None
            self.gate.breaker.release(permit)
        try:  # noqa: SIM105 (suppress() costs two calls more on the fail-fast path)
            _scope.reset(token)
        except ValueError:
            pass  # closed in another context than called: nothing of ours is set there
