"""When a breaker opens and for how long: the numbers every scope applies the same way.

A :class:`Rules` is the validated half of ``[plugins.breaker]`` a state machine needs. The worker
scope's machine (:mod:`.machine`) and the host scope's block-backed breaker
(:mod:`dashboard.plugins.breaker.host.breaker`) both ask it, so the two cannot drift apart:
once at least ``minimum_calls`` are in the window, the failure share opens it at
``failure_rate_threshold`` and the slow share at ``slow_call_rate_threshold`` (a slow call is not
a failure); a failed probe doubles the open period, up to ``open_seconds_max``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.plugins.breaker.core.model import FAILURE_RATE, SLOW_CALL_RATE


@dataclass(frozen=True)
class Rules:
    """The thresholds of one breaker; ``ValueError`` for a window that could never open."""

    window_size: int = 10
    minimum_calls: int = 5
    failure_rate_threshold: float = 0.5
    open_seconds: float = 30
    half_open_max_calls: int = 1
    slow_call_rate_threshold: float = 1.0
    window_seconds: int = 0
    open_seconds_max: float = 0

    def __post_init__(self) -> None:
        if self.window_seconds <= 0 and not 1 <= self.minimum_calls <= self.window_size:
            raise ValueError("need 1 <= minimum_calls <= window_size")
        if self.minimum_calls < 1:
            raise ValueError("need minimum_calls >= 1")
        object.__setattr__(self, "open_seconds", float(self.open_seconds))
        object.__setattr__(self, "open_seconds_max",
                           max(float(self.open_seconds_max), self.open_seconds))

    def opening_reason(self, count: int, failures: int, slow: int) -> str | None:
        """Why a CLOSED window of ``count`` outcomes opens the breaker, or ``None``."""
        if count < self.minimum_calls:
            return None
        if failures / count >= self.failure_rate_threshold:
            return FAILURE_RATE
        if slow / count >= self.slow_call_rate_threshold:
            return SLOW_CALL_RATE
        return None

    def after_failed_probe(self, open_for: float) -> float:
        """The next open period after a failed probe: twice the last, up to the maximum."""
        return min(open_for * 2, self.open_seconds_max)
