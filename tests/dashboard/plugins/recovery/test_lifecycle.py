"""Master side: crashes are told apart from workers retired by a reload or a clean exit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.clock import ManualClock
from dashboard.plugins.recovery.audit import AuditLog
from dashboard.plugins.recovery.lifecycle import WorkerExits, describe_exit
from dashboard.plugins.recovery.schema import Heartbeat
from dashboard.plugins.recovery.store import RestartStore
from tests.dashboard.plugins.recovery.parts import HOST_KEY, restart_parts


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[WorkerExits, RestartStore, AuditLog, ManualClock]]:
    rig = restart_parts(tmp_path)
    yield WorkerExits(rig.restarts, rig.store, HOST_KEY), rig.store, rig.audit, rig.clock
    rig.store.close()


def beat(store: RestartStore, clock: ManualClock, pid: int) -> None:
    store.beat(Heartbeat("h:1", pid, clock.now(), clock.now(), "CLOSED", "observe", None))


def test_a_killed_worker_is_a_crash_restart(parts) -> None:  # type: ignore[no-untyped-def]
    exits, store, audit, clock = parts
    beat(store, clock, 11)
    restart_id = exits.exited(11, None)
    assert restart_id is not None
    entry = store.history()[0]
    assert (entry.source, entry.decision, entry.actor) == ("crash", "executed", "gunicorn-master")
    assert "11" in entry.reason
    line = audit.records()[-1]
    assert (line["event"], line["restart_id"], line["decision"]) == ("crash_restart", restart_id,
                                                                     "executed")
    assert store.workers("h:1", alive_since=clock.now()) == []


def test_clean_exits_retired_workers_and_shutdown_are_not_crashes(parts) -> None:  # type: ignore[no-untyped-def]
    exits, store, audit, clock = parts
    beat(store, clock, 21)
    beat(store, clock, 22)
    assert exits.exited(20, 0) is None
    exits.reloading()
    assert exits.exited(21, None) is None  # killed after graceful_timeout during a reload
    exits.shutting_down()
    assert exits.exited(22, 1) is None
    assert store.history() == [] and audit.records() == []


def test_crashes_count_towards_churn(parts) -> None:  # type: ignore[no-untyped-def]
    exits, _store, _audit, clock = parts
    for pid in (1, 2, 3):
        exits.exited(pid, 1)
        clock.advance(1)
    assert exits.restarts.verdict().state == "blocked"


@pytest.mark.parametrize(("code", "words"), [(None, "signal"), (-9, "SIGKILL"), (3, "code 3")])
def test_exit_descriptions(code: int | None, words: str) -> None:
    assert words in describe_exit(code)


def test_server_hooks_never_raise_into_gunicorn_when_the_store_is_down(
        dashboard_host, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from tests.support.server import free_port

    gone = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone?connect_timeout=1"
    host = dashboard_host(f'[plugins.recovery]\nstore_url = "{gone}"\n'
                          f'audit_log = "{tmp_path / "audit.jsonl"}"\n')
    host.hook.dashboard_reloaded(host=host)
    host.hook.dashboard_worker_exited(host=host, pid=4242, exitcode=None)
    host.hook.dashboard_master_exiting(host=host)
    assert "serving continues" in caplog.text
