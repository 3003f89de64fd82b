"""Restart under load: a real gunicorn master, two workers, clients sending throughout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import requests

from tests.dashboard.plugins.recovery.support import (
    ENV,
    admin_get,
    recovery_toml,
    restart,
    settled_workers,
)
from tests.support.server import gunicorn_server

CLIENTS = 4
SECONDS_BETWEEN = 2.5
RESTARTS = 2


def test_restart_under_load_drops_nothing_and_replaces_every_worker(tmp_path: Path) -> None:
    toml = recovery_toml(tmp_path, cooldown_seconds=0)
    with gunicorn_server(tmp_path, toml, env=ENV, workers=2) as server:
        before = settled_workers(server.url, 2)
        master_before = admin_get(server.url, "/admin/api/worker/status")["master_pid"]
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        answered_by: set[int] = set()
        stop = threading.Event()
        lock = threading.Lock()

        def client() -> None:
            while not stop.is_set():
                try:  # a new connection per request: what a browser fleet looks like
                    response = requests.get(server.url + "/api/reports", timeout=15,
                                            headers={"Connection": "close"})
                    health = requests.get(server.url + "/health", timeout=15,
                                          headers={"Connection": "close"})
                except requests.RequestException as error:
                    with lock:
                        errors.append(type(error).__name__)
                    continue
                with lock:
                    statuses[response.status_code] += 1
                    statuses[health.status_code] += 1
                    answered_by.add(health.json()["worker_pid"])

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        accepted = []
        for number in range(RESTARTS):
            time.sleep(SECONDS_BETWEEN)
            accepted.append(restart(server.url, reason=f"restart under load {number}"))
        time.sleep(SECONDS_BETWEEN)
        stop.set()
        for thread in threads:
            thread.join(30)

        assert [r.status_code for r in accepted] == [202] * RESTARTS, accepted[-1].text
        assert errors == []
        assert set(statuses) == {200}, statuses
        assert sum(statuses.values()) > 50
        after = settled_workers(server.url, 2, excluding=before)
        assert not after & before
        assert answered_by & after, "new workers answered during the test"
        status = admin_get(server.url, "/admin/api/worker/status")
        assert status["master_pid"] == master_before == server.master_pid
        assert [entry["id"] for entry in status["restart_history"]] == [
            r.json()["data"]["restart_id"] for r in reversed(accepted)]
        assert all(entry["decision"] == "executed" and entry["completed_at"]
                   for entry in status["restart_history"])
        print(f"requests across {RESTARTS} restarts: {sum(statuses.values())}, "
              f"errors: {len(errors)}, non-2xx: {sum(statuses.values()) - statuses[200]}")
