"""Two gunicorn masters on different ports sharing one PostgreSQL ``store_url``: one history."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.dashboard.plugins.recovery.support import (
    ENV,
    admin_get,
    recovery_toml,
    restart,
    settled_workers,
    wait_for,
)
from tests.support.server import gunicorn_server


def history_ids(base_url: str) -> list[str]:
    return [entry["id"] for entry in
            admin_get(base_url, "/admin/api/worker/status")["restart_history"]]


def test_two_masters_sharing_a_postgresql_store_see_one_history(tmp_path: Path,
                                                               pg_url: str) -> None:
    toml_a = recovery_toml(tmp_path / "a", store_url=pg_url, cooldown_seconds=1)
    toml_b = recovery_toml(tmp_path / "b", store_url=pg_url, cooldown_seconds=1)
    with gunicorn_server(tmp_path / "a", toml_a, env=ENV, workers=2) as a, \
            gunicorn_server(tmp_path / "b", toml_b, env=ENV, workers=2) as b:
        assert a.port != b.port
        workers_a = settled_workers(a.url, 2)
        workers_b = settled_workers(b.url, 2)
        assert not workers_a & workers_b  # each master lists its own workers

        accepted = restart(a.url, reason="restart host a")
        assert accepted.status_code == 202, accepted.text
        restart_id = accepted.json()["data"]["restart_id"]
        # b shows the history as its background refresher last read it (about a second old)
        wait_for(lambda: history_ids(b.url) == [restart_id])

        os.kill(min(workers_b), signal.SIGKILL)
        wait_for(lambda: len(history_ids(a.url)) == 2)
        wait_for(lambda: history_ids(a.url) == history_ids(b.url))
        newest = admin_get(a.url, "/admin/api/worker/status")["restart_history"][0]
        assert newest["source"] == "crash" and str(min(workers_b)) in newest["reason"]
        def churn(url: str) -> dict:
            return admin_get(url, "/admin/api/worker/status")["restart_churn"]

        wait_for(lambda: churn(a.url) == churn(b.url) and churn(a.url)["count"] == 2)
        settled_workers(a.url, 2, excluding=workers_a)
        # the killed worker's row leaves b's listing within a refresh; wait for that, not a race
        after = settled_workers(b.url, 2, excluding={min(workers_b)})
        assert after & workers_b == workers_b - {min(workers_b)}
