"""§9.4 on a manual clock: the background view, ``unknown`` after 3 x store_timeout_ms of
silence, ``RESTART_HISTORY_UNAVAILABLE``, the spool and its replay, the idle watchdog, and the
bound on a store whose network goes silent. The store is a real PostgreSQL database behind the
fault proxy (refused or hanging on the wire)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from dashboard.clock import ManualClock
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.contact import StoreContact
from dashboard.plugins.recovery.policy import ChurnRule, CooldownRule, RestartPolicy
from dashboard.plugins.recovery.refresher import HistoryRefresher, refresh_interval
from dashboard.plugins.recovery.restarts import RestartRequest, Restarts
from dashboard.plugins.recovery.schema import EPOCH, RestartRecord
from dashboard.plugins.recovery.spool import RestartSpool
from dashboard.plugins.recovery.store import RestartStore
from dashboard.plugins.recovery.storeengine import store_engine
from dashboard.plugins.recovery.watchdog import Watchdog
from tests.support.faultproxy import FaultProxy

TIMEOUT_MS = 1000
HOST_KEY = "h:1"


@dataclass
class Rig:
    clock: ManualClock
    proxy: FaultProxy
    store: RestartStore
    contact: StoreContact
    spool: RestartSpool
    refresher: HistoryRefresher
    restarts: Restarts
    audit: AuditLog
    reloads: list[int] = field(default_factory=list)

    def reload(self) -> None:
        self.reloads.append(1)


@pytest.fixture
def rig(tmp_path: Path, pg_url: str) -> Iterator[Rig]:
    clock = ManualClock()
    with FaultProxy() as proxy:
        store = RestartStore(store_engine(proxy.url_for(pg_url), tmp_path, TIMEOUT_MS))
        contact = StoreContact(clock, TIMEOUT_MS / 1000)
        spool = RestartSpool(tmp_path)
        policy = RestartPolicy(ChurnRule(600, 3), CooldownRule(60))
        refresher = HistoryRefresher(store, policy, spool, contact, clock, HOST_KEY,
                                     timedelta(seconds=15))
        audit = AuditLog(tmp_path / "audit.jsonl")
        restarts = Restarts(store, policy, audit, clock, HOST_KEY, contact=contact, spool=spool,
                            last_known=refresher.verdict, on_spooled=refresher.note_spooled)
        yield Rig(clock, proxy, store, contact, spool, refresher, restarts, audit)
        store.close()


def test_the_view_ages_and_turns_unknown_only_after_three_timeouts_of_failed_silence(
        rig: Rig) -> None:
    assert rig.refresher.verdict().state == "unknown", "nothing read yet"
    assert rig.refresher.refresh() is True
    rig.clock.advance(0.5)
    verdict = rig.refresher.verdict()
    assert (verdict.state, verdict.payload()["age_seconds"]) == ("allowed", 0.5)

    rig.proxy.refuse()
    assert rig.refresher.refresh() is False
    rig.clock.advance(2.4)  # 2.9 s of silence: still what was last read
    assert rig.refresher.refresh() is False
    assert rig.refresher.verdict().state == "allowed"
    rig.clock.advance(0.1)  # 3 x store_timeout_ms
    verdict = rig.refresher.verdict()
    assert verdict.state == "unknown" and verdict.payload()["age_seconds"] == 3.0
    assert "has not answered for 3s" in verdict.next_action
    assert "watchdog is idle" in verdict.next_action

    rig.proxy.pass_through()
    assert rig.refresher.refresh() is True
    assert rig.refresher.verdict().state == "allowed"


def test_silence_without_a_failed_attempt_is_not_unknown(rig: Rig) -> None:
    assert rig.refresher.refresh() is True
    rig.clock.advance(60)  # nobody asked the store meanwhile: that proves nothing
    assert rig.refresher.verdict().state == "allowed"


def test_a_plain_restart_is_refused_and_an_override_is_spooled_then_replayed(
        rig: Rig) -> None:
    assert rig.refresher.refresh() is True
    rig.proxy.refuse()
    rig.clock.advance(3)
    assert rig.refresher.refresh() is False and rig.contact.unknown

    plain = rig.restarts.request(RestartRequest("plain"), rig.reload)
    assert (plain.decision, plain.error_code) == ("refused", "RESTART_HISTORY_UNAVAILABLE")
    assert rig.reloads == []
    forced = rig.restarts.request(RestartRequest("forced", override=True, acknowledge=True),
                                  rig.reload)
    assert (forced.decision, forced.error_code) == ("executed", None)
    assert forced.policy_before.state == "unknown" and rig.reloads == [1]
    assert [r.id for r in rig.spool.pending()] == [forced.restart_id]
    assert [(a["decision"], a["policy_state"]) for a in rig.audit.records()] == [
        ("refused", "unknown"), ("executed", "unknown")]
    churn = rig.refresher.verdict().churn
    assert churn.count == 1, "a spooled restart counts toward the churn shown meanwhile"

    rig.proxy.pass_through()
    rig.clock.advance(1)
    assert rig.refresher.refresh() is True
    assert rig.spool.pending() == []
    view = rig.refresher.view()
    assert view is not None and [r.id for r in view.history] == [forced.restart_id]
    replayed = view.history[0]
    assert (replayed.decision, replayed.override, replayed.reason) == ("executed", True, "forced")
    verdict = rig.refresher.verdict()
    assert (verdict.state, verdict.churn.count) == ("cooling_down", 1)


def test_a_store_error_during_the_decision_is_treated_as_unreachable(rig: Rig) -> None:
    assert rig.refresher.refresh() is True
    rig.proxy.refuse()  # not yet unknown: the decision tries the store, which fails
    outcome = rig.restarts.request(RestartRequest("now"), rig.reload)
    assert outcome.error_code == "RESTART_HISTORY_UNAVAILABLE"
    assert outcome.policy_before.state == "unknown"


def test_replaying_the_same_spool_twice_inserts_each_restart_once(rig: Rig) -> None:
    now = rig.clock.now()
    records = [RestartRecord(f"r{n}", HOST_KEY, now, None, "manual", "admin", f"reason {n}",
                             "executed", True) for n in range(2)]
    for record in records:
        rig.spool.append(record)
    rig.store.create_schema()
    assert rig.store.add_missing(rig.spool.pending()) == 2  # another worker got there first
    assert rig.spool.replay(rig.store.add_missing) == 2
    assert rig.store.add_missing(records) == 0
    assert sorted(r.id for r in rig.store.history()) == ["r0", "r1"]
    assert rig.spool.pending() == []


def test_a_failed_replay_keeps_the_spool(rig: Rig) -> None:
    record = RestartRecord("kept", HOST_KEY, rig.clock.now(), None, "manual", "admin", "x",
                           "executed", True)
    rig.spool.append(record)
    rig.proxy.refuse()
    with pytest.raises(OperationalError):
        rig.spool.replay(rig.store.add_missing)
    assert [r.id for r in rig.spool.pending()] == ["kept"]


def test_the_watchdog_does_nothing_while_the_policy_is_unknown(rig: Rig) -> None:
    reads: list[int] = []

    def workers() -> list:
        reads.append(1)
        return rig.store.workers(HOST_KEY, EPOCH)

    watchdog = Watchdog(rig.restarts, workers, rig.clock, 30, 1.0, rig.reload, rig.contact)
    rig.store.create_schema()
    rig.proxy.refuse()
    with pytest.raises(OperationalError):
        watchdog.check()  # a failed read (the loop logs it)
    rig.clock.advance(3)
    assert rig.contact.unknown
    assert watchdog.check() is None and rig.reloads == [], "idle, and never raises"
    assert len(reads) == 2, "it keeps asking the store, so its first answer ends the idleness"
    rig.proxy.pass_through()
    assert watchdog.check() is None and not rig.contact.unknown


def test_a_silent_network_cannot_hold_a_store_operation_past_its_bound(rig: Rig) -> None:
    rig.store.create_schema()
    rig.store.history()  # a pooled connection now exists
    rig.proxy.hang()  # it stops forwarding both ways; the server's own timeout cannot reach us
    started = time.monotonic()
    with pytest.raises(OperationalError):
        rig.store.history()
    elapsed = time.monotonic() - started
    assert TIMEOUT_MS / 1000 - 0.05 <= elapsed < TIMEOUT_MS / 1000 + 1.5


def test_refresh_is_frequent_enough_for_a_healthy_store_never_to_look_silent() -> None:
    assert refresh_interval(2.0) == 1.0
    assert refresh_interval(0.2) == 0.2
