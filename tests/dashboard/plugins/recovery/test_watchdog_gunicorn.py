"""The watchdog in a real gunicorn master, driven by a real outage.

The database URL points at a closed port: requests fail, each worker's breaker opens and stays
open, the health plugin votes ``recover`` once that lasted ``auto_recover_after_seconds``, the
workers publish the vote with their heartbeats, and the master's watchdog restarts once the vote
lasted ``auto_recover_after_seconds`` too, if the policy allows.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

from tests.dashboard.plugins.recovery.support import (
    ENV,
    admin_get,
    audit_records,
    recovery_toml,
    restart,
    settled_workers,
    wait_for,
)
from tests.support.server import free_port, gunicorn_server

OUTAGE = f"""
[database]
url = "postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"
connect_timeout = 1
[plugins.breaker]
window_size = 4
minimum_calls = 2
open_seconds = 600
"""


def open_the_breakers(base_url: str) -> None:
    for _ in range(12):
        requests.get(base_url + "/api/reports/wip-by-workcenter",
                     headers={"Connection": "close"}, timeout=10)


def sources(base_url: str) -> list[str]:
    history = admin_get(base_url, "/admin/api/worker/status")["restart_history"]
    return [entry["source"] for entry in history]


def test_watchdog_restarts_once_after_a_sustained_recover(tmp_path: Path) -> None:
    toml = OUTAGE + recovery_toml(tmp_path, cooldown_seconds=1, auto_recover_after_seconds=1)
    with gunicorn_server(tmp_path, toml, env=ENV, workers=2, ready_path="/livez") as server:
        before = settled_workers(server.url, 2)
        open_the_breakers(server.url)
        wait_for(lambda: sources(server.url) == ["auto"], timeout=30)
        entry = admin_get(server.url, "/admin/api/worker/status")["restart_history"][0]
        assert entry["actor"] == "watchdog" and "recover" in entry["reason"]
        line = audit_records(tmp_path)[-1]
        assert (line["event"], line["decision"], line["restart_id"]) == (
            "auto_restart", "executed", entry["id"])
        settled_workers(server.url, 2, excluding=before)
        time.sleep(3)  # fresh workers, fresh breakers: no second restart
        assert sources(server.url) == ["auto"]


def test_watchdog_does_not_restart_while_the_policy_is_blocked(tmp_path: Path) -> None:
    toml = OUTAGE + recovery_toml(tmp_path, churn_threshold=1, cooldown_seconds=0,
                                  auto_recover_after_seconds=1)
    with gunicorn_server(tmp_path, toml, env=ENV, workers=2, ready_path="/livez") as server:
        first = settled_workers(server.url, 2)
        assert restart(server.url, reason="reach the churn threshold").status_code == 202
        settled_workers(server.url, 2, excluding=first)
        assert admin_get(server.url, "/admin/api/worker/status")["policy"]["state"] == "blocked"
        open_the_breakers(server.url)
        wait_for(lambda: any(w["breaker_state"] == "OPEN" for w in admin_get(
            server.url, "/admin/api/worker/status")["workers"]))
        time.sleep(4)  # well past twice auto_recover_after_seconds
        assert sources(server.url) == ["manual"]
        assert [line["event"] for line in audit_records(tmp_path)] == ["manual_restart"]
