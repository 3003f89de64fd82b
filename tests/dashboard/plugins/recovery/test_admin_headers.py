"""``405`` answers say which methods would do (``Allow``); ``401`` says how to authenticate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard.host import Host

TOKEN = "tok-3f9a-secret-value"


@pytest.fixture
def client(dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    return dashboard_client(dashboard_host(
        f'[plugins.recovery]\naudit_log = "{tmp_path / "audit.jsonl"}"\n'))


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("POST", "/admin/api/worker/status", "GET, HEAD"),
    ("DELETE", "/admin/api/system-status", "GET, HEAD"),
    ("GET", "/admin/api/worker/restart", "POST"),
    ("POST", "/api/reports", "GET, HEAD"),
    ("POST", "/health", "GET, HEAD"),
])
def test_405_carries_allow(client: Any, method: str, path: str, allow: str) -> None:
    response = client.open(path, method=method,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 405, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dXNlcjpwdw=="])
def test_401_carries_a_bearer_challenge(client: Any, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/admin/api/worker/status", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].split()[0] == "Bearer"
