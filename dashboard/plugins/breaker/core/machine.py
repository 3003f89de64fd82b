"""The circuit breaker's state machine in one process's memory: thread-safe, on an injected clock.

This is the worker scope's breaker (a :class:`.protocol.ScopeBreaker`); the rules it applies are
:mod:`.rules`, its window :mod:`.window`, its probe permits :mod:`.probes`, its overrides'
bookkeeping :mod:`.overrides` (the package docstring tells the whole cycle). Why the lock is
small: it is held only to read and mutate the few fields below, never while anything else runs;
transitions are reported *after* it is released, through ``on_transition``
(:mod:`dashboard.plugins.breaker.notify` hands them to a thread), so a slow or raising listener
can neither stop the breaker from opening nor hold up other threads' decisions.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from dashboard import Clock, SystemClock
from dashboard.plugins.breaker.core import model
from dashboard.plugins.breaker.core import overrides as ov
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Permit
from dashboard.plugins.breaker.core.probes import ProbePermits
from dashboard.plugins.breaker.core.rules import Rules
from dashboard.plugins.breaker.core.window import (
    FAILURE,
    SLOW,
    SUCCESS,
    CountWindow,
    TimeWindow,
    failure_rate_unlocked,
)

T = TypeVar("T")
# Module globals: reading them is cheaper than an Enum class attribute on the hot path.
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class CircuitBreaker:
    """Windowed failure-rate and slow-call-rate circuit breaker; see the module docstring."""

    def __init__(self, *, window_size: int = 10, minimum_calls: int = 5,
                 failure_rate_threshold: float = 0.5, open_seconds: float = 30,
                 half_open_max_calls: int = 1, slow_call_rate_threshold: float = 1.0,
                 window_seconds: int = 0, open_seconds_max: float = 0,
                 clock: Clock | None = None,
                 on_transition: Callable[[model.Transition], None] | None = None) -> None:
        self.rules = rules = Rules(window_size, minimum_calls, failure_rate_threshold,
                                   open_seconds, half_open_max_calls, slow_call_rate_threshold,
                                   window_seconds, open_seconds_max)
        self.window_size, self.window_seconds = window_size, window_seconds
        self.minimum_calls, self.open_seconds = minimum_calls, rules.open_seconds
        self.half_open_max_calls = half_open_max_calls
        self._monotonic = (clock or SystemClock()).monotonic  # bound once: read per decision
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = _CLOSED
        #: CLOSED now; a plain attribute set with ``_state`` in ``_move`` only (read on every
        self.is_closed = True  # request without the lock; a property would be a frame)
        self._window: CountWindow | TimeWindow = (
            TimeWindow(window_seconds) if window_seconds > 0 else CountWindow(window_size))
        self._success_unlocked = (self._window.add_success_unlocked
                                  if isinstance(self._window, TimeWindow) else None)
        self._epoch = 0  # bumped when the window is cleared: older slow tickets are void
        # CLOSED with a full count window of successes only: a success then changes nothing
        self._quiet = False  # and the hot path returns after this one read, without the lock
        self._open_for = rules.open_seconds  # the current open period
        self._opened_at = 0.0
        self._probes = ProbePermits(half_open_max_calls)
        self._override: ov.Override | None = None  # see .overrides
    # -- decisions ---------------------------------------------------------------------------

    def acquire(self) -> Permit | None:
        """``None`` while CLOSED, a probe permit in HALF_OPEN, else :class:`CircuitOpenError`."""
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
                self._probes.start_round()
                state = _HALF_OPEN
            if state is _HALF_OPEN:
                permit = self._probes.take()
        self._report(transition)
        if permit is None and state is _HALF_OPEN:
            raise CircuitOpenError(0.0, state)
        return permit

    def holds(self, permit: Permit | None) -> bool:
        """Is ``permit`` a probe permit of the current HALF_OPEN?"""
        return (permit is not None and self._state is _HALF_OPEN
                and self._probes.current(permit))

    def release(self, permit: Permit) -> None:
        """Give back a probe permit when its request ends, so that another may probe (a failed
        probe has reopened it already: a new generation, nothing to give back)."""
        with self._lock:
            if self._state is _HALF_OPEN and self._probes.current(permit):
                self._probes.give_back()

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

    def record_slow(self, permit: Permit | None = None) -> model.SlowTicket | None:
        """Count a call that has run past ``slow_call_ms`` (it may still be running); a slow
        probe is a failed one. Returns where the outcome went, for :meth:`record_failure_of_slow`,
        or ``None`` when it was not counted."""
        ticket, transition = None, None
        with self._lock:
            state = self._state
            if state is _CLOSED:
                stored = self._window.add(SLOW, self._monotonic())
                ticket = model.SlowTicket(self._epoch, stored)
                transition = self._after_closed_outcome()
            elif state is _HALF_OPEN and permit is not None and self._probes.current(permit):
                transition = self._open(model.PROBE_SLOW)
        self._report(transition)
        return ticket

    def record_failure_of_slow(self, ticket: model.SlowTicket) -> None:
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
            elif state is _HALF_OPEN and permit is not None and self._probes.current(permit):
                if outcome == FAILURE:
                    transition = self._open(model.PROBE_FAILED)
                elif self._probes.succeed(permit):
                    transition = self._close(None)
        self._report(transition)

    def _after_closed_outcome(self) -> model.Transition | None:
        window = self._window
        reason = self.rules.opening_reason(window.count, window.failures, window.slow)
        if reason is not None and not ov.holds_closed(self._override, self._monotonic()):
            return self._open(reason)
        self._quiet = window.full and window.failures == 0 and window.slow == 0
        return None

    # -- operator overrides (the bookkeeping is .overrides) ----------------------------------

    def force_open(self, seconds: float, reason: str) -> None:
        """OPEN now for ``seconds``: refusals carry the time left, no probe until it ends."""
        with self._lock:
            now = self._monotonic()
            self._override = ov.start(ov.FORCED_OPEN, seconds, reason, now,
                                      ov.resume_period(self._override, self._open_for))
            self._open_for, self._opened_at = float(seconds), now
            self._quiet = False
            self._probes.stop()
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

    # -- readings ----------------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The state now (an OPEN whose time is up reads as HALF_OPEN)."""
        return self.snapshot().state

    @property
    def window_failure_rate(self) -> float:
        """The window's failure share, read without the lock (for a gauge)."""
        return failure_rate_unlocked(self._window)

    @property
    def open_period(self) -> float:
        """The length of the current (or next) open period, in seconds."""
        return self._open_for

    def snapshot(self) -> model.Snapshot:
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
        forced = ((override.kind, override.seconds_left(now), override.reason)
                  if override is not None else (None, None, None))
        return model.snapshot_of(state, count, failures, slow, left, forced)

    # -- transitions (caller holds the lock) -------------------------------------------------

    def _open(self, reason: str) -> model.Transition:
        if self._state is _HALF_OPEN:  # a failed probe: the next period is longer, up to max
            self._open_for = self.rules.after_failed_probe(self._open_for)
        transition = self._move(_OPEN, reason)
        self._opened_at = self._monotonic()
        self._probes.stop()
        self._quiet = False
        return transition  # the window keeps the rates that opened it, for health, until closed

    def _close(self, reason: str | None, open_for: float | None = None) -> model.Transition | None:
        """CLOSED with an empty window (no transition reported when it already was)."""
        transition = None if self._state is _CLOSED else self._move(_CLOSED, reason)
        self._open_for = float(self.open_seconds if open_for is None else open_for)
        self._window.clear()
        self._epoch += 1
        self._quiet = False
        return transition

    def _move(self, after: BreakerState, reason: str | None = None) -> model.Transition:
        window = self._window
        count = window.count
        transition = model.Transition(
            self._state, after, model.share(window.failures, count), count, self._monotonic(),
            model.share(window.slow, count), reason, self._open_for if after is _OPEN else None)
        self._state = after
        self.is_closed = after is _CLOSED
        return transition

    def _report(self, transition: model.Transition | None) -> None:
        """Tell the listener, outside the lock; it is never allowed to break a decision."""
        if transition is not None and self._on_transition is not None:
            with contextlib.suppress(Exception):  # a broken listener must not break the breaker
                self._on_transition(transition)

    # -- convenience -------------------------------------------------------------------------

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` guarded, every exception a failure (generic callers, the benchmark:
        the dashboard counts database outcomes through hooks)."""
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

    def close(self) -> None:
        """Nothing to stop: no thread, no file (the protocol's close)."""
