"""The watchdog's rule, on an injected clock and a real store: no sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.heartbeat import Heartbeater, WorkerReading
from dashboard.plugins.recovery.restarts import RestartRequest, Restarts
from dashboard.plugins.recovery.schema import EPOCH
from dashboard.plugins.recovery.store import RestartStore
from dashboard.plugins.recovery.watchdog import Watchdog
from tests.dashboard.plugins.recovery.parts import restart_parts

AUTO_AFTER = 30


@dataclass
class Rig:
    clock: ManualClock
    store: RestartStore
    restarts: Restarts
    audit: AuditLog
    watchdog: Watchdog
    reloads: list[int] = field(default_factory=list)
    action: str = "observe"

    def worker(self, pid: int) -> Heartbeater:
        return Heartbeater(self.store, self.clock, "h:1", pid, 1.0,
                           lambda: WorkerReading("OPEN", self.action))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    parts = restart_parts(tmp_path, churn_threshold=2, cooldown_seconds=10)
    clock, store, audit, restarts = parts.clock, parts.store, parts.audit, parts.restarts
    reloads: list[int] = []
    watchdog = Watchdog(restarts, lambda: store.workers("h:1", EPOCH), clock, AUTO_AFTER, 1.0,
                        lambda: reloads.append(1))
    yield Rig(clock, store, restarts, audit, watchdog, reloads)
    store.close()


def test_restarts_once_after_recover_lasted_long_enough(rig: Rig) -> None:
    worker = rig.worker(7)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(AUTO_AFTER - 1)
    worker.beat()
    assert rig.watchdog.check() is None and rig.reloads == []
    rig.clock.advance(1)
    worker.beat()
    outcome = rig.watchdog.check()
    assert outcome is not None and outcome.decision == "executed"
    assert rig.reloads == [1]
    entry = rig.store.history()[0]
    assert (entry.source, entry.actor) == ("auto", "watchdog")
    assert rig.audit.records()[-1]["event"] == "auto_restart"
    # The same episode is answered: the next look does nothing, even after the cooldown.
    rig.clock.advance(60)
    worker.beat()
    assert rig.watchdog.check() is None and rig.reloads == [1]


def test_an_interrupted_recommendation_starts_counting_again(rig: Rig) -> None:
    worker = rig.worker(7)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(20)
    rig.action = "throttle"
    worker.beat()
    rig.clock.advance(1)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(AUTO_AFTER - 1)
    worker.beat()
    assert rig.watchdog.check() is None
    rig.clock.advance(1)
    assert rig.watchdog.check() is not None


def test_never_restarts_while_blocked_or_cooling_down(rig: Rig) -> None:
    for _ in range(2):
        rig.restarts.request(RestartRequest(reason="earlier", override=True, acknowledge=True),
                             lambda: None)
    assert rig.restarts.verdict().state == "blocked"
    worker = rig.worker(8)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(AUTO_AFTER * 3)
    worker.beat()
    assert rig.watchdog.check() is None
    assert rig.reloads == []
    assert [r.source for r in rig.store.history()] == ["manual", "manual"]


def test_waits_for_the_cooldown_then_restarts(rig: Rig) -> None:
    rig.restarts.request(RestartRequest(reason="earlier"), lambda: None)
    worker = rig.worker(9)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(5)
    rig.watchdog.after = rig.watchdog.after * 0  # recover long enough at once
    worker.beat()
    assert rig.restarts.verdict().state == "cooling_down"
    assert rig.watchdog.check() is None
    rig.clock.advance(5)
    assert rig.watchdog.check() is not None and rig.reloads == [1]


def test_an_invalid_config_on_disk_holds_the_automatic_restart_back(rig: Rig) -> None:
    """The watchdog asks the same question as the admin API before it reloads."""
    rig.restarts.config_problems = lambda: ["database.pool_size: must be >= 1 (from toml)"]
    worker = rig.worker(7)
    rig.action = "recover"
    worker.beat()
    rig.clock.advance(AUTO_AFTER)
    worker.beat()
    outcome = rig.watchdog.check()
    assert outcome is not None
    assert (outcome.decision, outcome.error_code) == ("refused", "CONFIG_INVALID")
    assert rig.reloads == []
    assert "database.pool_size" in (outcome.message or "")
    entry = rig.store.history()[0]
    assert (entry.source, entry.decision) == ("auto", "refused")
    assert rig.store.executed_since(EPOCH) == []  # refused: not a restart, no churn
