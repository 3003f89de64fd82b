"""The Prometheus series the contract names (docs/api/metrics.md), defined once per process.

Under gunicorn, :func:`enable_multiprocess` runs in the master before any worker exists, so every
worker writes its samples to files in one directory and ``/metrics`` (any worker) reports the sum.
It must run before ``prometheus_client`` is first imported anywhere in the master, which is why this
module imports it lazily.

Label sets are bounded by construction: ``method`` is one of :data:`HTTP_METHODS` or ``other``,
``status`` a class (``2xx`` ...), ``code`` a contract error code or ``""`` for an answer that
carries none; no series has a path label.

Histogram buckets (seconds), chosen for a web service whose database calls are bounded by
``pool_timeout`` (30 s by default) and ``call_timeout_ms`` (55 s):

* requests: 5 ms .. 60 s, dense around the 50-500 ms that users notice (a bucket every 25-100
  ms there, so a quantile interpolated inside one is within a few tens of milliseconds of the
  clients' own), with 30 s and 60 s so that answers held by a pool wait or a statement timeout
  land in a bucket of their own;
* statements: from 1 ms (an indexed lookup on a warm connection) to 60 s (past the timeout);
* pool waits: from 0.5 ms (a free idle connection) to 30 s (``pool_timeout``): anything above
  a few milliseconds means the pool is the bottleneck.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from dashboard.private_files import open_private, private_dir

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
                   1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STATEMENT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                     10.0, 30.0, 60.0)
POOL_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                     5.0, 10.0, 30.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BREAKER_TRANSITIONS = (("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "OPEN"),
                       ("HALF_OPEN", "CLOSED"))


def enable_multiprocess(directory: Path) -> None:
    """Start a fresh multiprocess directory (stale files from a previous run are removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    private_dir(directory)  # samples are owner-only (dashboard.private_files)
    os.environ[MULTIPROC_ENV] = str(directory)
    preallocate_sample_files()


def preallocate_sample_files() -> None:
    """Make the multiprocess sample files allocate their disk space when they grow.

    ``prometheus_client`` memory-maps each file after growing it with ``truncate``, which only
    makes it sparse: on a full filesystem the first write to a new page is ``SIGBUS`` and the
    worker dies (and is respawned to die again). With ``posix_fallocate`` the space is taken when
    the file grows, so a full disk is an ``OSError`` (``ENOSPC``) that the request's error
    handling answers, not a dead worker. Call after :data:`MULTIPROC_ENV` is set; idempotent.
    """
    from prometheus_client import mmap_dict, values

    base: Any = getattr(values, "MmapedDict", None)
    if base is None or getattr(base, "preallocates", False):
        return

    class PreallocatedMmapedDict(base):
        preallocates = True

        def __init__(self, filename: str, read_mode: bool = False) -> None:
            if not read_mode:
                _allocate(filename, mmap_dict._INITIAL_MMAP_SIZE)
            super().__init__(filename, read_mode)
            if not read_mode:
                self._f: Any = _AllocatingFile(self._f)

    values.MmapedDict = PreallocatedMmapedDict  # type: ignore[misc]  # prometheus_client's class, replaced


def _allocate(filename: str, size: int) -> None:
    fd = open_private(filename)  # made 0600 before prometheus_client opens it as it is
    try:
        if os.fstat(fd).st_size < size:
            os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


class _AllocatingFile:
    """The sample file with ``truncate`` (growing only, in ``MmapedDict``) allocating blocks."""

    def __init__(self, file: Any) -> None:
        self._file = file

    def truncate(self, size: int) -> int:
        os.posix_fallocate(self._file.fileno(), 0, size)
        return size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class _FlushBuffered:
    """A collector with no samples that writes the buffered observations
    (:mod:`dashboard.metrics.batch`) when the process's registry is read, so a read is exact."""

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> list[Any]:
        from dashboard.metrics.batch import flush_all

        flush_all()
        return []


@cache
def series() -> SimpleNamespace:
    """The metric objects, created on first use (after the multiprocess decision was made).

    Gauges are ``live*``: a dead worker's value stops counting the moment the master reaps it.
    """
    from prometheus_client import REGISTRY, Counter, Gauge, Histogram

    from dashboard.metrics.process import BuildInfoCollector

    REGISTRY.register(_FlushBuffered())  # before the series: a read sees what was buffered
    REGISTRY.register(BuildInfoCollector())  # multiprocess scrapes add theirs (metrics.files)
    return SimpleNamespace(
        # -- docs/api/metrics.md --
        breaker_state=Gauge(
            "dashboard_breaker_state",
            "Circuit breaker state per worker: 0 CLOSED, 1 HALF_OPEN, 2 OPEN.",
            multiprocess_mode="livemax"),
        degraded_responses=Counter(
            "dashboard_degraded_responses_total",
            "Responses answered with a degraded (retryable database) error code.", ["code"]),
        pool_checked_out=Gauge(
            "dashboard_db_pool_checked_out",
            "Connections checked out of the live engine's pool, summed over live workers.",
            multiprocess_mode="livesum"),
        health_cache_hits=Counter(
            "dashboard_health_cache_hits_total", "Health answers served from the memo."),
        worker_restarts=Counter(
            "dashboard_worker_restarts_total", "Worker restarts by source.", ["source"]),
        # -- docs/api/metrics.md --
        http_request_duration=Histogram(
            "dashboard_http_request_duration_seconds",
            "Time from receiving a request to closing its body, by method, status class, "
            "contract error code (empty when the answer carries none, STALE for a stand-in) "
            "and handler (app, or control: health, metrics, admin, static).",
            ["method", "status", "code", "handler"], buckets=REQUEST_BUCKETS),
        db_statement_duration=Histogram(
            "dashboard_db_statement_duration_seconds",
            "Time a statement of the host's engine ran, failed ones included.",
            buckets=STATEMENT_BUCKETS),
        db_pool_wait=Histogram(
            "dashboard_db_pool_wait_seconds",
            "Time spent getting a connection from the host's engine pool (pool timeouts "
            "included).", buckets=POOL_WAIT_BUCKETS),
        breaker_transitions=Counter(
            "dashboard_breaker_transitions_total", "Circuit breaker state changes.",
            ["from", "to"]),
        breaker_rejections=Counter(
            "dashboard_breaker_rejections_total",
            "Database accesses refused by the circuit breaker."),
        breaker_forced=Gauge(
            "dashboard_breaker_forced",
            "Operator override of the circuit breaker: 0 none, 1 forced open, 2 disabled "
            "(highest live worker).", multiprocess_mode="livemax"),
        breaker_failure_rate=Gauge(
            "dashboard_breaker_failure_rate",
            "Failure share of the breaker's window, worst live worker.",
            multiprocess_mode="livemax"),
        admission_limit=Gauge(
            "dashboard_admission_limit",
            "Admission limit (app requests allowed in flight), summed over live workers.",
            multiprocess_mode="livesum"),
        admission_in_flight=Gauge(
            "dashboard_admission_in_flight",
            "App requests holding an admission slot, summed over live workers.",
            multiprocess_mode="livesum"),
        admission_rejected=Counter(
            "dashboard_admission_rejected_total",
            "App requests answered OVERLOADED for want of an admission slot."),
        stale_responses=Counter(
            "dashboard_stale_responses_total",
            "Degraded answers replaced by the last good answer (fallback), by the code they "
            "stood in for.", ["code"]),
        # -- docs/api/metrics.md --
        database_up=Gauge(
            "dashboard_database_up",
            "1 when the worker's last background probe of the engine passed, 0 when it failed.",
            ["engine"], multiprocess_mode="liveall"),
        health_status=Gauge(
            "dashboard_health_status",
            "The worker's health from its background probe: 0 healthy, 1 degraded, 2 unhealthy.",
            multiprocess_mode="liveall"),
        pool_size=Gauge(
            "dashboard_db_pool_size",
            "Configured pool size per engine, summed over live workers.", ["engine"],
            multiprocess_mode="livesum"),
        pool_overflow=Gauge(
            "dashboard_db_pool_overflow",
            "Connections open beyond the pool size per engine, summed over live workers.",
            ["engine"], multiprocess_mode="livesum"),
        pool_waiting=Gauge(
            "dashboard_db_pool_waiting",
            "Threads waiting for a free connection per engine, summed over live workers.",
            ["engine"], multiprocess_mode="livesum"),
        pool_timeouts=Counter(
            "dashboard_db_pool_timeouts_total",
            "Checkouts that gave up after pool_timeout, per engine.", ["engine"]),
        breaker_calls=Counter(
            "dashboard_breaker_calls_total",
            "Database calls seen by the circuit breaker by outcome: success, failure, slow, "
            "not_permitted (refused while open).", ["kind"]),
    )


def method_label(method: str) -> str:
    """A bounded ``method`` label: the usual verbs, everything else ``other``."""
    return method if method in HTTP_METHODS else "other"


def status_class(status: str | int) -> str:
    """``"200 OK"`` -> ``"2xx"``; anything unparseable -> ``"other"``."""
    text = str(status)[:3]
    return f"{text[0]}xx" if text.isdigit() and text[0] in "12345" else "other"


#: Codes a stale (fallback) answer can stand in for (docs/plugins/fallback.md).
STALE_CODES = ("CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED", "DB_POOL_EXHAUSTED",
               "DB_QUERY_TIMEOUT", "DB_CONFLICT", "OVERLOADED")
RESTART_SOURCES = ("manual", "auto", "crash")
#: The code a stand-in (a stale 200 in place of a degraded answer) carries in the request
#: histogram: what the client received, not what the app answered.
STALE_CODE = "STALE"
HANDLERS = ("app", "control")
BREAKER_CALL_KINDS = ("success", "failure", "slow", "not_permitted")
#: The host's own engine in ``engine`` labels; adopted app engines use their own names.
DEFAULT_ENGINE = "default"
