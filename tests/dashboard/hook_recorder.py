"""A plugin that writes one JSON line per lifecycle hook call to ``<runtime_dir>/hook-calls.jsonl``.

Server processes cannot hand objects back to a test, so the recorder leaves a trail the test
reads: which hook, in which process, with which arguments. Appends of one short line are atomic,
so the master and the workers can share the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dashboard import hookimpl

RECORD_FILE = "hook-calls.jsonl"


def _record(host: Any, hook: str, **arguments: Any) -> None:
    path = Path(host.runtime_dir) / RECORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"hook": hook, "process": os.getpid(), **arguments}) + "\n")


def read_records(runtime_dir: Path) -> list[dict[str, Any]]:
    path = runtime_dir / RECORD_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@hookimpl
def dashboard_master_ready(host: Any, master_pid: int) -> None:
    _record(host, "dashboard_master_ready", master_pid=master_pid)


@hookimpl
def dashboard_master_exiting(host: Any) -> None:
    _record(host, "dashboard_master_exiting")


@hookimpl
def dashboard_worker_started(host: Any, pid: int) -> None:
    _record(host, "dashboard_worker_started", pid=pid)


@hookimpl
def dashboard_worker_exited(host: Any, pid: int, exitcode: int | None) -> None:
    _record(host, "dashboard_worker_exited", pid=pid, exitcode=exitcode)


@hookimpl
def dashboard_reloaded(host: Any) -> None:
    _record(host, "dashboard_reloaded")


@hookimpl
def dashboard_logging_configured(host: Any) -> None:
    _record(host, "dashboard_logging_configured")
