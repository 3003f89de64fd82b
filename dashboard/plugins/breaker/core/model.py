"""The vocabulary every breaker scope speaks: its state, its refusal, what it reports.

:class:`BreakerState` is *the* state of a breaker (CLOSED, OPEN, HALF_OPEN), whatever its scope;
a refusal is a :class:`CircuitOpenError` carrying the seconds until HALF_OPEN (the answer's
``Retry-After``); a state change is reported as a :class:`Transition`; a HALF_OPEN probe holds a
:class:`Permit`; a call counted as slow while still running leaves a :class:`SlowTicket`; health
and the admin answer read a :class:`Snapshot`. Pure data: no lock, no clock, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: ``Transition.reason`` of an opening decided by the window or by a probe.
FAILURE_RATE, SLOW_CALL_RATE = "failure rate", "slow call rate"
PROBE_FAILED, PROBE_SLOW = "probe failed", "probe slow"


class BreakerState(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    @property
    def gauge_value(self) -> int:
        """The value of ``dashboard_breaker_state``: 0 CLOSED, 1 HALF_OPEN, 2 OPEN."""
        return {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}[self.value]


class CircuitOpenError(Exception):
    """The breaker refused a call; ``retry_after`` is the number of seconds until HALF_OPEN.

    While HALF_OPEN with every probe permit taken it is the (short) time a probe needs to decide,
    reported as 0 and rounded up to 1 second by the contract.
    """

    # No Python-level __init__: ``CircuitOpenError(retry_after, state)`` keeps both in ``args``
    # (BaseException does that in C), which halves the cost of a refusal.

    @property
    def retry_after(self) -> float:
        return float(self.args[0])

    @property
    def state(self) -> BreakerState:
        return self.args[1]  # type: ignore[no-any-return]

    def __str__(self) -> str:  # formatted only when shown: refusing must stay cheap
        return f"circuit breaker {self.state.value}: retry after {self.retry_after:.1f}s"


@dataclass(frozen=True)
class Transition:
    """One state change, as reported to listeners after the lock was released."""

    before: BreakerState
    after: BreakerState
    failure_rate: float
    calls_in_window: int
    at: float
    slow_call_rate: float = 0.0
    reason: str | None = None  # why it opened: FAILURE_RATE, SLOW_CALL_RATE, PROBE_*
    open_seconds: float | None = None  # the open period it starts, when it opens


@dataclass(frozen=True)
class Permit:
    """A HALF_OPEN probe permit: one generation of HALF_OPEN, one serial within it.

    A probe's success counts once however many statements it runs.
    """

    generation: int
    serial: int


@dataclass(frozen=True)
class SlowTicket:
    """Where a slow outcome went: lets its call's later failure replace it (counted once)."""

    epoch: int
    ticket: int


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of the breaker for health and admin payloads."""

    state: BreakerState
    failure_rate: float
    calls_in_window: int
    seconds_until_half_open: float | None
    slow_call_rate: float = 0.0
    forced: str | None = None  # an operator override in force: "open" | "disabled"
    forced_seconds_left: float | None = None
    forced_reason: str | None = None


def find_refusal(exc: BaseException | None) -> CircuitOpenError | None:
    """The breaker's refusal, also when a library re-raised it wrapped in its own error."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, CircuitOpenError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def share(part: int, count: int) -> float:
    """``part / count``, 0 for an empty window (a failure or slow-call rate)."""
    return part / count if count else 0.0


def snapshot_of(state: BreakerState, count: int, failures: int, slow: int, left: float,
                forced: tuple[str | None, float | None, str | None]) -> Snapshot:
    """The snapshot of a window and an open period with ``left`` seconds to go: an OPEN whose
    time is up reads as HALF_OPEN (the next call will find it so), as in every scope."""
    if state is BreakerState.OPEN and left <= 0:
        state = BreakerState.HALF_OPEN
    return Snapshot(state, share(failures, count), count,
                    max(left, 0.0) if state is BreakerState.OPEN else None,
                    share(slow, count), *forced)
