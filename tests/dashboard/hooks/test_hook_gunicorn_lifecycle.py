"""The gunicorn lifecycle reaches plugins: ``dashboard_master_ready``, ``dashboard_worker_started``,
``dashboard_logging_configured``, ``dashboard_reloaded``, ``dashboard_worker_exited`` and
``dashboard_master_exiting``, each in the process its hookspec names, through a real server.

The recording plugin (:mod:`tests.dashboard.hook_recorder`) is installed the way any plugin is:
a ``*.dist-info`` with an entry point in ``dashboard.plugins``, on the server's ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.dashboard.hook_recorder import read_records
from tests.support.server import REPO_ROOT, gunicorn_server

TOML = """
[dashboard]
plugins = ["recorder"]
"""


def install_recorder(site: Path) -> None:
    dist_info = site / "dashboard_hook_recorder-0.0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: dashboard-hook-recorder\nVersion: 0.0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[dashboard.plugins]\nrecorder = tests.dashboard.hook_recorder\n")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def calls(runtime_dir: Path, hook: str) -> list[dict[str, Any]]:
    return [record for record in read_records(runtime_dir) if record["hook"] == hook]


def test_lifecycle_hooks_fire_in_the_right_processes(tmp_path: Path):
    install_recorder(tmp_path / "site")
    runtime = tmp_path / "run"
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(REPO_ROOT)])}
    with gunicorn_server(tmp_path, TOML, env=env, workers=2) as server:
        master = server.master_pid
        first = wait_for(lambda: len(calls(runtime, "dashboard_worker_started")) >= 2 and calls(
            runtime, "dashboard_worker_started"), "two workers")
        [ready] = calls(runtime, "dashboard_master_ready")
        assert ready == {"hook": "dashboard_master_ready", "process": master, "master_pid": master}
        old_workers = {call["pid"] for call in first}
        assert len(old_workers) == 2 and master not in old_workers
        assert all(call["pid"] == call["process"] for call in first)
        logging_in = {call["process"] for call in calls(runtime, "dashboard_logging_configured")}
        assert {master, *old_workers} <= logging_in

        os.kill(master, signal.SIGHUP)  # graceful reload: new workers, old ones stop cleanly
        wait_for(lambda: calls(runtime, "dashboard_reloaded"), "the reload")
        assert {call["process"] for call in calls(runtime, "dashboard_reloaded")} == {master}
        exited = wait_for(lambda: (lambda found: found if old_workers <= set(found) else None)(
            {call["pid"]: call for call in calls(runtime, "dashboard_worker_exited")}),
            "the old workers to exit")
        assert all(exited[pid]["exitcode"] == 0 and exited[pid]["process"] == master
                   for pid in old_workers)

        new_workers = wait_for(lambda: {call["pid"] for call in calls(
            runtime, "dashboard_worker_started")} - old_workers, "new workers")
        victim = sorted(new_workers)[0]
        os.kill(victim, signal.SIGKILL)  # a crash: gunicorn reports no clean exit
        [crash] = wait_for(lambda: [call for call in calls(runtime, "dashboard_worker_exited")
                                    if call["pid"] == victim], "the crashed worker")
        assert crash["exitcode"] is None and crash["process"] == master
        assert server.get("/api/reports").status_code == 200

    [exiting] = calls(runtime, "dashboard_master_exiting")
    assert exiting["process"] == master
