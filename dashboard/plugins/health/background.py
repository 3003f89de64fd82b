"""The background database probe: ``/health`` notices an outage with no traffic at all (§9.3).

``/health`` makes no database round trip on the request path, so on its own it could say
``healthy`` for as long as nobody used the database. Each worker therefore probes in the
background every ``refresh_seconds``, with the deep probe itself
(:class:`~dashboard.plugins.health.probe.DatabaseProbe`: its own one-connection pool, bounded by
``deep_timeout_ms``, never gated or counted by the breaker), and ``/health`` carries the last
result as ``checks.database`` with its ``age_seconds``. A failed probe makes ``/health``
``unhealthy`` (503) with ``database_unreachable``, exactly as ``/health/deep`` does.

* At most one background probe per worker per period: the loop starts a probe, then waits for
  what is left of the period (a probe slower than the period is followed by the next at once; the
  deep probe never runs two round trips at a time anyway).
* Time to notice, with no traffic: the outage is seen by the next probe, at most
  ``refresh_seconds`` later (plus the probe's own bound when the database hangs rather than
  refuses), and ``/health`` shows it once its memo (``memo_ttl_seconds``) expires.
* Started by ``dashboard_worker_started`` (in the worker, after the fork; never in the master)
  and stopped by :meth:`close`. Never in ``testing``: there a test drives :meth:`tick` itself.
* The thread is a daemon and never raises: a probe that raises is recorded as a failed check
  naming the error class.
* It probes every engine the app uses (:mod:`dashboard.plugins.health.engines`); with none
  (no ``[database].url``, an app without a database) the reading passes with ``engines: []``,
  and nothing is connected to or logged.
* Every reading is in the metrics, so an idle outage shows there too: this worker's
  ``dashboard_database_up{engine}`` per engine, by its name (1 passed, 0 failed), and
  ``dashboard_health_status`` (0 healthy, 1 degraded for a slow probe, 2 unhealthy for a failed
  one; the worst engine). The log says when an engine's probe starts failing (one WARNING) and
  when it passes again (one INFO), not at every tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from dashboard import DEFAULT_ENGINE, CheckResult, Clock, PeriodicThread, mark_set, series

logger = logging.getLogger("dashboard.health")
#: ``dashboard_health_status`` per check status of the probe.
HEALTH_STATUS = {"pass": 0, "warn": 1, "fail": 2}
#: This worker's last status per probed engine (a worker probes each engine it serves).
_statuses: dict[str, int] = {}


@dataclass(frozen=True)
class ProbeReading:
    """One background probe's result and when it was taken (monotonic seconds)."""

    result: CheckResult
    taken_at: float


class BackgroundProbe:
    """Runs ``probe`` every ``period`` seconds on a daemon thread; keeps the last reading."""

    def __init__(self, probe: Callable[[], CheckResult], clock: Clock, period: float,
                 engine: str = DEFAULT_ENGINE) -> None:
        self._probe = probe
        self._clock = clock
        self.period = period
        self.engine = engine  # the ``engine`` label of its readings ("default": the host's)
        self._failing: set[str] = set()  # the engines whose last probe failed
        self._reading: ProbeReading | None = None
        self._lock = threading.Lock()
        self._loop = PeriodicThread("health-background-probe", period, self.tick,
                                    run_first=True)
        self.ticks = 0

    @property
    def enabled(self) -> bool:
        return self.period > 0

    @property
    def running(self) -> bool:
        return self._loop.running

    def tick(self) -> CheckResult:
        """One probe now; its result becomes what ``/health`` shows. Never raises."""
        try:
            result = self._probe()
        except Exception as error:
            result = CheckResult("database", "fail", {"latency_ms": 0.0,
                                                      "error": type(error).__name__},
                                 degraded_reason="database_unreachable")
        with self._lock:
            self._reading = ProbeReading(result, self._clock.monotonic())
            self.ticks += 1
        self._publish(result)
        return result

    def _publish(self, result: CheckResult) -> None:
        """The reading as this worker's gauges, and a log line when an engine turns (never
        raises). A reading listing its ``engines`` publishes each under its own name; one
        without (a probe that raised) under :attr:`engine`."""
        readings = _per_engine(result, self.engine)
        try:
            metrics = series()
            for name, status, _error in readings:
                mark_set(("database_up", name))  # a reading: the primed 1 is not wanted
                metrics.database_up.labels(engine=name).set(0 if status == "fail" else 1)
            mark_set(("health_status",))
            if "engines" in result.details:  # the whole set: engines gone are forgotten
                _statuses.clear()
            _statuses.update((name, HEALTH_STATUS.get(status, 2)) for name, status, _ in readings)
            metrics.health_status.set(max(_statuses.values(), default=0))  # the worst engine
        except Exception:  # a metric must never stop the probe
            logger.debug("health: probe reading not published", exc_info=True)
        failing = {name: error for name, status, error in readings if status == "fail"}
        for name, error in failing.items():
            if name not in self._failing:
                logger.warning("health: background database probe failing (engine=%s, "
                               "error=%s)", name, error)
        for name in self._failing - set(failing):
            logger.info("health: background database probe passes again (engine=%s)", name)
        self._failing = set(failing)

    def check(self) -> CheckResult | None:
        """The last background result with its ``age_seconds``; ``None`` before the first."""
        with self._lock:
            reading = self._reading
        if reading is None:
            return None
        age = max(0.0, self._clock.monotonic() - reading.taken_at)
        return replace(reading.result,
                       details={**reading.result.details, "age_seconds": round(age, 3)})

    def start(self) -> bool:
        """Start the thread (idempotent); ``False`` when the period is 0 (off)."""
        if not self.enabled:
            return False
        self._loop.start()
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread; a probe in progress ends within its own bound."""
        self._loop.stop(timeout)

    stop = close


def _per_engine(result: CheckResult, default: str) -> list[tuple[str, str, str]]:
    """``(engine name, status, error)`` for each engine the reading covers."""
    engines = result.details.get("engines")
    if not isinstance(engines, list):
        return [(default, result.status, str(result.details.get("error", "unknown")))]
    return [(str(entry.get("name")), str(entry.get("status")), str(entry.get("error", "unknown")))
            for entry in engines if isinstance(entry, dict)]
