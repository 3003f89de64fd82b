"""What the breaker keeps per host: the state machine, its gate and its transition notifier.

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
            clock=clock, on_transition=self._on_transition)
        self.gate = BreakerGate(self.breaker)
        publish_state(State.CLOSED)

    def _on_transition(self, transition: Transition) -> None:
        """Runs after the breaker's lock is released: the series now, the rest in the
        background."""
        publish_state(transition.after)
        count_transition(transition)
        self.gate.failure_rate.publish()
        self.notifier(transition)


BREAKER = StateKey[BreakerState]("breaker")

__all__ = ["BREAKER", "BreakerState", "publish_state"]

