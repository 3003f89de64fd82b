"""The in-flight gauge is sampled from the limiters on the metrics beat, and limiters add up."""

from __future__ import annotations

from prometheus_client import REGISTRY

from dashboard.plugins.admission.metering import PrometheusEvents

GAUGE = "dashboard_admission_in_flight"


def gauge() -> float:
    return REGISTRY.get_sample_value(GAUGE) or 0.0  # reading the registry flushes first


def test_the_gauge_follows_the_sum_of_the_limiters_counts_without_per_request_writes() -> None:
    counts = {"a": 0, "b": 0}
    base = gauge()
    first = PrometheusEvents(lambda: counts["a"])
    second = PrometheusEvents(lambda: counts["b"])
    counts["a"], counts["b"] = 3, 2
    assert gauge() == base + 5
    counts["a"] = 1
    assert gauge() == base + 3
    counts["a"] = counts["b"] = 0
    assert gauge() == base
    del first, second
