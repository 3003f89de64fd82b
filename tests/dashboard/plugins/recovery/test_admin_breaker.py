"""``POST /admin/api/breaker`` (docs/api/admin.md) through the host's full pipeline: every action,
every
refusal, the audit line of each, masking, and the answer when no breaker is configured."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard import hookimpl
from dashboard.clock import ManualClock
from dashboard.host import Host
from dashboard.testing import assert_error_envelope, assert_success_envelope
from tests.dashboard.plugins.recovery.test_admin import AUTH, TOKEN, audit_lines, toml

PATH = "/admin/api/breaker"
APP = '[dashboard]\napp_factory = "tests.dashboard.plugins.degradation.apps:create_app"\n'


@pytest.fixture
def host(dashboard_host: Callable[..., Host], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         dashboard_clock: ManualClock) -> Host:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    return dashboard_host(APP + toml(tmp_path), clock=dashboard_clock)


@pytest.fixture
def client(host: Host, dashboard_client: Callable[[Host], Any]) -> Any:
    return dashboard_client(host)


def control(client: Any, **body: Any) -> Any:
    return client.post(PATH, headers=AUTH, json=body)


def test_force_open_disable_reset_each_answer_and_leave_an_audit_line(
        client: Any, tmp_path: Path, dashboard_clock: ManualClock) -> None:
    response = control(client, action="force_open", reason="failover drill",
                       duration_seconds=120, acknowledge=True)
    assert response.status_code == 200, response.get_json()
    assert_success_envelope(response)
    assert response.get_json()["data"] == {
        "action": "force_open", "scope": "host", "forced": "open",
        "expires_at": "2026-01-01T00:02:00.000Z", "seconds_left": 120.0}
    assert response.headers["Cache-Control"] == "no-store"
    refused = client.get("/query")
    assert_error_envelope(refused, "CIRCUIT_BREAKER_OPEN", 503, retry_after=120)

    dashboard_clock.advance(10)
    disabled = control(client, action="disable", reason="let it through",
                       duration_seconds=30.0, acknowledge=True)
    assert disabled.get_json()["data"]["forced"] == "disabled"
    assert client.get("/query").status_code == 200
    reset = control(client, action="reset", reason="over", acknowledge=True)
    assert reset.get_json()["data"] == {"action": "reset", "scope": "host", "forced": None,
                                        "expires_at": None, "seconds_left": None}

    lines = audit_lines(tmp_path)
    assert [line["event"] for line in lines] == ["breaker_force_open", "breaker_disable",
                                                 "breaker_reset"]
    first = lines[0]
    assert list(first) == ["timestamp", "event", "actor", "remote_addr", "reason", "override",
                           "acknowledge", "policy_state", "decision", "restart_id",
                           "duration_seconds", "scope", "expires_at"]
    assert first == {"timestamp": "2026-01-01T00:00:00.000Z", "event": "breaker_force_open",
                     "actor": "admin", "remote_addr": first["remote_addr"],
                     "reason": "failover drill", "override": False, "acknowledge": True,
                     "policy_state": first["policy_state"], "decision": "executed",
                     "restart_id": None, "duration_seconds": 120, "scope": "host",
                     "expires_at": "2026-01-01T00:02:00.000Z"}
    assert (lines[1]["duration_seconds"], lines[1]["expires_at"]) == (
        30, "2026-01-01T00:00:40.000Z")
    assert (lines[2]["duration_seconds"], lines[2]["expires_at"]) == (None, None)


@pytest.mark.parametrize(("body", "message"), [
    ({"action": "force_open", "reason": "x", "duration_seconds": 60}, "acknowledge must be true"),
    ({"action": "force_open", "reason": "x", "duration_seconds": 60, "acknowledge": "yes"},
     "acknowledge must be true"),
    ({"action": "reset", "reason": "x", "acknowledge": False}, "acknowledge must be true"),
    ({"action": "open", "reason": "x", "acknowledge": True}, "action must be one of"),
    ({"reason": "x", "acknowledge": True}, "action must be one of"),
    ({"action": ["reset"], "reason": "x", "acknowledge": True}, "action must be one of"),
    ({"action": "reset", "acknowledge": True}, "reason is required"),
    ({"action": "reset", "reason": "   ", "acknowledge": True}, "reason is required"),
    ({"action": "reset", "reason": "r" * 501, "acknowledge": True}, "at most 500"),
    ({"action": "disable", "reason": "x", "acknowledge": True}, "duration_seconds is required"),
    ({"action": "disable", "reason": "x", "duration_seconds": "60", "acknowledge": True},
     "duration_seconds is required"),
    ({"action": "disable", "reason": "x", "duration_seconds": True, "acknowledge": True},
     "duration_seconds is required"),
    ({"action": "disable", "reason": "x", "duration_seconds": 1.5, "acknowledge": True},
     "whole number"),
    ({"action": "force_open", "reason": "x", "duration_seconds": 0, "acknowledge": True},
     "between 1 and 86400"),
    ({"action": "force_open", "reason": "x", "duration_seconds": 86401, "acknowledge": True},
     "between 1 and 86400"),
    ({"action": "reset", "reason": "x", "duration_seconds": 60, "acknowledge": True},
     "not taken by reset"),
])
def test_a_bad_body_is_400_with_a_clear_message_and_changes_nothing(
        client: Any, body: dict[str, Any], message: str) -> None:
    response = control(client, **body)
    assert_error_envelope(response, "VALIDATION_ERROR", 400)
    assert message in response.get_json()["error"]["message"]
    assert client.get("/query").status_code == 200  # nothing was forced


def test_refusals_with_a_known_action_are_audited_as_refused(client: Any,
                                                             tmp_path: Path) -> None:
    control(client, action="force_open", reason="oops", duration_seconds=60)
    control(client, action="nonsense", reason="x", acknowledge=True)
    client.post(PATH, headers=AUTH, data=b"{not json", content_type="application/json")
    lines = audit_lines(tmp_path)
    assert len(lines) == 1
    assert (lines[0]["event"], lines[0]["decision"], lines[0]["acknowledge"]) == (
        "breaker_force_open", "refused", False)
    assert lines[0]["reason"].startswith("invalid request: acknowledge must be true")


def test_not_json_or_not_an_object_is_400(client: Any) -> None:
    for data in (b"{not json", b"[1]", b'{"action": NaN}'):
        response = client.post(PATH, headers=AUTH, data=data, content_type="application/json")
        assert_error_envelope(response, "VALIDATION_ERROR", 400)


def test_a_secret_in_the_reason_is_masked_everywhere(client: Any, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    response = control(client, action="force_open", reason=f"pasted {TOKEN} by mistake",
                       duration_seconds=60, acknowledge=True)
    assert response.status_code == 200
    assert audit_lines(tmp_path)[0]["reason"] == "pasted *** by mistake"
    # The reason is for the operator only: the admin API shows it (masked), /health never.
    system = client.get("/admin/api/system-status", headers=AUTH).get_json()["data"]
    assert system["breaker"]["forced_reason"] == "pasted *** by mistake"
    health = client.get("/health")
    assert health.get_json()["checks"]["breaker"]["forced"] == "open"
    assert "forced_reason" not in health.get_json()["checks"]["breaker"]
    assert "pasted" not in health.get_data(as_text=True)
    assert TOKEN not in caplog.text
    assert TOKEN not in (tmp_path / "audit.jsonl").read_text()


@pytest.mark.parametrize(("headers", "status"), [({}, 401),
                                                 ({"Authorization": "Bearer wrong"}, 401)])
def test_authenticated_like_every_admin_call(client: Any, headers: dict[str, str],
                                             status: int, tmp_path: Path) -> None:
    response = client.post(PATH, headers=headers, json={
        "action": "force_open", "reason": "x", "duration_seconds": 60, "acknowledge": True})
    assert response.status_code == status
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/query").status_code == 200
    # Nothing done, and nothing audited but the failed authentication (docs/api/admin.md).
    assert [line["event"] for line in audit_lines(tmp_path)] == ["auth_failed"]


def test_forbidden_without_a_configured_token(dashboard_host: Callable[..., Host],
                                              dashboard_client: Callable[[Host], Any],
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHBOARD_ADMIN_TOKEN", raising=False)
    client = dashboard_client(dashboard_host(APP + toml(tmp_path)))
    response = client.post(PATH, headers=AUTH, json={"action": "reset", "reason": "x",
                                                     "acknowledge": True})
    assert_error_envelope(response, "FORBIDDEN", 403)


def test_get_is_405_with_allow_post(client: Any) -> None:
    response = client.get(PATH, headers=AUTH)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_no_breaker_plugin_is_404_with_a_message(dashboard_host: Callable[..., Host],
                                                 dashboard_client: Callable[[Host], Any],
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    host = dashboard_host('[dashboard]\nplugins = ["health", "recovery"]\n' + toml(tmp_path))
    response = control(dashboard_client(host), action="force_open", reason="x",
                       duration_seconds=60, acknowledge=True)
    assert_error_envelope(response, "NOT_FOUND", 404)
    assert "No circuit breaker is enabled" in response.get_json()["error"]["message"]
    assert json.loads((tmp_path / "audit.jsonl").read_text())["decision"] == "refused"


class BrokenBreaker:
    """Answers the hook by raising, with a secret in the message that must not be logged."""

    @hookimpl
    def dashboard_breaker_control(self, host: Host, action: str) -> dict[str, Any]:
        raise OSError("block write failed: password=hunter2-secret")


def test_a_breaker_that_raises_is_500_logged_by_class_and_audited_failed(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    host = dashboard_host('[dashboard]\nplugins = ["broken", "recovery"]\n' + toml(tmp_path),
                          plugins={"broken": BrokenBreaker()})
    response = control(dashboard_client(host), action="disable", reason="x",
                       duration_seconds=60, acknowledge=True)
    assert_error_envelope(response, "INTERNAL_ERROR", 500)
    assert "hunter2" not in response.get_data(as_text=True)
    assert "OSError" in caplog.text and "hunter2" not in caplog.text
    assert audit_lines(tmp_path)[0]["decision"] == "failed"
