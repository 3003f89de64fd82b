"""The admission series (CONTRACT §14), fed by the middleware and the limiter.

Metrics never break a decision: a failing update is dropped.
"""

from __future__ import annotations

import contextlib

from dashboard.metrics import series


class PrometheusEvents:
    """``dashboard_admission_in_flight`` / ``_rejected_total`` updates, one call each."""

    def __init__(self) -> None:
        metrics = series()
        self._in_flight = metrics.admission_in_flight
        self._rejected = metrics.admission_rejected

    def admitted(self) -> None:
        try:
            self._in_flight.inc()
        except Exception:  # on every request: try is cheaper than a context manager
            return

    def released(self) -> None:
        try:
            self._in_flight.dec()
        except Exception:
            return

    def rejected(self) -> None:
        with contextlib.suppress(Exception):
            self._rejected.inc()


def publish_limit(limit: int) -> None:
    """``dashboard_admission_limit``: set whenever the whole-request limit changes."""
    with contextlib.suppress(Exception):
        series().admission_limit.set(limit)
