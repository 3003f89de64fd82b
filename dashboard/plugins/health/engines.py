"""The ``database`` check over every engine the app uses: one bounded probe each, the worst wins.

The engines are the host's (:func:`dashboard.database_engines`): its own, named ``default``, when
``[database].url`` is set (or the demo's SQLite default), then every engine of the app the host
adopted, named ``<backend>:<database>`` (``#2``... for a second one on the same database).
Each gets its own :class:`~dashboard.plugins.health.probe.DatabaseProbe`: a dedicated
one-connection pool built from the engine's URL, bounded by ``deep_timeout_ms``, never the
app's pool, never gated or counted by the breaker. The probes run side by side, so the check is
bounded by ``deep_timeout_ms`` however many engines there are.

The check is the worst of them (``fail`` over ``warn`` over ``pass``; its ``latency_ms`` is the
slowest round trip, its ``error`` and reason the first failing engine's) and lists each as
``engines: [{name, url (masked), status, latency_ms}]`` (plus ``error`` for a failed one).
With no engine at all (no ``[database].url`` and an app that made none, or none yet), the check
passes with ``engines: []``: there is no database to be unreachable, nothing is probed and
nothing is logged; an engine the app makes later is probed from the next check on.

What a probe cannot carry over: connect arguments an app gave in code (``connect_args``, a
``creator``) have no public reader in SQLAlchemy, so the probe connects with the URL alone; put
them in the URL's query to have them probed too (see docs/host-your-own-app.md).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard import CheckResult, DatabaseSection, database_engines, masked_url
from dashboard.plugins.health.probe import DatabaseProbe

if TYPE_CHECKING:
    from dashboard import Host

#: Worst first: the order a combined status takes.
RANK = {"pass": 0, "warn": 1, "fail": 2}


class EngineProbes:
    """One :class:`DatabaseProbe` per engine of the host, made on first use and kept."""

    def __init__(self, host: Host, timeout_ms: int) -> None:
        self._host = host
        self.timeout_ms = timeout_ms
        self._probes: dict[str, tuple[str, DatabaseProbe]] = {}  # name -> (url, probe)
        self._lock = threading.Lock()

    def check(self) -> CheckResult:
        """Every engine probed once, at the same time; the combined ``database`` check."""
        engines = database_engines(self._host)
        probes = [(name, masked_url(engine), self._probe_for(name, engine))
                  for name, engine in engines]
        results: list[CheckResult | None] = [None] * len(probes)

        def run(index: int) -> None:
            results[index] = probes[index][2].check()

        helpers = [threading.Thread(target=run, args=(index,), daemon=True,
                                    name="dashboard-health-engines")
                   for index in range(1, len(probes))]
        for helper in helpers:
            helper.start()
        if probes:
            run(0)
        for helper in helpers:  # each probe is bounded by deep_timeout_ms: so is the wait
            helper.join()
        return combined([(name, url, result) for (name, url, _), result
                         in zip(probes, results, strict=True) if result is not None])

    def _probe_for(self, name: str, engine: Engine) -> DatabaseProbe:
        url = engine.url.render_as_string(hide_password=False)
        with self._lock:
            known = self._probes.get(name)
            if known is not None and known[0] == url:
                return known[1]
            if known is not None:  # the name now stands for another engine
                known[1].dispose()
            probe = DatabaseProbe(self._database(url), self.timeout_ms)
            self._probes[name] = (url, probe)
            return probe

    def _database(self, url: str) -> DatabaseSection:
        """``[database]`` with ``url``: the probe's own engine is built from it."""
        return self._host.settings.database.model_copy(update={"url": url})

    def dispose(self) -> None:
        with self._lock:
            probes, self._probes = list(self._probes.values()), {}
        for _url, probe in probes:
            probe.dispose()


def combined(results: list[tuple[str, str, CheckResult]]) -> CheckResult:
    """The ``database`` check from each engine's ``(name, masked url, result)``."""
    listed = [_engine_entry(name, url, result) for name, url, result in results]
    if not results:
        return CheckResult("database", "pass", {"latency_ms": 0.0, "engines": listed})
    worst = max((result for _, _, result in results), key=lambda result: RANK[result.status])
    details: dict[str, Any] = {"latency_ms": max(_latency(result) for _, _, result in results)}
    if "error" in worst.details:
        details["error"] = worst.details["error"]
    details["engines"] = listed
    return CheckResult("database", worst.status, details, degraded_reason=worst.degraded_reason)


def _engine_entry(name: str, url: str, result: CheckResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "url": url, "status": result.status,
                             "latency_ms": _latency(result)}
    if "error" in result.details:
        entry["error"] = result.details["error"]
    return entry


def _latency(result: CheckResult) -> float:
    value = result.details.get("latency_ms", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0
