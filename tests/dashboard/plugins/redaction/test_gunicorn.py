"""End to end: a real ``dashboard serve`` whose database is down, with tracebacks and access logs.

The database URL carries a password and points at a closed port, so every report request makes
the driver fail and the host log the fault with its traceback; ``/leak`` (see ``apps.py``) logs
the URL with its password outright and raises with it. Admin calls carry the bearer token, also in
the query string and the Referer (which gunicorn's default access log format prints), and a
restart (whose reason quotes the token) makes gunicorn rebuild its log handlers. Afterwards
neither the password (raw or percent-encoded) nor the token appears in the captured
stdout/stderr or in any file the server wrote (log files, audit log, restart store).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.support.server import gunicorn_server

PASSWORD = "S3cr@t-pw"
ENCODED_PASSWORD = "S3cr%40t-pw"
TOKEN = "adm-7Qz9-e2e-token-4711"
SECRETS = (PASSWORD, ENCODED_PASSWORD, TOKEN)

CONFIG = f"""
[dashboard]
plugins = ["redaction", "degradation", "health", "recovery"]
app_factory = "tests.dashboard.plugins.redaction.apps:create_app"
[database]
url = "postgresql+psycopg://mes:{ENCODED_PASSWORD}@127.0.0.1:1/mes"
connect_timeout = 2
[plugins.recovery]
admin_token_env = "DASHBOARD_ADMIN_TOKEN"
cooldown_seconds = 0
[logging]
level = "debug"   # classified failures log their traceback only at DEBUG: scan those too
"""


def _files_to_scan(root: Path, config_path: Path) -> list[Path]:
    """Every text file the server wrote (the config itself, which must hold the URL, aside)."""
    return [path for path in root.rglob("*") if path.is_file() and path != config_path
            and path.suffix not in (".db", ".sqlite", ".sqlite3")]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_password_or_token_in_any_output_of_a_real_server(tmp_path: Path,
                                                             log_format: str) -> None:
    config = CONFIG + f'format = "{log_format}"\n'
    with gunicorn_server(tmp_path, config, env={"DASHBOARD_ADMIN_TOKEN": TOKEN},
                         workers=2) as server:
        bearer = {"Authorization": f"Bearer {TOKEN}",
                  "Referer": f"http://ops.example/admin?token={TOKEN}"}
        for _ in range(6):
            failed = server.get("/api/reports/wip-by-workcenter")
            assert failed.status_code == 503, failed.text
            assert failed.json()["error"]["code"] == "DB_CONNECTION_FAILED"
        assert server.get("/leak").status_code == 500
        assert server.get(f"/api/reports/{ENCODED_PASSWORD}").status_code in (404, 503)
        status = server.get(f"/admin/api/worker/status?token={TOKEN}", headers=bearer)
        assert status.status_code == 200, status.text
        restart = requests.post(f"{server.url}/admin/api/worker/restart", headers=bearer,
                                json={"reason": f"rotate after {TOKEN} check"}, timeout=30)
        assert restart.status_code == 202, restart.text
        _wait_for_new_workers(server, status.json()["data"]["workers"], bearer)
        assert server.get("/leak").status_code == 500
        assert server.get("/api/reports/wip-by-workcenter").status_code == 503
        assert server.get("/admin/api/worker/status", headers={
            "Authorization": "Bearer wrong-token"}).status_code == 401
        time.sleep(0.5)  # let the workers flush their last lines
    log = server.log_text()
    app_log = (tmp_path / "run" / "app.log").read_text(encoding="utf-8")

    assert "Traceback (most recent call last)" in log, "the driver failures were logged"
    assert "OperationalError" in log and "ConnectionError: could not use" in log
    assert "GET /api/reports/wip-by-workcenter" in log, "the access log is on"
    assert "GET /admin/api/worker/status?token=*** HTTP/1.1" in log
    assert "about to connect with postgresql+psycopg://mes:***@127.0.0.1:1/mes" in app_log
    assert "Handling signal: hup" in log.lower() or "hang up" in log.lower()
    leaks = {str(path.relative_to(tmp_path)): [s for s in SECRETS if s in text]
             for path in _files_to_scan(tmp_path, server.config_path)
             if (text := path.read_text(encoding="utf-8", errors="replace"))}
    assert {name: found for name, found in leaks.items() if found} == {}


def _wait_for_new_workers(server, old_workers: list[dict], headers: dict[str, str]) -> None:
    old = {worker["pid"] for worker in old_workers}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            answer = server.get("/admin/api/worker/status", headers=headers, timeout=5)
            pids = {worker["pid"] for worker in answer.json()["data"]["workers"]}
            if answer.status_code == 200 and pids and not pids & old:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise AssertionError("the workers were not replaced after the restart")
