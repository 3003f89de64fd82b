"""A restart with a broken config on disk reloads nothing and the service keeps serving.

Real gunicorn: the operator writes ``pool_size = 0`` over the running server's config and presses
restart (admin API), then sends ``SIGHUP`` by hand; both are refused, the master stays, the port
answers. With the config fixed, the restart is executed and its history row gets its completion.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.dashboard.plugins.recovery.support import (
    ENV,
    admin_get,
    audit_records,
    recovery_toml,
    restart,
    settled_workers,
    wait_for,
)
from tests.support.server import gunicorn_server


def test_broken_config_is_refused_by_the_api_and_by_sighup_then_a_fixed_one_reloads(
        tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, recovery_toml(tmp_path), env=ENV, workers=2) as server:
        first = settled_workers(server.url, 2)
        good = server.config_path.read_text()
        server.config_path.write_text(good.replace("[database]", "[database]\npool_size = 0", 1))

        refused = restart(server.url, reason="deploy with a typo")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["retryable"]) == ("CONFIG_INVALID", False)
        assert "database.pool_size" in error["message"] and "toml" in error["message"]
        assert "Retry-After" not in refused.headers
        audit = audit_records(tmp_path)[-1]
        assert (audit["decision"], audit["reason"]) == ("refused", "deploy with a typo")
        assert server.process.poll() is None
        assert server.get("/api/reports").status_code == 200

        log_before = len(server.log_text())
        os.kill(server.master_pid, signal.SIGHUP)
        wait_for(lambda: "reload refused" in server.log_text()[log_before:], timeout=30)
        hup_log = server.log_text()[log_before:]
        refused = [line for line in hup_log.splitlines()
                   if "reload refused, config invalid: database.pool_size" in line]
        assert refused and all("[ERROR]" in line for line in refused), hup_log
        assert server.process.poll() is None
        assert server.get("/api/reports").status_code == 200
        assert settled_workers(server.url, 2) == first  # nothing was reloaded

        server.config_path.write_text(good)
        executed = restart(server.url, reason="config fixed")
        assert executed.status_code == 202, executed.text
        restart_id = executed.json()["data"]["restart_id"]
        settled_workers(server.url, 2, excluding=first)

        def completed() -> dict | None:
            history = admin_get(server.url, "/admin/api/worker/status")["restart_history"]
            row = next(r for r in history if r["id"] == restart_id)
            return row if row["completed_at"] else None

        row = wait_for(completed, timeout=30)
        assert (row["decision"], row["reason"]) == ("executed", "config fixed")
        assert row["completed_at"] >= row["requested_at"]
        assert server.process.poll() is None
        log = server.log_text()
    assert "Traceback" not in log
