"""The recovery plugin's parts wired together on a manual clock and a real SQLite store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dashboard.clock import ManualClock
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.policy import ChurnRule, CooldownRule, RestartPolicy
from dashboard.plugins.recovery.restarts import Restarts
from dashboard.plugins.recovery.store import RestartStore
from dashboard.plugins.recovery.storeengine import store_engine

HOST_KEY = "h:1"


@dataclass
class RestartParts:
    clock: ManualClock
    store: RestartStore
    audit: AuditLog
    restarts: Restarts


def restart_parts(tmp_path: Path, *, churn_threshold: int = 3, cooldown_seconds: float = 60
                  ) -> RestartParts:
    """A store with its schema, an audit log and the restart decisions, in ``tmp_path``."""
    clock = ManualClock()
    store = RestartStore(store_engine("", tmp_path))
    store.create_schema()
    audit = AuditLog(tmp_path / "audit.jsonl")
    policy = RestartPolicy(ChurnRule(600, churn_threshold), CooldownRule(cooldown_seconds))
    return RestartParts(clock, store, audit, Restarts(store, policy, audit, clock, HOST_KEY))
