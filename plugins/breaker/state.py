"""What the breaker keeps per host: the state machine, its gate, its transition notifier and,
with ``slow_call_ms`` set, the slow-call watch (whose sweeper thread ``close()`` stops).

Plugins are modules shared by every host of a process; one host's breaker lives on that host
under :data:`BREAKER` (``host.state``), made at ``dashboard_configure``.
"""

from __future__ import annotations

from dashboard.clock import Clock
from dashboard.types import StateKey
from plugins.breaker.gate import BreakerGate
from plugins.breaker.machine import CircuitBreaker, State, Transition
from plugins.breaker.metrics import count_transition, publish_state
from plugins.breaker.notify import TransitionNotifier, log_transition
from plugins.breaker.settings import BreakerSettings
from plugins.breaker.slowwatch import SlowCallWatch


class BreakerState:
    """The breaker of one host in one process, with its gate and its notifier."""

    def __init__(self, settings: BreakerSettings, clock: Clock) -> None:
        self.settings = settings
        self.notifier = TransitionNotifier([log_transition])
        self.breaker = CircuitBreaker(
            window_size=settings.window_size, minimum_calls=settings.minimum_calls,
            failure_rate_threshold=settings.failure_rate_threshold,
            open_seconds=settings.open_seconds,
            half_open_max_calls=settings.half_open_max_calls,
            slow_call_rate_threshold=settings.slow_call_rate_threshold,
            window_seconds=settings.window_seconds, open_seconds_max=settings.open_seconds_max,
            clock=clock, on_transition=self._on_transition)
        self.watch = (SlowCallWatch(self.breaker, settings.slow_call_ms)
                      if settings.slow_call_ms > 0 else None)
        self.gate = BreakerGate(self.breaker, self.watch)
        publish_state(State.CLOSED)

    def statement_started(self) -> None:
        watch = self.watch
        if watch is not None:
            if not watch.sweeping:  # lazily, in the worker: a forked master's thread is gone
                watch.ensure_sweeping()
            self.gate.statement_started()

    def close(self) -> None:
        """Stop the sweeper thread, if one runs."""
        if self.watch is not None:
            self.watch.close()

    def _on_transition(self, transition: Transition) -> None:
        """Runs after the breaker's lock is released: the series now, the rest in the
        background."""
        publish_state(transition.after)
        count_transition(transition)
        self.gate.failure_rate.publish()
        self.notifier(transition)


BREAKER = StateKey[BreakerState]("breaker")

__all__ = ["BREAKER", "BreakerState", "publish_state"]

