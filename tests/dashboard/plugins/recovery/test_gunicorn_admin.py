"""The admin API and crash accounting against a real gunicorn master with two workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import requests

from tests.dashboard.plugins.recovery.support import (
    AUTH,
    ENV,
    TOKEN,
    admin_get,
    audit_records,
    recovery_toml,
    restart,
    settled_workers,
    wait_for,
)
from tests.support.server import gunicorn_server


def status_from_each_worker(base_url: str, workers: set[int]) -> dict[int, dict]:
    """Ask until every worker has answered once (new connections spread over the workers)."""
    answers: dict[int, dict] = {}

    def all_answered() -> bool:
        data = admin_get(base_url, "/admin/api/worker/status")
        answers[data["worker_pid"]] = data
        return set(answers) >= workers

    wait_for(all_answered, interval=0.01)
    return answers


def test_crash_cooldown_churn_and_override_on_a_real_master(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, recovery_toml(tmp_path), env=ENV, workers=2) as server:
        first = settled_workers(server.url, 2)

        # Every worker reports the same workers and history (each from its background read,
        # about a second old at most).
        def listings() -> list[tuple[set[int], list]]:
            answers = status_from_each_worker(server.url, first)
            return [({w["pid"] for w in a["workers"]}, a["restart_history"])
                    for a in answers.values()]

        wait_for(lambda: (seen := listings())[0] == seen[1] == (first, []))

        # A worker killed with SIGKILL is a crash restart, in history and audit.
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        history = wait_for(lambda: admin_get(server.url, "/admin/api/worker/status")
                           ["restart_history"])
        crash = history[0]
        assert (crash["source"], crash["decision"]) == ("crash", "executed")
        assert str(victim) in crash["reason"]
        line = audit_records(tmp_path)[-1]
        assert (line["event"], line["restart_id"]) == ("crash_restart", crash["id"])
        second = settled_workers(server.url, 2, excluding={victim})
        assert second - first and victim not in second

        # The crash started a cooldown: 429 with Retry-After = cooldown remaining.
        cooling = restart(server.url, reason="too soon after the crash")
        assert cooling.status_code == 429, cooling.text
        assert cooling.json()["error"]["code"] == "RESTART_COOLDOWN"
        retry_after = int(cooling.headers["Retry-After"])
        assert retry_after == cooling.json()["meta"]["retry_after_seconds"]
        remaining = wait_for(lambda: admin_get(server.url, "/admin/api/worker/status")[
            "policy"]["cooldown_remaining_seconds"])  # once this worker's view has the crash
        assert 0 <= retry_after - remaining <= 2 and 50 <= retry_after <= 60
        assert audit_records(tmp_path)[-1]["decision"] == "refused"

        # Two acknowledged overrides reach the churn threshold (3 restarts): blocked.
        for number in (1, 2):
            forced = restart(server.url, reason=f"forced {number}", override=True,
                             acknowledge=True)
            assert forced.status_code == 202, forced.text
        status = wait_for(lambda: (s := admin_get(server.url, "/admin/api/worker/status"))
                          ["policy"]["state"] == "blocked" and s)
        assert status["restart_churn"] == {"window_seconds": 600, "threshold": 3, "count": 3,
                                           "exceeded": True}
        before_override = settled_workers(server.url, 2)

        blocked = restart(server.url, reason="blocked?")
        assert blocked.status_code == 409
        assert blocked.json()["error"]["code"] == "RESTART_POLICY_BLOCKED"
        refused_line = audit_records(tmp_path)[-1]
        assert (refused_line["decision"], refused_line["policy_state"]) == ("refused", "blocked")

        override = restart(server.url, reason="operator override", override=True,
                           acknowledge=True)
        assert override.status_code == 202
        line = audit_records(tmp_path)[-1]
        assert (line["reason"], line["override"], line["acknowledge"], line["decision"]) == (
            "operator override", True, True, "executed")
        assert line["restart_id"] == override.json()["data"]["restart_id"]
        assert line["remote_addr"] == "127.0.0.1"
        settled_workers(server.url, 2, excluding=before_override)  # the reload happened

        # Restarts are counted across processes (the master counts crashes, workers the rest).
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert 'dashboard_worker_restarts_total{source="crash"} 1.0' in metrics
        assert 'dashboard_worker_restarts_total{source="manual"} 3.0' in metrics

        # The health payload of any worker agrees.
        health = requests.get(server.url + "/health", timeout=10).json()
        assert health["resilience"]["policy"]["state"] == "blocked"

        # Authentication on the real server, and no token anywhere in logs or audit.
        assert requests.get(server.url + "/admin/api/worker/status", timeout=10).status_code == 401
        wrong = {"Authorization": "Bearer " + TOKEN[::-1]}
        assert requests.post(server.url + "/admin/api/worker/restart", headers=wrong,
                             json={"reason": "x"}, timeout=10).status_code == 401
        assert requests.post(server.url + "/admin/api/worker/restart", headers=AUTH,
                             json={}, timeout=10).status_code == 400
    log = server.log_text()
    assert "Hang up" in log
    assert TOKEN not in log and TOKEN[::-1] not in log
    assert TOKEN not in (tmp_path / "audit.jsonl").read_text()


def test_admin_is_forbidden_without_a_token_on_a_real_master(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, recovery_toml(tmp_path), workers=2) as server:
        response = requests.post(server.url + "/admin/api/worker/restart", headers=AUTH,
                                 json={"reason": "x"}, timeout=10)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
