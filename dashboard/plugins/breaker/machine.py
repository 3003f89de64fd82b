"""The circuit breaker's state machine: pure, thread-safe, on an injected clock.

CLOSED counts the outcomes of the last ``window_size`` calls (or, with ``window_seconds`` > 0, of
the calls of the last ``window_seconds``; see :mod:`dashboard.plugins.breaker.window`). An outcome is a
success, a failure or a *slow call* (reported by :mod:`dashboard.plugins.breaker.slowwatch` while the call
is still running). Once at least ``minimum_calls`` are in the window, it opens when the failure
share reaches ``failure_rate_threshold`` or the slow share reaches ``slow_call_rate_threshold``;
a slow call is not a failure. A rate over a window (not a run of consecutive failures) means that
successes interleaved with failures cannot hide a failing database. OPEN refuses every call
until the open period has passed, then the first caller to ask finds it HALF_OPEN, where
``half_open_max_calls`` probe permits are handed out and every other caller is refused at once
(nobody waits). A failed (or slow) probe reopens it, for twice the last open period when
``open_seconds_max`` allows (capped there); ``half_open_max_calls`` probe successes close it with
an empty window and the open period back at ``open_seconds``.

Why the lock is small: it is held only to read and mutate the few fields below, never while
anything else runs. Transitions are reported *after* the lock is released, through ``on_transition``
(see :mod:`dashboard.plugins.breaker.notify`, which hands them to a background thread), so a slow or raising
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
from dashboard.plugins.breaker import overrides as ov
from dashboard.plugins.breaker.window import FAILURE, SLOW, SUCCESS, CountWindow, TimeWindow

T = TypeVar("T")
FAILURE_RATE, SLOW_CALL_RATE = "failure rate", "slow call rate"
PROBE_FAILED, PROBE_SLOW = "probe failed", "probe slow"


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

    state: State
    failure_rate: float
    calls_in_window: int
    seconds_until_half_open: float | None
    slow_call_rate: float = 0.0
    forced: str | None = None  # an operator override in force: "open" | "disabled"
    forced_seconds_left: float | None = None
    forced_reason: str | None = None


class CircuitBreaker:
    """Windowed failure-rate and slow-call-rate circuit breaker; see the module docstring."""

    def __init__(self, *, window_size: int = 10, minimum_calls: int = 5,
                 failure_rate_threshold: float = 0.5, open_seconds: float = 30,
                 half_open_max_calls: int = 1, slow_call_rate_threshold: float = 1.0,
                 window_seconds: int = 0, open_seconds_max: float = 0,
                 clock: Clock | None = None,
                 on_transition: Callable[[Transition], None] | None = None) -> None:
        if window_seconds <= 0 and not 1 <= minimum_calls <= window_size:
            raise ValueError("need 1 <= minimum_calls <= window_size")
        if minimum_calls < 1:
            raise ValueError("need minimum_calls >= 1")
        self.window_size = window_size
        self.window_seconds = window_seconds
        self.minimum_calls = minimum_calls
        self.failure_rate_threshold = failure_rate_threshold
        self.slow_call_rate_threshold = slow_call_rate_threshold
        self.open_seconds = open_seconds
        self.open_seconds_max = max(open_seconds_max, open_seconds)
        self.half_open_max_calls = half_open_max_calls
        self._monotonic = (clock or SystemClock()).monotonic  # bound once: read per decision
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = _CLOSED
        #: CLOSED right now: no probe permit can be handed out. A plain attribute, set with
        #: ``_state`` in ``_move`` only (read on every request without the lock; a property
        #: would be a frame).
        self.is_closed = True
        self._window: CountWindow | TimeWindow = (
            TimeWindow(window_seconds) if window_seconds > 0 else CountWindow(window_size))
        self._success_unlocked = (self._window.add_success_unlocked
                                  if isinstance(self._window, TimeWindow) else None)
        self._epoch = 0  # bumped when the window is cleared: older slow tickets are void
        # True while CLOSED with a full count window of successes only: a success then changes
        # nothing, and the hot path returns after reading this one attribute, without the lock.
        self._quiet = False
        self._open_for = float(open_seconds)  # the current open period
        self._opened_at = 0.0
        self._generation = 0
        self._permits_left = 0
        self._permits_issued = 0
        self._succeeded_probes: set[int] = set()
        self._override: ov.Override | None = None  # see dashboard.plugins.breaker.overrides

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
            left = self._opened_at + self._open_for - self._monotonic()  # reopening
            if left > 0:
                raise CircuitOpenError(left, _OPEN)
        transition = None
        permit: Permit | None = None
        with self._lock:
            state = self._state
            if state is _OPEN:
                left = self._opened_at + self._open_for - self._monotonic()
                if left > 0:
                    raise CircuitOpenError(left, state)
                transition = self._move(_HALF_OPEN)
                if self._override is not None:  # a forced open has ended: its probe decides
                    self._open_for, self._override = self._override.resume_open_for, None
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
        if self._quiet:
            return  # fast path: a success replacing a success changes nothing
        unlocked = self._success_unlocked
        if (unlocked is not None and permit is None and self._state is _CLOSED
                and unlocked(self._monotonic())):
            return  # a clean time window: a success only adds to its second, no lock
        self._record(SUCCESS, permit)

    def record_failure(self, permit: Permit | None = None) -> None:
        self._record(FAILURE, permit)

    def record_slow(self, permit: Permit | None = None) -> SlowTicket | None:
        """Count a call that has run past ``slow_call_ms`` (it may still be running).

        A slow probe is a failed probe: the database is not back to normal. Returns where the
        outcome went, for :meth:`record_failure_of_slow`, or ``None`` when it was not counted.
        """
        ticket, transition = None, None
        with self._lock:
            state = self._state
            if state is _CLOSED:
                stored = self._window.add(SLOW, self._monotonic())
                ticket = SlowTicket(self._epoch, stored)
                transition = self._after_closed_outcome()
            elif (state is _HALF_OPEN and permit is not None
                  and permit.generation == self._generation):
                transition = self._open(PROBE_SLOW)
        self._report(transition)
        return ticket

    def record_failure_of_slow(self, ticket: SlowTicket) -> None:
        """The slow call of ``ticket`` has now failed: its one outcome becomes a failure."""
        transition = None
        with self._lock:
            if (self._state is _CLOSED and ticket.epoch == self._epoch
                    and self._window.upgrade(ticket.ticket, self._monotonic())):
                transition = self._after_closed_outcome()
        self._report(transition)

    def _record(self, outcome: int, permit: Permit | None) -> None:
        state = self._state
        if state is _OPEN:
            return  # late outcomes of calls let through before it opened say nothing new
        transition = None
        with self._lock:
            state = self._state
            if state is _CLOSED:
                window = self._window
                window.add(outcome, self._monotonic())
                if outcome == SUCCESS and not window.failures and not window.slow:
                    self._quiet = window.full  # nothing that could open it is in the window
                else:
                    transition = self._after_closed_outcome()
            elif (state is _HALF_OPEN and permit is not None
                  and permit.generation == self._generation):
                transition = self._record_probe(outcome == FAILURE, permit)
        self._report(transition)

    def _after_closed_outcome(self) -> Transition | None:
        window = self._window
        count = window.count
        if count >= self.minimum_calls and not ov.holds_closed(self._override, self._monotonic()):
            if window.failures / count >= self.failure_rate_threshold:
                return self._open(FAILURE_RATE)
            if window.slow / count >= self.slow_call_rate_threshold:
                return self._open(SLOW_CALL_RATE)
        self._quiet = window.full and window.failures == 0 and window.slow == 0
        return None

    def _record_probe(self, failed: bool, permit: Permit) -> Transition | None:
        if failed:
            return self._open(PROBE_FAILED)
        self._succeeded_probes.add(permit.serial)
        if len(self._succeeded_probes) >= self.half_open_max_calls:
            return self._close(None)
        return None

    # -- operator overrides (the bookkeeping is dashboard.plugins.breaker.overrides) -------------------

    def force_open(self, seconds: float, reason: str) -> None:
        """OPEN now for ``seconds``: refusals carry the time left, no probe until it ends."""
        with self._lock:
            now = self._monotonic()
            self._override = ov.start(ov.FORCED_OPEN, seconds, reason, now,
                                      ov.resume_period(self._override, self._open_for))
            self._open_for, self._opened_at = float(seconds), now
            self._permits_left, self._quiet = 0, False
            transition = (None if self._state is _OPEN  # already open: only the period changes
                          else self._move(_OPEN, ov.REASON_FORCED_OPEN))
        self._report(transition)

    def disable(self, seconds: float, reason: str) -> None:
        """CLOSED now, and no opening for ``seconds`` (outcomes are still counted)."""
        with self._lock:
            self._override = ov.start(ov.DISABLED, seconds, reason, self._monotonic(),
                                      ov.resume_period(self._override, self._open_for))
            self._open_for = self._override.resume_open_for
            transition = (None if self._state is _CLOSED  # keep the window: health shows it
                          else self._close(ov.REASON_DISABLED, self._open_for))
        self._report(transition)

    def reset(self, reason: str) -> None:
        """Clear any override: CLOSED, an empty window, the open period back to open_seconds."""
        with self._lock:
            self._override = None
            transition = self._close(ov.REASON_RESET)
        self._report(transition)

    # -- views -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The state now; an OPEN breaker whose time is up reads as HALF_OPEN."""
        return self.snapshot().state

    @property
    def window_failure_rate(self) -> float:
        """The window's failure share, read without the lock (for a gauge: a torn read of two
        ints is at worst one outcome stale)."""
        window = self._window
        failures = window.failures
        if not failures:
            return 0.0  # without asking for count: a clean time window would sum its buckets
        count = window.count
        return failures / count if count else 0.0

    @property
    def open_period(self) -> float:
        """The length of the current (or next) open period, in seconds."""
        return self._open_for

    def snapshot(self) -> Snapshot:
        with self._lock:
            now = self._monotonic()
            window = self._window
            if self._state is _CLOSED:
                window.expire(now)
                self._quiet = window.full and window.failures == 0 and window.slow == 0
            state, count = self._state, window.count
            failures, slow = window.failures, window.slow
            left = self._opened_at + self._open_for - now
            override = ov.in_force(self._override, now)
        if state is _OPEN and left <= 0:
            state = _HALF_OPEN
        rate = failures / count if count else 0.0
        slow_rate = slow / count if count else 0.0
        return Snapshot(state, rate, count, max(left, 0.0) if state is _OPEN else None,
                        slow_rate, override and override.kind,
                        override and override.seconds_left(now), override and override.reason)

    # -- helpers (caller holds the lock) -----------------------------------------------------

    def _open(self, reason: str) -> Transition:
        if self._state is _HALF_OPEN:  # a failed probe: the next period is longer, up to max
            self._open_for = min(self._open_for * 2, self.open_seconds_max)
        transition = self._move(_OPEN, reason)
        self._opened_at = self._monotonic()
        self._permits_left = 0
        self._quiet = False
        return transition  # the window keeps the rates that opened it, for health, until closed

    def _close(self, reason: str | None, open_for: float | None = None) -> Transition | None:
        """CLOSED with an empty window (no transition reported when it already was)."""
        transition = None if self._state is _CLOSED else self._move(_CLOSED, reason)
        self._open_for = float(self.open_seconds if open_for is None else open_for)
        self._window.clear()
        self._epoch += 1
        self._quiet = False
        return transition

    def _move(self, after: State, reason: str | None = None) -> Transition:
        window = self._window
        count = window.count
        transition = Transition(
            self._state, after, window.failures / count if count else 0.0, count,
            self._monotonic(), window.slow / count if count else 0.0, reason,
            self._open_for if after is _OPEN else None)
        self._state = after
        self.is_closed = after is _CLOSED
        return transition

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
            self._record(FAILURE, permit)
            raise
        if self._quiet:
            return result  # the fast path of record_success, inlined: a call's cost is the point
        self.record_success(permit)
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
