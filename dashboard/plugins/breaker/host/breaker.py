"""``scope = "host"``: one breaker for every worker of a host, kept in the shared block.

:class:`HostBreaker` is a :class:`dashboard.plugins.breaker.core.protocol.ScopeBreaker` (the
gate, the slow-call watch, health and metrics use it unchanged) on the core's rules; what differs
is where the state lives (:mod:`.block`) and who may change it. It is composed, not inherited: it
holds its block, the block's :class:`~.transitions.BlockTransitions`, the operator
:class:`~.control.HostControl` (overrides and readings, which it passes on) and the
:class:`~.levers.ClusterLevers` the cluster syncer drives (``cluster``).

The guarded call does no system call; see the package docstring for how (and for the leases).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from dashboard import Clock, PeriodicThread, SystemClock
from dashboard.plugins.breaker.core import model
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError, Permit
from dashboard.plugins.breaker.core.rules import Rules
from dashboard.plugins.breaker.core.window import FAILURE, SLOW, SUCCESS
from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import MAX_LEASES, STATE, VERSION, Block
from dashboard.plugins.breaker.host.control import HostControl
from dashboard.plugins.breaker.host.leases import Leases
from dashboard.plugins.breaker.host.levers import ClusterLevers
from dashboard.plugins.breaker.host.transitions import STATES, BlockTransitions, initialise_block
from dashboard.plugins.breaker.host.window import shared_window, window_name, window_slots

T = TypeVar("T")
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
SYNC_SECONDS = 0.025
WAIT_FOR_GRANT_SECONDS = 1.0  # a live cluster syncer has not granted this host the probe


class HostBreaker:
    """The host-wide breaker of one worker process; see the module docstring."""

    def __init__(self, block_dir: Path, *, window_size: int = 10, minimum_calls: int = 5,
                 failure_rate_threshold: float = 0.5, open_seconds: float = 30,
                 half_open_max_calls: int = 1, slow_call_rate_threshold: float = 1.0,
                 window_seconds: int = 0, open_seconds_max: float = 0,
                 lease_seconds: float = 60, clock: Clock | None = None,
                 on_transition: Callable[[model.Transition], None] | None = None,
                 on_seen: Callable[[BreakerState], None] | None = None) -> None:
        self.rules = rules = Rules(window_size, minimum_calls, failure_rate_threshold,
                                   open_seconds, half_open_max_calls, slow_call_rate_threshold,
                                   window_seconds, open_seconds_max)
        if not 1 <= half_open_max_calls <= MAX_LEASES:
            raise ValueError(f"host scope needs 1 <= half_open_max_calls <= {MAX_LEASES}")
        self.window_size, self.window_seconds = window_size, window_seconds
        self.minimum_calls, self.open_seconds = minimum_calls, rules.open_seconds
        self.half_open_max_calls = half_open_max_calls
        self.lease_seconds = lease_seconds
        self._monotonic = (clock or SystemClock()).monotonic
        self._on_transition, self._on_seen = on_transition, on_seen
        path = block_dir / f"host-{window_name(window_size, window_seconds)}.block"
        self.block = Block(path, window_slots(window_size, window_seconds),
                           lambda block: initialise_block(block, rules))
        self._q, self._d = self.block.q, self.block.d
        self._window = shared_window(self.block, window_size, window_seconds)
        self._leases = Leases(self.block, half_open_max_calls)
        self.transitions = BlockTransitions(self.block, self._window, self._leases, rules,
                                            self._monotonic)
        #: Operator overrides and readings (passed on below), and the cluster syncer's levers.
        self.control = HostControl(self.transitions, self._after_write)
        self.cluster = ClusterLevers(self.control, self._after_write)
        self.force_open, self.disable = self.control.force_open, self.control.disable
        self.reset = self.control.reset
        self._seen, self._state, self._open_until, self._half_gen = -1, _CLOSED, 0.0, 0
        self.sync_tasks: list[Callable[[], None]] = []  # more for sync() (attempts.sweep)
        self._pending = 0  # successes counted here, not yet flushed into the block
        self._sync = PeriodicThread("breaker-host-sync", SYNC_SECONDS, self.sync)
        self._refresh()

    # -- decisions ---------------------------------------------------------------------------

    def acquire(self) -> Permit | None:
        """``None`` while CLOSED, a probe permit in HALF_OPEN, else :class:`CircuitOpenError`."""
        if self._q[VERSION] != self._seen:  # a memory read: the block is mapped
            self._refresh()
        state = self._state
        if state is _CLOSED:
            return None
        if state is _OPEN:
            left = self._open_until - self._monotonic()
            if left > 0:
                raise CircuitOpenError(left, _OPEN)
        elif not self._leases.may_have_room(self._monotonic()):
            raise CircuitOpenError(0.0, _HALF_OPEN)
        return self._acquire_slowly()

    def _acquire_slowly(self) -> Permit | None:
        q, d = self._q, self._d
        transition, permit, refusal = None, None, None
        with self.block.writing():
            now = self._monotonic()
            state = STATES[q[STATE]]
            if state is _OPEN:
                left = d[slots.OPEN_UNTIL] - now
                if left > 0:
                    refusal = CircuitOpenError(left, _OPEN)
                elif d[slots.MANAGED_UNTIL] > now and q[slots.PROBE_OK_GEN] != q[slots.GENERATION]:
                    refusal = CircuitOpenError(WAIT_FOR_GRANT_SECONDS, _OPEN)  # another's turn
                else:
                    self.transitions.end_forced_open()
                    transition = self.transitions.move(_HALF_OPEN, now)
                    q[slots.HALF_GEN] += 1
                    q[slots.SUCCEEDED] = 0
                    self._leases.clear()
                    state = _HALF_OPEN
            if state is _HALF_OPEN:
                serial = self._leases.take(now, self.lease_seconds, os.getpid())
                if serial is None:
                    refusal = CircuitOpenError(0.0, _HALF_OPEN)
                else:
                    permit = Permit(q[slots.HALF_GEN], serial)
        self._after_write(transition)
        if refusal is not None:
            raise refusal
        return permit

    def holds(self, permit: Permit | None) -> bool:
        if permit is None:
            return False
        if self._q[VERSION] != self._seen:
            self._refresh()
        return self._state is _HALF_OPEN and permit.generation == self._half_gen

    def release(self, permit: Permit) -> None:
        with self.block.writing():
            if STATES[self._q[STATE]] is _HALF_OPEN and self._is_current(permit):
                self._leases.free(permit.serial)

    # -- outcomes ----------------------------------------------------------------------------

    def record_success(self, permit: Permit | None = None) -> None:
        if permit is None:
            self._pending += 1  # flushed by sync(); a rare lost increment shrinks a denominator
            return
        self._record(SUCCESS, permit)

    def record_failure(self, permit: Permit | None = None) -> None:
        self._record(FAILURE, permit)

    def record_slow(self, permit: Permit | None = None) -> model.SlowTicket | None:
        """A call past ``slow_call_ms``; a slow probe is a failed one (see the machine)."""
        ticket, transition = None, None
        with self.block.writing():
            now = self._monotonic()
            state = STATES[self._q[STATE]]
            if state is _CLOSED:
                self._flush_locked(now)
                ticket = model.SlowTicket(self._q[slots.EPOCH], self._window.add(SLOW, now))
                transition = self.transitions.after_closed_outcome(now)
            elif state is _HALF_OPEN and permit is not None and self._is_current(permit):
                transition = self.transitions.open(model.PROBE_SLOW, now)
        self._after_write(transition)
        return ticket

    def record_failure_of_slow(self, ticket: model.SlowTicket) -> None:
        transition = None
        with self.block.writing():
            now = self._monotonic()
            if (STATES[self._q[STATE]] is _CLOSED and ticket.epoch == self._q[slots.EPOCH]
                    and self._window.upgrade(ticket.ticket, now)):
                transition = self.transitions.after_closed_outcome(now)
        self._after_write(transition)

    def _record(self, outcome: int, permit: Permit | None) -> None:
        if self._q[VERSION] != self._seen:
            self._refresh()
        if self._state is _OPEN:
            return  # late outcomes of calls let through before it opened say nothing new
        transition = None
        with self.block.writing():
            now = self._monotonic()
            state = STATES[self._q[STATE]]
            if state is _CLOSED:
                self._flush_locked(now)
                self._window.add(outcome, now)
                transition = self.transitions.after_closed_outcome(now)
            elif state is _HALF_OPEN and permit is not None and self._is_current(permit):
                transition = self._record_probe(outcome == FAILURE, permit, now)
        self._after_write(transition)

    def _record_probe(self, failed: bool, permit: Permit, now: float) -> model.Transition | None:
        if failed:
            return self.transitions.open(model.PROBE_FAILED, now)
        if self._leases.succeed(permit.serial):
            self._q[slots.SUCCEEDED] += 1
        if self._q[slots.SUCCEEDED] >= self.half_open_max_calls:
            return self.transitions.close(None, now)
        return None

    def _is_current(self, permit: Permit) -> bool:
        return permit.generation == self._q[slots.HALF_GEN]

    # -- operator overrides and readings: the control's --------------------------------------

    def snapshot(self) -> model.Snapshot:
        return self.control.snapshot()

    @property
    def state(self) -> BreakerState:
        return self.control.snapshot().state

    @property
    def window_failure_rate(self) -> float:
        return self.control.window_failure_rate

    @property
    def open_period(self) -> float:
        return self.control.open_period

    # -- the background sync -----------------------------------------------------------------

    def start_sync(self) -> None:
        """Start the sync thread in this process (a forked worker starts its own)."""
        self._sync.start()

    def sync(self) -> None:
        """Flush counted successes, end overrides whose time is up, free dead probes' leases,
        and refresh this worker's copy (so health and the gauge follow within one round)."""
        now = self._monotonic()
        if self._pending:
            if STATES[self._q[STATE]] is not _CLOSED or self._window.quiet:
                self._pending = 0  # nothing they could change
            else:
                with self.block.writing():
                    self._flush_locked(now)
        if self._q[slots.FORCED] and self._d[slots.FORCED_UNTIL] <= now:
            self.transitions.expire_override()
        if STATES[self._q[STATE]] is _HALF_OPEN and self._leases.holder_gone():
            with self.block.writing():
                self._leases.free_dead()
        for task in self.sync_tasks:
            task()
        self.transitions.bound()  # a write that did not move VERSION is cut here, within a round
        if self._q[VERSION] != self._seen:
            self._refresh()

    def _flush_locked(self, now: float) -> None:
        pending = self._pending
        if pending:
            self._pending -= pending
            self._window.add_successes(pending, now)

    # -- the local copy and views ------------------------------------------------------------

    def _refresh(self) -> None:
        self.transitions.bound()  # what another process wrote, cut to this host's bounds
        q, d = self._q, self._d
        version, state, until, half_gen = self.block.read(
            lambda: (q[VERSION], q[STATE], d[slots.OPEN_UNTIL], q[slots.HALF_GEN]))
        before = self._state
        self._open_until, self._half_gen = until, half_gen
        self._state = STATES[state]
        self._seen = version
        if self._state is not before and self._on_seen is not None:
            with contextlib.suppress(Exception):
                self._on_seen(self._state)

    def _after_write(self, transition: model.Transition | None) -> None:
        """After the locks are released: refresh the copy, then tell the listener."""
        if self._q[VERSION] != self._seen:
            self._refresh()
        if transition is not None and self._on_transition is not None:
            with contextlib.suppress(Exception):  # a broken listener must not break the breaker
                self._on_transition(transition)

    @property
    def is_closed(self) -> bool:
        if self._q[VERSION] != self._seen:
            self._refresh()
        return self._state is _CLOSED

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function`` guarded, like the machine's."""
        permit = self.acquire()
        try:
            result = function(*args, **kwargs)
        except Exception:
            self._record(FAILURE, permit)
            raise
        self.record_success(permit)
        return result

    def close(self) -> None:
        """Stop the sync thread (after one last flush) and unmap the block."""
        self._sync.stop(2)
        with contextlib.suppress(Exception):
            self.sync()
        self.block.close()
