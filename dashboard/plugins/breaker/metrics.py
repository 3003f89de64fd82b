"""The breaker's series: state, transitions, refusals and the window's failure rate.

Kept apart from the decisions: every function here swallows its own errors (a metric must never
break a decision) and costs at most a comparison on the hot path (the failure-rate gauge is only
written when the rate changed; refusals are counted in memory and written in batches).
"""

from __future__ import annotations

from dashboard.metrics.batch import BatchedCounter
from dashboard.metrics.series import series
from dashboard.plugins.breaker.machine import CircuitBreaker, State, Transition
from dashboard.plugins.breaker.overrides import GAUGE_VALUES


def publish_state(state: State) -> None:
    try:
        series().breaker_state.set(state.gauge_value)
    except Exception:
        return


def publish_forced(forced: str | None) -> None:
    """``dashboard_breaker_forced``: 0 no override, 1 forced open, 2 disabled."""
    try:
        series().breaker_forced.set(GAUGE_VALUES.get(forced, 0))
    except Exception:
        return


def count_transition(transition: Transition) -> None:
    try:
        series().breaker_transitions.labels(transition.before.value,
                                            transition.after.value).inc()
    except Exception:
        return


_rejections: list[BatchedCounter] = []


def count_rejection() -> None:
    """One refused call: counted in memory, written on the metrics beat (a refusal is the
    fail-fast path, answered many times a second while the database is down)."""
    try:
        if not _rejections:
            _rejections.append(BatchedCounter(series().breaker_rejections))
        _rejections[0].inc()
    except Exception:
        return


class FailureRateGauge:
    """``dashboard_breaker_failure_rate`` for one breaker, written only when it changes."""

    __slots__ = ("_breaker", "_last")

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._last = -1.0

    def publish(self) -> None:
        rate = self._breaker.window_failure_rate
        if rate != self._last:
            self._last = rate
            try:
                series().breaker_failure_rate.set(rate)
            except Exception:
                return
