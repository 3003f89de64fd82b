"""Slow calls seen while they are still running: one ticking thread per worker, no timer per call.

A query stuck behind a lock is the slow call that matters, and it does not end until
``call_timeout_ms`` cuts it: counting it when it ends would be far too late. So a statement is
registered when it starts (:meth:`SlowCallWatch.start`) and a sweeper marks it slow once it has
run for ``slow_call_ms``, while it is still waiting.

Why it stays cheap on the guarded call: it is a timing wheel checked by a cheap timer. The
sweeper thread advances a tick every ``slow_call_ms / 10`` (at least 5 ms); a starting statement
notes the current tick (an attribute read: no clock call, which costs more than all the rest on
some virtual machines) and is slow once ``ticks_per_slow + 1`` ticks have passed since, that is
after at least ``slow_call_ms`` and at most one tick more. Every call has the same threshold, so
calls in flight are in deadline order by the order they started, and a plain dict (insertion-
ordered, keyed by thread: a thread runs one statement at a time) is the whole wheel. ``start`` is
one dict insertion, ``end`` one ``dict.pop``; both are atomic under the GIL, so neither takes a
lock. The sweeper claims a call with the same ``dict.pop``: whichever side pops the entry owns
the outcome, so a call is counted once. Only when the sweeper has won (the call was slow) does
the ending side take the lock, to find the slow outcome's ticket: a slow call that then fails with
an availability fault becomes one failure, not a slow call plus a failure.

With nothing in flight for a while the sweeper stops ticking and sleeps until a statement starts
(that one start sets an event); the tick it noted is then at most one tick old, so the wheel is
never early.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from threading import get_ident
from typing import Literal

from dashboard.plugins.breaker.core.model import Permit, SlowTicket
from dashboard.plugins.breaker.core.protocol import ScopeBreaker
from dashboard.plugins.breaker.metrics import count_call

_MIN_TICK_SECONDS = 0.005
_IDLE_CHECK_SECONDS = 60  # an idle sweeper still looks now and then (belt and braces)
_MAX_REMEMBERED = 1024  # slow calls whose end has not come yet (a cut connection may never say)


class SlowCallWatch:
    """Calls in flight for one breaker, and the ticking sweeper that marks the slow ones."""

    def __init__(self, breaker: ScopeBreaker, slow_call_ms: float) -> None:
        self.breaker = breaker
        self.slow_seconds = slow_call_ms / 1000
        self.tick_seconds = max(self.slow_seconds / 10, _MIN_TICK_SECONDS)
        self.ticks_per_slow = math.ceil(self.slow_seconds / self.tick_seconds - 1e-9)
        self._tick = 0
        # thread -> (tick at start, probe permit) of the statement it runs, in start order
        self._inflight: dict[int, tuple[int, Permit | None]] = {}
        self._slow: dict[int, SlowTicket | None] = {}  # claimed by the sweeper, not yet ended
        self._lock = threading.Lock()
        self._idle = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweeping = False  # is the sweeper of this process running? (reset in a forked child)
        self._stop = threading.Event()
        _watches.add(self)

    # -- the guarded call's side (hot path) --------------------------------------------------

    def start(self, permit: Permit | None) -> None:
        """A statement starts in this thread; ``permit`` is the request's probe permit."""
        thread = get_ident()
        if thread in self._inflight or thread in self._slow:
            self._forget(thread)  # the last statement here never reported its end
        self._inflight[thread] = (self._tick, permit)
        if self._idle:  # after the insertion: the sweeper re-checks in the other order
            self._wake.set()

    def end(self) -> SlowTicket | Literal[False] | None:
        """This thread's statement (or other database call) ended: may its caller count it?

        ``False``: yes, it was not slow (or no statement was watched: a connection attempt).
        Otherwise it was already counted as slow: returns its ticket (``None`` when the breaker
        did not count it, e.g. it was OPEN by then) so that a failure can replace it.
        """
        thread = get_ident()
        if self._inflight.pop(thread, None) is not None:
            return False
        with self._lock:  # rare: a slow call, or an outcome that was not a statement
            return self._slow.pop(thread, False)

    # -- the sweeper's side ------------------------------------------------------------------

    def advance(self) -> int:
        """One tick: mark every call that has now run for ``slow_call_ms``; return how many."""
        self._tick += 1
        due = self._tick - self.ticks_per_slow - 1  # started at this tick or before: slow
        inflight, marked = self._inflight, 0
        while True:
            try:
                thread = next(iter(inflight))
                started, permit = inflight[thread]
            except StopIteration:
                return marked
            except (RuntimeError, KeyError):  # changed under us by a starting or ending call
                continue
            if started > due:
                return marked
            with self._lock:
                if inflight.pop(thread, None) is None:
                    continue  # it ended just now: the ending side counted it
                self._slow[thread] = self.breaker.record_slow(permit)
                count_call("slow")
                marked += 1
                while len(self._slow) > _MAX_REMEMBERED:
                    del self._slow[next(iter(self._slow))]

    def in_flight(self) -> int:
        return len(self._inflight)

    def ensure_sweeping(self) -> None:
        """Start the sweeper in this process, once (callers check ``sweeping`` first: cheap)."""
        with self._lock:
            if not self.sweeping:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="breaker-slow-calls")
                self._thread.start()
                self.sweeping = True

    def close(self, timeout: float = 5) -> None:
        """Stop the sweeper (host shutdown, tests)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._thread, self.sweeping = None, False

    def _after_fork_in_child(self) -> None:
        """A forked child has none of the parent's threads: locks and calls in flight start over
        (a lock the sweeper held at the fork would otherwise stay held for ever)."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight.clear()
        self._slow.clear()
        self._idle, self._thread, self.sweeping = False, None, False

    def _run(self) -> None:
        stop, quiet_ticks = self._stop, 0
        while not stop.wait(self.tick_seconds):
            try:
                self.advance()
            except Exception:  # never let the sweeper die: slow calls would go unseen
                continue
            quiet_ticks = 0 if self._inflight else quiet_ticks + 1
            if quiet_ticks > self.ticks_per_slow:
                self._sleep_until_a_start()
                quiet_ticks = 0

    def _sleep_until_a_start(self) -> None:
        self._wake.clear()
        self._idle = True
        if not self._inflight:  # re-check after announcing: a start in between sets the event
            self._wake.wait(_IDLE_CHECK_SECONDS)
        self._idle = False

    def _forget(self, thread: int) -> None:
        if self._inflight.pop(thread, None) is None:
            with self._lock:
                self._slow.pop(thread, None)


_watches: weakref.WeakSet[SlowCallWatch] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for watch in list(_watches):
        watch._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
