"""What the health plugin keeps per host: memo, probe, readiness, pressure clock.

The plugin module is shared by every host in a process (tests build many), so its state lives in
a weak mapping keyed by the host rather than in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from plugins.health.memo import SingleFlightMemo
from plugins.health.probe import DatabaseProbe
from plugins.health.readiness import Readiness
from plugins.health.rules import PressureClock
from plugins.health.settings import HealthSettings

if TYPE_CHECKING:
    from dashboard.host import Host

SECTION = "health"


@dataclass
class HealthState:
    settings: HealthSettings
    memo: SingleFlightMemo[dict[str, Any]]
    probe: DatabaseProbe
    readiness: Readiness = field(default_factory=Readiness)
    pressure: PressureClock = field(default_factory=PressureClock)
    pool_tracked: bool = False


def state_of(host: Host) -> HealthState:
    """This host's health state, created on first use."""

    def create() -> HealthState:
        settings = cast(HealthSettings, host.plugin_settings(SECTION))
        ttl = 0.0 if host.testing else float(settings.memo_ttl_seconds)
        return HealthState(
            settings=settings,
            memo=SingleFlightMemo(host.clock, ttl),
            probe=DatabaseProbe(host.settings.database, settings.deep_timeout_ms),
        )

    state = host.plugin_state(SECTION, create)
    assert state is not None
    return state
