"""The circuit breaker's state machine: pure, thread-safe, on an injected clock.

CLOSED counts the outcomes of the last ``window_size`` calls; once at least ``minimum_calls`` are
in the window and the failure share reaches ``failure_rate_threshold`` it opens. A rate over a
window (not a run of consecutive failures) means that successes interleaved with failures cannot
hide a failing database. OPEN refuses every call until ``open_seconds`` have passed, then the
first caller to ask finds it HALF_OPEN, where ``half_open_max_calls`` probe permits are handed out
and every other caller is refused at once (nobody waits). A probe failure reopens it for another
``open_seconds``; ``half_open_max_calls`` probe successes close it with an empty window.

Why the lock is small: it is held only to read and mutate the few fields below, never while
anything else runs. Transitions are reported *after* the lock is released, through ``on_transition``
(see :mod:`plugins.breaker.notify`, which hands them to a background thread), so a slow or raising
log handler or listener can neither stop the breaker from opening nor hold up other threads'
decisions.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from dashboard.clock import Clock, SystemClock

T = TypeVar("T")


class State(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    @property
    def gauge_value(self) -> int:
        """The value of ``dashboard_breaker_state``: 0 CLOSED, 1 HALF_OPEN, 2 OPEN."""
        return {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}[self.value]


# Module globals: reading them is cheaper than an Enum class attribute on the hot path.
_CLOSED, _OPEN, _HALF_OPEN = State.CLOSED, State.OPEN, State.HALF_OPEN


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
    def window_failure_rate(self) -> float:
        """The window's failure share, read without the lock (for a gauge: a torn read of two
        ints is at worst one outcome stale)."""
        count = self._count
        return self._failures / count if count else 0.0

    @property
    def state(self) -> State:
        return self.args[1]  # type: ignore[no-any-return]

    def __str__(self) -> str:  # formatted only when shown: refusing must stay cheap
        return f"circuit breaker {self.state.value}: retry after {self.retry_after:.1f}s"


@dataclass(frozen=True)
class Transition:
    """One state change, as reported to listeners after the lock was released."""

    before: State
    after: State
    failure_rate: float
    calls_in_window: int
    at: float


@dataclass(frozen=True)
class Permit:
    """A HALF_OPEN probe permit: one generation of HALF_OPEN, one serial within it.

    A probe's success counts once however many statements it runs.
    """

    generation: int
    serial: int


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of the breaker for health and admin payloads."""

    state: State
    failure_rate: float
    calls_in_window: int
    seconds_until_half_open: float | None


class CircuitBreaker:
    """Windowed failure-rate circuit breaker; see the module docstring."""

    def __init__(self, *, window_size: int = 10, minimum_calls: int = 5,
                 failure_rate_threshold: float = 0.5, open_seconds: float = 30,
                 half_open_max_calls: int = 1,
                 clock: Clock | None = None,
                 on_transition: Callable[[Transition], None] | None = None) -> None:
        if not 1 <= minimum_calls <= window_size:
            raise ValueError("need 1 <= minimum_calls <= window_size")
        self.window_size = window_size
        self.minimum_calls = minimum_calls
        self.failure_rate_threshold = failure_rate_threshold
        self.open_seconds = open_seconds
        self.half_open_max_calls = half_open_max_calls
        self._monotonic = (clock or SystemClock()).monotonic  # bound once: read per decision
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = _CLOSED
        self._ring = [False] * window_size  # True = failure
        self._next = 0
        self._count = 0
        self._failures = 0
        self._opened_at = 0.0
        self._generation = 0
        self._permits_left = 0
        self._permits_issued = 0
        self._succeeded_probes: set[int] = set()

    @property
    def is_closed(self) -> bool:
        """CLOSED right now (an attribute read, no lock): no probe permit can be handed out."""
        return self._state is _CLOSED

    # -- decisions ---------------------------------------------------------------------------

    def acquire(self) -> Permit | None:
        """Decide whether a call may go ahead.

        Returns ``None`` while CLOSED, a :class:`Permit` for a HALF_OPEN probe, and raises
        :class:`CircuitOpenError` when the call is refused.
        """
        state = self._state
        if state is _CLOSED:  # fast path: an attribute read, no lock
            return None
        if state is _OPEN:  # fast refusal, no lock: reading two fields races only with a
            left = self._opened_at + self.open_seconds - self._monotonic()  # reopening
            if left > 0:
                raise CircuitOpenError(left, _OPEN)
        transition = None
        permit: Permit | None = None
        with self._lock:
            state = self._state
            if state is _OPEN:
                left = self._opened_at + self.open_seconds - self._monotonic()
                if left > 0:
                    raise CircuitOpenError(left, state)
                transition = self._move(_HALF_OPEN)
                self._generation += 1
                self._permits_left = self.half_open_max_calls
                self._permits_issued = 0
                self._succeeded_probes = set()
                state = _HALF_OPEN
            if state is _HALF_OPEN and self._permits_left > 0:
                self._permits_left -= 1
                self._permits_issued += 1
                permit = Permit(self._generation, self._permits_issued)
        self._report(transition)
        if permit is None and state is _HALF_OPEN:
            raise CircuitOpenError(0.0, state)
        return permit

    def holds(self, permit: Permit | None) -> bool:
        """Is ``permit`` a probe permit of the current HALF_OPEN?"""
        return (permit is not None and self._state is _HALF_OPEN
                and permit.generation == self._generation)

    def release(self, permit: Permit) -> None:
        """Give back a probe permit when its call (request) ends, so that another may probe.

        A probe that failed has already reopened the breaker (a new generation: nothing to give
        back); one that succeeded has been counted once, by its serial.
        """
        with self._lock:
            if self._state is _HALF_OPEN and permit.generation == self._generation:
                self._permits_left = min(self.half_open_max_calls, self._permits_left + 1)

    # -- outcomes ----------------------------------------------------------------------------

    def record_success(self, permit: Permit | None = None) -> None:
        self._record(False, permit)

    def record_failure(self, permit: Permit | None = None) -> None:
        self._record(True, permit)

    def _record(self, failed: bool, permit: Permit | None) -> None:
        state = self._state
        if state is _OPEN:
            return  # late outcomes of calls let through before it opened say nothing new
        if (not failed and state is _CLOSED and self._failures == 0
                and self._count == self.window_size):
            return  # fast path: a success replacing a success changes nothing
        transition = None
        with self._lock:
            state = self._state
            if state is _CLOSED:
                transition = self._record_closed(failed)
            elif (state is _HALF_OPEN and permit is not None
                  and permit.generation == self._generation):
                transition = self._record_probe(failed, permit)
        self._report(transition)

    def _record_closed(self, failed: bool) -> Transition | None:
        if self._count == self.window_size:
            self._failures -= self._ring[self._next]
        else:
            self._count += 1
        self._ring[self._next] = failed
        self._failures += failed
        self._next = (self._next + 1) % self.window_size
        if (self._count >= self.minimum_calls
                and self._failures / self._count >= self.failure_rate_threshold):
            return self._open()
        return None

    def _record_probe(self, failed: bool, permit: Permit) -> Transition | None:
        if failed:
            return self._open()
        self._succeeded_probes.add(permit.serial)
        if len(self._succeeded_probes) >= self.half_open_max_calls:
            transition = self._move(_CLOSED)
            self._clear_window()
            return transition
        return None

    # -- views -------------------------------------------------------------------------------

    @property
    def window_failure_rate(self) -> float:
        """The window's failure share, read without the lock (for a gauge: a torn read of two
        ints is at worst one outcome stale)."""
        count = self._count
        return self._failures / count if count else 0.0

    @property
    def state(self) -> State:
        """The state now; an OPEN breaker whose time is up reads as HALF_OPEN."""
        return self.snapshot().state

    def snapshot(self) -> Snapshot:
        with self._lock:
            state, count, failures = self._state, self._count, self._failures
            left = self._opened_at + self.open_seconds - self._monotonic()
        if state is _OPEN and left <= 0:
            state = _HALF_OPEN
        rate = failures / count if count else 0.0
        return Snapshot(state, rate, count, max(left, 0.0) if state is _OPEN else None)

    # -- helpers (caller holds the lock) -----------------------------------------------------

    def _open(self) -> Transition:
        transition = self._move(_OPEN)
        self._opened_at = self._monotonic()
        self._permits_left = 0
        return transition  # the window keeps the rate that opened it, for health, until closed

    def _move(self, after: State) -> Transition:
        rate = self._failures / self._count if self._count else 0.0
        transition = Transition(self._state, after, rate, self._count, self._monotonic())
        self._state = after
        return transition

    def _clear_window(self) -> None:
        self._ring = [False] * self.window_size
        self._next = self._count = self._failures = 0

    def _report(self, transition: Transition | None) -> None:
        """Tell the listener, outside the lock; it is never allowed to break a decision."""
        if transition is not None and self._on_transition is not None:
            with contextlib.suppress(Exception):  # a broken listener must not break the breaker
                self._on_transition(transition)

    # -- convenience -------------------------------------------------------------------------

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` guarded: refused while open, every exception counted as a failure.

        The dashboard counts database outcomes through hooks instead; this form serves generic
        callers and the benchmark.
        """
        permit = None if self._state is _CLOSED else self.acquire()
        try:
            result = function(*args, **kwargs)
        except Exception:
            self._record(True, permit)
            raise
        if (permit is None and self._failures == 0 and self._state is _CLOSED
                and self._count == self.window_size):
            return result  # the fast path of _record, inlined: a call's cost is the point here
        self._record(False, permit)
        return result


def find_refusal(exc: BaseException | None) -> CircuitOpenError | None:
    """The breaker's refusal, also when a library re-raised it wrapped in its own error."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, CircuitOpenError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
