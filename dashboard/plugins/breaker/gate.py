"""Where the breaker meets requests: the database gate, the outcome counter, the request scope.

The host fans SQLAlchemy events out to hooks (see :mod:`dashboard.db`): every pool checkout and
every new connection attempt made while a request is served asks :meth:`BreakerGate.check`, and
every statement outcome reaches :meth:`BreakerGate.observe`. With ``slow_call_ms`` set, every
statement start reaches :meth:`BreakerGate.statement_started`, and a statement the sweeper has
already counted as slow is not counted again when it ends. Gating there (not on the URL) means a
request that never touches the database (a page, ``/health``) keeps working while the breaker is
OPEN, and a request refused at a *new* connection attempt is refused before any packet is sent.

A HALF_OPEN probe permit belongs to the request that got it: the same request passes the gate
again (a report may run several statements), the others are refused at once, and the permit is
given back when the request ends. The gate keeps it in a context variable set in the request's
own context (the host runs each request in one, and what is set there lasts for the rest of the
request) and asks the host to call it back at the request's end
(:func:`dashboard.context.at_request_end`). So the breaker needs no layer of its own in
the pipeline: a request costs it nothing until it touches the database.
"""

from __future__ import annotations

import contextvars
from functools import partial

from dashboard import DbOutcome, at_request_end
from dashboard.plugins.breaker.core.model import CircuitOpenError, Permit
from dashboard.plugins.breaker.core.protocol import ScopeBreaker
from dashboard.plugins.breaker.metrics import FailureRateGauge, count_call, count_rejection
from dashboard.plugins.breaker.slowwatch import SlowCallWatch


class _RequestScope:
    """What the breaker remembers about one request: the probe permit it got."""

    __slots__ = ("permit",)
    permit: Permit | None


_scope: contextvars.ContextVar[_RequestScope | None] = contextvars.ContextVar(
    "dashboard_breaker_scope", default=None)


class BreakerGate:
    """Turns database checkouts and outcomes into breaker decisions and counts."""

    def __init__(self, breaker: ScopeBreaker, watch: SlowCallWatch | None = None) -> None:
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
        if permit is None:
            return
        if scope is not None:  # this request's permit had expired: it holds the new one
            scope.permit = permit
            return
        scope = _RequestScope()
        scope.permit = permit
        if at_request_end(partial(self._end_of_request, scope)):
            _scope.set(scope)  # in the request's own context: the rest of the request sees it
        else:  # not inside a request: nothing would hand it back later
            self.breaker.release(permit)

    def _end_of_request(self, scope: _RequestScope) -> None:
        permit = scope.permit
        if permit is not None:
            scope.permit = None
            self.breaker.release(permit)

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
                    count_call("failure")
                    self.failure_rate.publish()
                return
        scope = _scope.get()
        permit = scope.permit if scope is not None else None
        if fault is None:
            self.breaker.record_success(permit)
            count_call("success")
        elif fault.is_availability_failure:
            self.breaker.record_failure(permit)
            count_call("failure")
        self.failure_rate.publish()
