"""The health plugin's recommendation: what an operator (or the watchdog) should do now.

Every plugin may vote through ``dashboard_recommendation``; the strongest vote wins
(``recover`` > ``throttle`` > ``observe``), ties keep TOML order. The health plugin always votes,
by these rules, first match wins:

1. **recover**: the breaker has been ``OPEN``, or the pool critically saturated
   (``saturation >= pool_saturation_critical``), *continuously* for at least
   ``auto_recover_after_seconds`` (a threshold of the recovery plugin) **and** the restart policy
   is ``allowed``. Restarting the workers gives them fresh pools and fresh connections. A breaker
   an operator *forced* open (``checks.breaker.forced == "open"``) is not pressure: it is open on
   purpose, and restarting the workers would not (and should not) close it.
2. **throttle**: the same sustained pressure, but the policy is ``cooling_down`` or ``blocked``:
   restarting is not allowed, so shed load and wait.
3. **throttle**: the restart policy is ``blocked`` (restart churn exceeded): restarts are not
   helping; reduce load and investigate instead.
4. **throttle**: the breaker is ``OPEN`` or ``HALF_OPEN``: clients should back off for the
   ``Retry-After`` they are given.
5. **throttle**: pool saturation reached ``pool_saturation_warning``.
6. **throttle**: the deep database check failed (``database_unreachable``): a restart cannot
   fix the database; keep serving the degraded contract and let clients back off.
7. **observe**: nothing above holds.

"Continuously" is measured per worker on the monotonic clock, from the first evaluation that saw
the pressure to the current one; any evaluation without it starts the count again. Without the
recovery plugin there is no ``auto_recover_after_seconds`` and no policy, so the health plugin
never votes ``recover`` (nobody could act on it).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard import CheckResult, Recommendation


@dataclass(frozen=True)
class Situation:
    """What the rules look at, extracted from checks, thresholds and the restart policy."""

    breaker_state: str | None = None
    breaker_forced: str | None = None
    pool_status: str | None = None
    database_failed: bool = False
    policy_state: str | None = None
    pressure_seconds: float = 0.0
    auto_recover_after_seconds: float | None = None

    @property
    def breaker_tripped(self) -> bool:
        """OPEN by its own decision (an operator's forced open is no pressure)."""
        return self.breaker_state == "OPEN" and self.breaker_forced != "open"

    @property
    def under_pressure(self) -> bool:
        return self.breaker_tripped or self.pool_status == "fail"

    def pressure_name(self) -> str:
        return "breaker OPEN" if self.breaker_tripped else "pool critically saturated"


def situation_of(checks: Mapping[str, CheckResult], thresholds: Mapping[str, Any],
                 policy: Mapping[str, Any] | None, pressure_seconds: float = 0.0) -> Situation:
    breaker = checks.get("breaker")
    pool = checks.get("pool")
    database = checks.get("database")
    auto_after = thresholds.get("auto_recover_after_seconds")
    return Situation(
        breaker_state=breaker.details.get("state") if breaker is not None else None,
        breaker_forced=breaker.details.get("forced") if breaker is not None else None,
        pool_status=pool.status if pool is not None else None,
        database_failed=database is not None and database.status == "fail",
        policy_state=(policy or {}).get("state"),
        pressure_seconds=pressure_seconds,
        auto_recover_after_seconds=float(auto_after) if auto_after is not None else None,
    )


def recommend(situation: Situation) -> Recommendation:
    """Apply the rules of the module docstring, first match wins."""
    s = situation
    sustained = (s.under_pressure and s.auto_recover_after_seconds is not None
                 and s.pressure_seconds >= s.auto_recover_after_seconds)
    if sustained:
        lasted = (f"{s.pressure_name()} for {s.pressure_seconds:.0f}s "
                  f"(auto_recover_after_seconds {s.auto_recover_after_seconds:g})")
        if s.policy_state == "allowed":
            return Recommendation("recover", f"{lasted} and the restart policy allows it: "
                                             "restart the workers")
        return Recommendation("throttle", f"{lasted}, but restarts are {s.policy_state or 'not'}"
                                          " allowed: shed load and wait")
    if s.policy_state == "blocked":
        return Recommendation("throttle", "restart churn exceeded: restarts are not helping; "
                                          "reduce load and investigate")
    if s.breaker_state in ("OPEN", "HALF_OPEN"):
        return Recommendation("throttle", f"circuit breaker {s.breaker_state}: clients should "
                                          "back off for the Retry-After they are given")
    if s.pool_status in ("warn", "fail"):
        return Recommendation("throttle", "connection pool saturation at or above "
                                          "pool_saturation_warning: shed load")
    if s.database_failed:
        return Recommendation("throttle", "database unreachable: a restart cannot fix it; "
                                          "serve degraded and let clients back off")
    return Recommendation("observe", "no pressure on the database, pool or restarts")


class PressureClock:
    """How long the rules' pressure (breaker OPEN or critical saturation) has lasted."""

    def __init__(self) -> None:
        self._since: float | None = None
        self._lock = threading.Lock()

    def observe(self, under_pressure: bool, now: float) -> float:
        """Record one evaluation at monotonic ``now``; the seconds the pressure has lasted."""
        with self._lock:
            if not under_pressure:
                self._since = None
                return 0.0
            if self._since is None:
                self._since = now
            return now - self._since
