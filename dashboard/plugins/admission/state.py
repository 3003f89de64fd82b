"""What the admission plugin keeps per host (per worker process): its settings and limiter."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dashboard import Clock, StateKey
from dashboard.plugins.admission.limiter import Limiter
from dashboard.plugins.admission.limits import FixedLimit, GradientLimit, LimitPolicy
from dashboard.plugins.admission.settings import AdmissionSettings, effective_max
from dashboard.plugins.admission.throttle import throttled_ceiling

if TYPE_CHECKING:
    from collections.abc import Callable

SECTION = "admission"


@dataclass
class AdmissionState:
    """One worker's limiter, its ceiling, and whether ``throttle`` currently lowers it."""

    settings: AdmissionSettings
    limiter: Limiter
    max_limit: int
    throttled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def exempt_paths(self) -> tuple[str, ...]:
        return tuple(self.settings.exempt_paths)

    @property
    def max_wait_seconds(self) -> float:
        return self.settings.max_wait_ms / 1000.0

    def observe_pressure(self, under_pressure: bool) -> None:
        """Lower the ceiling while the database is under pressure; restore it when it is not."""
        with self._lock:
            if under_pressure == self.throttled:
                return
            self.throttled = under_pressure
            ceiling = (throttled_ceiling(self.max_limit, self.settings.min_concurrent)
                       if under_pressure else self.max_limit)
            self.limiter.set_ceiling(ceiling)


ADMISSION = StateKey[AdmissionState]("admission")


def policy_for(settings: AdmissionSettings, max_limit: int) -> LimitPolicy:
    if not settings.adaptive:
        return FixedLimit(max_limit)
    return GradientLimit(min(settings.min_concurrent, max_limit), max_limit)


def build_state(settings: AdmissionSettings, threads: int, clock: Clock,
                max_latency: float | None, on_limit: Callable[[int], None] | None = None
                ) -> AdmissionState:
    max_limit = effective_max(settings, threads)
    limiter = Limiter(policy_for(settings, max_limit), clock, max_latency=max_latency,
                      on_limit=on_limit)
    return AdmissionState(settings=settings, limiter=limiter, max_limit=max_limit)
