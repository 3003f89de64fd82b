"""The admission series (docs/api/metrics.md), fed by the middleware and the limiter.

Metrics never break a decision: a failing update is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from dashboard import register_flush, series


class PrometheusEvents:
    """``dashboard_admission_in_flight`` / ``_rejected_total`` updates.

    The in-flight gauge is sampled from ``in_flight`` (the limiter's count) on the metrics
    flush beat (:mod:`dashboard.metrics.batch`: every 100 ms, at scrape and at exit) instead of an
    ``inc`` and a ``dec`` per request, which under gunicorn are two locked mmap writes. It moves
    by the change since the last sample, so several limiters in one process still add up.
    """

    def __init__(self, in_flight: Callable[[], int] = lambda: 0) -> None:
        metrics = series()
        self._in_flight_gauge = metrics.admission_in_flight
        self._rejected = metrics.admission_rejected
        self._in_flight = in_flight
        self._published = 0
        self._lock = threading.Lock()
        register_flush(self)

    def flush(self) -> None:
        with self._lock:
            current = self._in_flight()
            if current != self._published:
                self._in_flight_gauge.inc(current - self._published)
                self._published = current

    def rejected(self) -> None:
        with contextlib.suppress(Exception):
            self._rejected.inc()


def publish_limit(limit: int) -> None:
    """``dashboard_admission_limit``: set whenever the whole-request limit changes."""
    with contextlib.suppress(Exception):
        series().admission_limit.set(limit)
