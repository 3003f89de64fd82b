"""What the health plugin keeps per host: memo, probe, background probe, readiness, pressure.

The plugin module is shared by every host in a process (tests build many), so its state lives on
the host under :data:`HEALTH` (``host.state``), never in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dashboard import StateKey
from dashboard.plugins.health.background import BackgroundProbe
from dashboard.plugins.health.engines import EngineProbes
from dashboard.plugins.health.memo import SingleFlightMemo
from dashboard.plugins.health.readiness import Readiness
from dashboard.plugins.health.rules import PressureClock
from dashboard.plugins.health.settings import HealthSettings

if TYPE_CHECKING:
    from dashboard import Host

SECTION = "health"


@dataclass
class HealthState:
    settings: HealthSettings
    memo: SingleFlightMemo[dict[str, Any]]
    probe: EngineProbes  # one bounded probe per engine of the app
    background: BackgroundProbe
    readiness: Readiness = field(default_factory=Readiness)
    pressure: PressureClock = field(default_factory=PressureClock)

    def close(self) -> None:
        """Stop the background probe and release the probes' pools (host close)."""
        self.background.close()
        self.probe.dispose()


HEALTH = StateKey[HealthState]("health")


def state_of(host: Host) -> HealthState:
    """This host's health state, created on first use."""

    def create() -> HealthState:
        settings = host.plugin_settings(SECTION, HealthSettings)
        ttl = 0.0 if host.testing else float(settings.memo_ttl_seconds)
        probe = EngineProbes(host, settings.deep_timeout_ms)
        period = 0.0 if host.testing else float(settings.refresh_seconds)
        return HealthState(
            settings=settings,
            memo=SingleFlightMemo(host.clock, ttl),
            probe=probe,
            background=BackgroundProbe(probe.check, host.clock, period),
        )

    return host.state(HEALTH, create)
