"""The one interface every breaker scope implements: :class:`ScopeBreaker`.

Worker scope: :class:`dashboard.plugins.breaker.core.machine.CircuitBreaker` (one per process).
Host and cluster scope: :class:`dashboard.plugins.breaker.host.breaker.HostBreaker` (one state per
host, in a shared block; the cluster syncer drives that same block). Everything that uses a
breaker is written against this protocol and nothing else: the gate (acquire, holds, release,
record_*), the slow-call watch (record_slow), health and the gauges (snapshot,
window_failure_rate), the connection-attempt reservations (is_closed, snapshot), the operator
control and the worker scope's override relay (force_open, disable, reset, snapshot), and the
plugin's shutdown (close). A refusal is :class:`~.model.CircuitOpenError`, whose ``retry_after``
is the answer's ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from dashboard.plugins.breaker.core.model import BreakerState, Permit, SlowTicket, Snapshot

T = TypeVar("T")


class ScopeBreaker(Protocol):
    """A circuit breaker of some scope; see the module docstring."""

    minimum_calls: int

    # -- guarding a call (the gate) ----------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """CLOSED right now: no probe permit can be handed out (read without a lock)."""

    def acquire(self) -> Permit | None:
        """``None`` while CLOSED, a probe permit in HALF_OPEN, else raise CircuitOpenError."""

    def holds(self, permit: Permit | None) -> bool:
        """Is ``permit`` a probe permit of the current HALF_OPEN?"""

    def release(self, permit: Permit) -> None:
        """Give a probe permit back when its request ends."""

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` guarded (generic callers and the benchmark)."""

    # -- outcomes ----------------------------------------------------------------------------

    def record_success(self, permit: Permit | None = None) -> None: ...

    def record_failure(self, permit: Permit | None = None) -> None: ...

    def record_slow(self, permit: Permit | None = None) -> SlowTicket | None:
        """A call past ``slow_call_ms``, still running; its ticket, if it was counted."""

    def record_failure_of_slow(self, ticket: SlowTicket) -> None:
        """The slow call of ``ticket`` failed: its one outcome becomes a failure."""

    # -- operator overrides ------------------------------------------------------------------

    def force_open(self, seconds: float, reason: str) -> None: ...

    def disable(self, seconds: float, reason: str) -> None: ...

    def reset(self, reason: str) -> None: ...

    # -- readings (health, gauges, the admin answer) -----------------------------------------

    def snapshot(self) -> Snapshot:
        """State, rates, seconds until HALF_OPEN (the Retry-After) and the override in force."""

    @property
    def state(self) -> BreakerState: ...

    @property
    def window_failure_rate(self) -> float: ...

    @property
    def open_period(self) -> float: ...

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop what this breaker runs and let go of what it holds (host shutdown)."""
