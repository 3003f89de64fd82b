"""The restart store on SQLite (file, WAL) and on a real PostgreSQL database."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.clock import SystemClock
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.policy import ChurnRule, CooldownRule, RestartPolicy
from dashboard.plugins.recovery.restarts import RestartRequest, Restarts
from dashboard.plugins.recovery.schema import EPOCH, Heartbeat, RestartRecord
from dashboard.plugins.recovery.store import RestartStore
from dashboard.plugins.recovery.storeengine import store_engine

T0 = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str, tmp_path: Path) -> Iterator[RestartStore]:
    store = RestartStore(store_engine(store_url, tmp_path / "run"), history_limit=5)
    store.create_schema()
    yield store
    store.close()
#: The many-process tests are about lock upgrades (WAL + BEGIN IMMEDIATE never fail at once with
#: "database is locked"), not about store_timeout_ms: six processes hammering on a loaded 2-core
#: machine can wait longer than the 2 s default for their turn, so they get a wider bound.
HAMMER_TIMEOUT_MS = 10_000


def record(number: int, *, decision: str = "executed", at: datetime = T0) -> RestartRecord:
    return RestartRecord(id=f"r{number}", host_key="h:1", requested_at=at, completed_at=None,
                         source="manual", actor="admin", reason=f"reason {number}",
                         decision=decision, override=False)


def test_default_store_is_a_wal_sqlite_file_in_runtime_dir(tmp_path: Path) -> None:
    engine = store_engine("", tmp_path / "run")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "run" / "recovery.sqlite3").exists()
    engine.dispose()


def test_history_is_newest_first_bounded_and_utc_aware(store: RestartStore) -> None:
    with store.exclusive() as connection:
        for number in range(8):
            store.add_restart(connection, record(number, at=T0 + timedelta(seconds=number)))
    history = store.history(limit=50)
    assert [r.id for r in history] == ["r7", "r6", "r5", "r4", "r3"]
    assert all(r.requested_at.tzinfo is not None for r in history)
    assert history[0].requested_at == T0 + timedelta(seconds=7)


def test_only_executed_restarts_count(store: RestartStore) -> None:
    with store.exclusive() as connection:
        store.add_restart(connection, record(1))
        store.add_restart(connection, record(2, decision="refused",
                                                at=T0 + timedelta(seconds=5)))
    assert store.executed_since(T0 - timedelta(seconds=1)) == [T0]
    assert store.last_restart() is not None and store.last_restart().id == "r1"  # type: ignore[union-attr]


def test_complete_pending_marks_executed_restarts_of_that_host(store: RestartStore) -> None:
    with store.exclusive() as connection:
        store.add_restart(connection, record(1))
    later = T0 + timedelta(seconds=3)
    store.complete_pending("other:2", later)
    assert store.history()[0].completed_at is None
    store.complete_pending("h:1", later)
    assert store.history()[0].completed_at == later


def test_heartbeats_upsert_forget_and_age_out(store: RestartStore) -> None:
    beat = Heartbeat("h:1", 101, T0, T0, "CLOSED", "observe", None)
    store.beat(beat)
    store.beat(Heartbeat("h:1", 101, T0, T0 + timedelta(seconds=2), "OPEN", "recover",
                         T0 + timedelta(seconds=2)))
    store.beat(Heartbeat("h:1", 102, T0, T0, None, None, None))
    store.beat(Heartbeat("other:9", 103, T0, T0, None, None, None))
    workers = store.workers("h:1", alive_since=EPOCH)
    assert [(w.pid, w.breaker_state) for w in workers] == [(101, "OPEN"), (102, None)]
    assert store.workers("h:1", alive_since=T0 + timedelta(seconds=1))[0].pid == 101
    forgotten = store.forget_worker("h:1", 101)
    assert forgotten is not None and forgotten.recommendation == "recover"
    assert [w.pid for w in store.workers("h:1", alive_since=EPOCH)] == [102]
    assert store.purge_heartbeats(before=T0 + timedelta(seconds=1)) == 2  # 102 and 103
    assert store.workers("other:9", alive_since=EPOCH) == []


def _race_for_a_restart(store_url: str, runtime_dir: str, audit_path: str,
                        start: multiprocessing.synchronize.Event, results: multiprocessing.Queue
                        ) -> None:
    store = RestartStore(store_engine(store_url, Path(runtime_dir), HAMMER_TIMEOUT_MS))
    restarts = Restarts(store, RestartPolicy(ChurnRule(600, 10), CooldownRule(60)),
                        AuditLog(Path(audit_path)), SystemClock(), "h:1")
    start.wait()
    outcome = restarts.request(RestartRequest(reason="race"), lambda: None)
    results.put(outcome.decision)
    store.close()


def test_concurrent_requests_from_many_processes_execute_exactly_once(
        store: RestartStore, store_url: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    audit_path = tmp_path / "audit.jsonl"
    processes = [context.Process(target=_race_for_a_restart,
                                 args=(store_url, str(tmp_path / "run"), str(audit_path), start,
                                       results)) for _ in range(6)]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(30)
    decisions = sorted(results.get(timeout=5) for _ in processes)
    assert decisions == ["executed"] + ["refused"] * 5
    assert len(AuditLog(audit_path).records()) == 6


def _hammer(store_url: str, runtime_dir: str, worker: int, failures: multiprocessing.Queue
            ) -> None:
    store = RestartStore(store_engine(store_url, Path(runtime_dir), HAMMER_TIMEOUT_MS))
    try:
        for round_ in range(40):
            now = T0 + timedelta(seconds=round_)
            store.beat(Heartbeat("h:1", worker, T0, now, "CLOSED", "observe", None))
            store.workers("h:1", EPOCH)
            store.forget_worker("h:1", worker + 100)  # read-then-write, like the master
            store.complete_pending("h:1", now)
    except Exception as error:
        failures.put(f"{type(error).__name__}: {error}"[:200])
    finally:
        store.close()


def test_many_processes_writing_at_once_never_see_a_locked_database(
        store: RestartStore, store_url: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    processes = [context.Process(target=_hammer, args=(store_url, str(tmp_path / "run"), worker,
                                                       failures)) for worker in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    problems = []
    while not failures.empty():
        problems.append(failures.get())
    assert problems == []
    assert len(store.workers("h:1", EPOCH)) == 6
