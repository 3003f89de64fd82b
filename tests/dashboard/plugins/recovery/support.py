"""Helpers for the recovery tests that run a real gunicorn master with its workers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

TOKEN = "adm-7c1e9b-never-log-me"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ENV = {"DASHBOARD_ADMIN_TOKEN": TOKEN}


def recovery_toml(tmp_path: Path, *, extra: str = "", **recovery: Any) -> str:
    """Short graceful timeout and fast heartbeats, so reloads and listings settle quickly."""
    settings = {"cooldown_seconds": 60, "churn_window_seconds": 600, "churn_threshold": 3,
                "watchdog_interval_seconds": 0.5, "audit_log": str(tmp_path / "audit.jsonl"),
                **recovery}
    lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    return f"[server]\ngraceful_timeout = 5\n{extra}\n[plugins.recovery]\n{lines}\n"


def admin_get(base_url: str, path: str) -> dict[str, Any]:
    response = requests.get(base_url + path, headers={**AUTH, "Connection": "close"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def restart(base_url: str, **body: Any) -> requests.Response:
    return requests.post(base_url + "/admin/api/worker/restart", json=body,
                         headers={**AUTH, "Connection": "close"}, timeout=10)


def wait_for(condition: Callable[[], Any], timeout: float = 20, interval: float = 0.2) -> Any:
    """Poll until ``condition()`` is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")


def worker_pids(base_url: str) -> set[int]:
    return {worker["pid"] for worker in admin_get(base_url, "/admin/api/worker/status")["workers"]}


def settled_workers(base_url: str, count: int, excluding: set[int] = frozenset()  # type: ignore[assignment]
                    ) -> set[int]:
    """Wait until exactly ``count`` workers are listed, none of them in ``excluding``.

    A reload now keeps the old workers until the new ones have loaded the app, then retires them
    (dashboard.server.handover): on a loaded 2-core runner that took past 20 s once, so the wait
    is generous; a reload that never completes still fails it."""
    def listed() -> set[int] | None:
        pids = worker_pids(base_url)
        return pids if len(pids) == count and not pids & excluding else None

    return wait_for(listed, timeout=60)


def audit_records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
