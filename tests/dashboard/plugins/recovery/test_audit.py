"""The audit log: whole JSON lines from several processes writing at once, no secrets."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from dashboard.plugins.recovery.audit import AuditLog, AuditRecord

FIELDS = ["timestamp", "event", "actor", "remote_addr", "reason", "override", "acknowledge",
          "policy_state", "decision", "restart_id"]


def make_record(number: int, reason: str = "r") -> AuditRecord:
    return AuditRecord(timestamp=datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC),
                       event="manual_restart", actor="admin", remote_addr="127.0.0.1",
                       reason=f"{reason} {number}", override=False, acknowledge=False,
                       policy_state="allowed", decision="executed", restart_id=f"id{number}")


def test_one_line_with_the_contract_fields_in_order(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "nested" / "audit.jsonl")
    log.append(make_record(1))
    text = (tmp_path / "nested" / "audit.jsonl").read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    assert list(json.loads(text)) == FIELDS
    assert json.loads(text)["timestamp"] == "2026-11-28T10:00:00.123Z"


def _append_many(path: str, worker: int, count: int) -> None:
    log = AuditLog(Path(path))
    for number in range(count):
        # long reasons: a line far bigger than PIPE_BUF must still land whole
        log.append(make_record(worker * 1000 + number, reason="x" * 6000))


def test_concurrent_appends_from_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_append_many, args=(str(path), worker, 50))
                 for worker in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    lines = path.read_text().splitlines()
    assert len(lines) == 200
    ids = {json.loads(line)["restart_id"] for line in lines}
    assert len(ids) == 200
