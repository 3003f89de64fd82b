"""Buffered histogram observations: after a flush, the samples are exactly those of ``observe``."""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Histogram

from dashboard.metrics import batch as histbatch
from dashboard.metrics.batch import BatchedHistogram, flush_all

BUCKETS = (0.005, 0.01, 0.1, 1.0)
VALUES = [0.0, 0.005, 0.0050001, 0.01, 0.05, 0.1, 0.5, 1.0, 3.0, 7.5, 0.002]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but ``_created``; sums rounded (a batch adds them in another order)."""
    return {(s.name, tuple(sorted(s.labels.items()))):
            round(s.value, 6) if s.name.endswith("_sum") else s.value
            for family in registry.collect() for s in family.samples
            if not s.name.endswith("_created")}


def pair() -> tuple[CollectorRegistry, Histogram, CollectorRegistry, Histogram]:
    direct_registry, batched_registry = CollectorRegistry(), CollectorRegistry()
    direct = Histogram("t_seconds", "t", ["method"], buckets=BUCKETS, registry=direct_registry)
    batched = Histogram("t_seconds", "t", ["method"], buckets=BUCKETS, registry=batched_registry)
    return direct_registry, direct, batched_registry, batched


def test_after_a_flush_the_samples_equal_those_of_observe_bucket_edges_included() -> None:
    direct_registry, direct, batched_registry, batched = pair()
    batch = BatchedHistogram(batched)
    for value in VALUES:
        direct.labels("GET").observe(value)
        batch.observe(("GET",), value)
        direct.labels("POST").observe(value * 2)
        batch.observe(("POST",), value * 2)
    batch.flush()
    assert samples(batched_registry) == samples(direct_registry)


def test_nothing_is_lost_while_threads_observe_during_flushes() -> None:
    direct_registry, direct, batched_registry, batched = pair()
    batch = BatchedHistogram(batched)
    threads_done = threading.Event()

    def flusher() -> None:
        while not threads_done.is_set():
            batch.flush()

    def worker() -> None:
        for value in VALUES * 500:
            batch.observe(("GET",), value)

    flushing = threading.Thread(target=flusher)
    flushing.start()
    workers = [threading.Thread(target=worker) for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    threads_done.set()
    flushing.join()
    flush_all()
    for _ in range(4):
        for value in VALUES * 500:
            direct.labels("GET").observe(value)
    assert samples(batched_registry) == samples(direct_registry)


def test_the_background_thread_writes_within_a_few_intervals() -> None:
    _, _, batched_registry, batched = pair()
    batch = BatchedHistogram(batched)  # held, as the request meter holds its batch
    batch.observe(("GET",), 0.02)
    deadline = time.monotonic() + 30
    count = ("t_seconds_count", (("method", "GET"),))
    while samples(batched_registry).get(count) != 1.0:
        assert time.monotonic() < deadline, "the flusher never wrote the observation"
        time.sleep(histbatch.FLUSH_SECONDS)


def test_reading_the_default_registry_flushes_first() -> None:
    """What tests and a single-process ``/metrics`` read is exact without waiting."""
    from prometheus_client import REGISTRY

    from dashboard.metrics.series import series

    metrics = series()
    labels = ("GET", "2xx", "histbatch-test", "app")
    before = REGISTRY.get_sample_value("dashboard_http_request_duration_seconds_count",
                                       dict(zip(("method", "status", "code", "handler"), labels,
                                                strict=True))) or 0.0
    batch = BatchedHistogram(metrics.http_request_duration)
    for _ in range(7):
        batch.observe(labels, 0.003)
    after = REGISTRY.get_sample_value("dashboard_http_request_duration_seconds_count",
                                      dict(zip(("method", "status", "code", "handler"), labels,
                                               strict=True)))
    assert after == before + 7


def test_a_batched_counter_adds_exactly_its_increments_across_flushes_and_threads() -> None:
    from prometheus_client import Counter

    registry = CollectorRegistry()
    counter = Counter("c_total", "c", registry=registry)
    batched = histbatch.BatchedCounter(counter)
    done = threading.Event()

    def flusher() -> None:
        while not done.is_set():
            batched.flush()

    flushing = threading.Thread(target=flusher)
    flushing.start()
    workers = [threading.Thread(target=lambda: [batched.inc() for _ in range(5000)])
               for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    done.set()
    flushing.join()
    batched.flush()
    batched.flush()
    assert registry.get_sample_value("c_total") == 20000
