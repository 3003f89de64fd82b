"""Every series at zero from the first scrape: the label values dashboards and alerts expect.

Apart from :mod:`dashboard.metrics.series` (which defines the series) because priming also
primes the per-engine series of :mod:`dashboard.metrics.engines`, which build on the series.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

from dashboard.metrics.engines import prime_engine
from dashboard.metrics.series import (
    BREAKER_CALL_KINDS,
    BREAKER_TRANSITIONS,
    DEFAULT_ENGINE,
    HANDLERS,
    RESTART_SOURCES,
    STALE_CODES,
    series,
)


def prime(degraded_codes: Iterable[str] = ()) -> SimpleNamespace:
    """Create every series and the label values dashboards and alerts expect, at 0.

    A labelled series has no sample until a child exists, and a query on a missing series is
    empty, not zero: alerts on ``rate(...)`` and the Grafana panels need them listed from the
    first scrape, also for plugins that are not enabled. ``degraded_codes`` are the contract's
    (``dashboard.contract.DEGRADED_CODES``; this leaf does not import the contract, which
    imports it).
    """
    metrics = series()
    for code in sorted(degraded_codes):
        metrics.degraded_responses.labels(code=code)
    for source in RESTART_SOURCES:
        metrics.worker_restarts.labels(source=source)
    for code in STALE_CODES:
        metrics.stale_responses.labels(code=code)
    for before, after in BREAKER_TRANSITIONS:
        metrics.breaker_transitions.labels(before, after)
    for handler in HANDLERS:
        metrics.http_request_duration.labels("GET", "2xx", "", handler)
    for kind in BREAKER_CALL_KINDS:
        metrics.breaker_calls.labels(kind=kind)
    prime_engine(DEFAULT_ENGINE)
    return metrics
