"""The breaker's series: state, transitions, refusals, calls and the window's failure rate.

Kept apart from the decisions: every function here swallows its own errors (a metric must never
break a decision) and costs at most a comparison on the hot path (the failure-rate gauge is only
written when the rate changed; refusals are counted in memory and written in batches).
"""

from __future__ import annotations

from typing import Any

from dashboard import BatchedCounter, series
from dashboard.plugins.breaker.core.model import BreakerState, Transition
from dashboard.plugins.breaker.core.overrides import GAUGE_VALUES
from dashboard.plugins.breaker.core.protocol import ScopeBreaker


def publish_state(state: BreakerState) -> None:
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
_calls: dict[str, BatchedCounter] = {}


class _Both:
    """Two counter children written as one: a refusal is also a ``not_permitted`` call."""

    def __init__(self, *children: Any) -> None:
        self._children = children

    def inc(self, amount: float = 1) -> None:
        for child in self._children:
            child.inc(amount)


def count_rejection() -> None:
    """One refused call: counted in memory, written on the metrics beat (a refusal is the
    fail-fast path, answered many times a second while the database is down), both in
    ``dashboard_breaker_rejections_total`` and as ``dashboard_breaker_calls_total``'s
    ``not_permitted`` (one increment on the request path for both)."""
    try:
        if not _rejections:
            metrics = series()
            _rejections.append(BatchedCounter(_Both(
                metrics.breaker_rejections, metrics.breaker_calls.labels(kind="not_permitted"))))
        _rejections[0].inc()
    except Exception:
        return


def count_call(kind: str) -> None:
    """One call outcome the breaker recorded (``success``, ``failure`` or ``slow``) in
    ``dashboard_breaker_calls_total{kind}``: counted in memory, written on the metrics beat.
    A slow call that then fails counts as ``slow`` once it passed ``slow_call_ms`` and as
    ``failure`` when it fails (the window replaces its slow outcome; a counter cannot go back)."""
    try:
        counter = _calls.get(kind)
        if counter is None:
            counter = _calls[kind] = BatchedCounter(series().breaker_calls.labels(kind=kind))
        counter.inc()
    except Exception:
        return


class FailureRateGauge:
    """``dashboard_breaker_failure_rate`` for one breaker, written only when it changes."""

    __slots__ = ("_breaker", "_last")

    def __init__(self, breaker: ScopeBreaker) -> None:
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
