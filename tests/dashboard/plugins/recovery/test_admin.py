"""The admin API through the host's full pipeline (werkzeug test client), every outcome of §5.

Restarts that are executed signal the "master" named by ``DASHBOARD_MASTER_PID``; here that is
the test process itself, with a SIGHUP handler that counts the reloads asked for.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard import hookimpl
from dashboard.clock import ManualClock
from dashboard.config.sections import SectionModel
from dashboard.host import Host

TOKEN = "tok-3f9a-secret-value"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def toml(tmp_path: Path, **recovery: Any) -> str:
    settings = {"cooldown_seconds": 60, "churn_window_seconds": 600, "churn_threshold": 3,
                "audit_log": str(tmp_path / "audit.jsonl"), **recovery}
    lines = "\n".join(f"{key} = {value!r}".replace("'", '"') for key, value in settings.items())
    return f"""
        [database]
        pool_size = 3
        max_overflow = 2
        pool_timeout = 7
        [plugins.recovery]
        {lines}
    """


@pytest.fixture
def reloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Stand in for the gunicorn master: count SIGHUPs sent to this process."""
    received: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, _frame: received.append(signum))
    monkeypatch.setenv("DASHBOARD_MASTER_PID", str(os.getpid()))
    yield received
    signal.signal(signal.SIGHUP, previous)


@pytest.fixture
def admin(dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
          tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dashboard_clock: ManualClock) -> Any:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    host = dashboard_host(toml(tmp_path), clock=dashboard_clock)
    return dashboard_client(host)


def restart(client: Any, **body: Any) -> Any:
    return client.post("/admin/api/worker/restart", headers=AUTH, json=body)


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    import json

    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(("method", "path"), [("GET", "/admin/api/worker/status"),
                                              ("GET", "/admin/api/system-status"),
                                              ("POST", "/admin/api/worker/restart")])
def test_forbidden_without_a_configured_token(dashboard_host: Callable[..., Host],
                                              dashboard_client: Callable[[Host], Any],
                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              method: str, path: str) -> None:
    monkeypatch.delenv("DASHBOARD_ADMIN_TOKEN", raising=False)
    client = dashboard_client(dashboard_host(toml(tmp_path)))
    response = client.open(path, method=method, headers=AUTH, json={"reason": "x"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert "Retry-After" not in response.headers and "retry_after_seconds" not in response.json[
        "meta"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    "Bearer"])
def test_unauthorized_without_or_with_a_wrong_token(admin: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for response in (admin.get("/admin/api/worker/status", headers=headers),
                     admin.post("/admin/api/worker/restart", headers=headers,
                                json={"reason": "x"})):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "UNAUTHORIZED"
        assert response.json["success"] is False and response.headers["X-Request-ID"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501},
                                  {"reason": 5}, {"reason": "ok", "override": "yes"}, [1]])
def test_validation_error_without_a_usable_reason(admin: Any, body: Any, tmp_path: Path) -> None:
    response = admin.post("/admin/api/worker/restart", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert audit_lines(tmp_path)[-1]["decision"] == "refused"


def test_reason_of_500_characters_is_accepted(admin: Any, reloads: list[int]) -> None:
    assert restart(admin, reason="x" * 500).status_code == 202


def test_unavailable_outside_a_gunicorn_master(admin: Any, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.delenv("DASHBOARD_MASTER_PID", raising=False)
    response = restart(admin, reason="try")
    assert response.status_code == 503
    assert response.json["error"] == {"code": "RESTART_UNAVAILABLE", "retryable": False,
                                      "message": response.json["error"]["message"]}
    assert "Retry-After" not in response.headers
    assert audit_lines(tmp_path)[-1]["decision"] == "failed"


def test_allowed_cooling_down_blocked_and_acknowledged_override(
        admin: Any, reloads: list[int], dashboard_clock: ManualClock, tmp_path: Path) -> None:
    accepted = restart(admin, reason="first")
    assert accepted.status_code == 202
    data = accepted.json["data"]
    assert data["decision"] == "executed" and data["policy_before"]["state"] == "allowed"
    assert reloads == [signal.SIGHUP]

    dashboard_clock.advance(15.5)
    cooling = restart(admin, reason="too soon")
    assert cooling.status_code == 429
    assert cooling.json["error"]["code"] == "RESTART_COOLDOWN"
    assert cooling.headers["Retry-After"] == "45"
    assert cooling.json["meta"]["retry_after_seconds"] == 45

    only_override = restart(admin, reason="force", override=True)
    assert only_override.status_code == 429
    forced = restart(admin, reason="force", override=True, acknowledge=True)
    assert forced.status_code == 202
    dashboard_clock.advance(61)
    assert restart(admin, reason="third").status_code == 202
    assert len(reloads) == 3

    dashboard_clock.advance(120)  # cooldown over, churn still at the threshold
    blocked = restart(admin, reason="again")
    assert blocked.status_code == 409
    assert blocked.json["error"]["code"] == "RESTART_POLICY_BLOCKED"
    assert "Retry-After" not in blocked.headers
    assert restart(admin, reason="again", acknowledge=True).status_code == 409
    overridden = restart(admin, reason="operator knows why", override=True, acknowledge=True)
    assert overridden.status_code == 202
    assert overridden.json["data"]["policy_before"]["state"] == "blocked"
    assert len(reloads) == 4

    lines = audit_lines(tmp_path)
    assert [line["decision"] for line in lines] == [
        "executed", "refused", "refused", "executed", "executed", "refused", "refused",
        "executed"]
    last = lines[-1]
    assert (last["reason"], last["override"], last["acknowledge"], last["policy_state"]) == (
        "operator knows why", True, True, "blocked")
    assert last["restart_id"] == overridden.json["data"]["restart_id"]

    status = admin.get("/admin/api/worker/status", headers=AUTH).json["data"]
    history = status["restart_history"]
    assert len(history) == 8 and history[0]["id"] == last["restart_id"]
    assert history[0]["override"] is True and history[0]["source"] == "manual"
    assert status["last_restart"]["id"] == last["restart_id"]
    # refused requests did not count: 4 executed restarts in the window
    assert status["restart_churn"] == {"window_seconds": 600, "threshold": 3, "count": 4,
                                       "exceeded": True}
    assert status["policy"]["state"] == "blocked"


def test_refused_requests_never_extend_a_block(
        admin: Any, reloads: list[int], dashboard_clock: ManualClock) -> None:
    for _ in range(3):
        assert restart(admin, reason="r", override=True, acknowledge=True).status_code == 202
        dashboard_clock.advance(1)
    for _ in range(20):
        assert restart(admin, reason="refused").status_code == 409
        dashboard_clock.advance(29)
    dashboard_clock.advance(18)  # now 601: the first restart has left the window
    assert restart(admin, reason="after the block").status_code == 202


def test_status_and_system_status_shapes(admin: Any) -> None:
    status = admin.get("/admin/api/worker/status", headers=AUTH)
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    data = status.json["data"]
    assert data["worker_pid"] == os.getpid()
    assert [w["pid"] for w in data["workers"]] == [os.getpid()]
    worker = data["workers"][0]
    assert worker["started_at"].endswith("Z") and worker["last_heartbeat"].endswith("Z")
    assert worker["breaker_state"] in ("CLOSED", None)
    assert data["restart_history"] == [] and data["last_restart"] is None

    system = admin.get("/admin/api/system-status", headers=AUTH)
    body = system.get_data(as_text=True)
    database = system.json["data"]["database"]
    assert database["pool_size"] == 3 and database["max_overflow"] == 2
    assert database["pool_timeout"] == 7 and database["dialect"] == "sqlite"
    assert database["call_timeout_ms"] == 55000 and database["connect_timeout"] == 10
    assert database["pool"]["max_capacity"] == 5
    assert "sqlite://" not in body and "dashboard.db" not in body
    resilience = system.json["data"]["resilience"]
    assert resilience["policy"]["state"] == "allowed"
    assert resilience["thresholds"]["restart_churn_threshold"] == 3
    assert system.json["data"]["restart_churn"]["count"] == 0


def test_unknown_admin_path_and_wrong_method(admin: Any) -> None:
    assert admin.get("/admin/api/nope", headers=AUTH).status_code == 404
    assert admin.get("/admin/api/worker/restart", headers=AUTH).status_code == 405


def test_health_reports_policy_and_churn(admin: Any, reloads: list[int]) -> None:
    restart(admin, reason="one")
    resilience = admin.get("/health").json["resilience"]
    assert resilience["policy"]["state"] == "cooling_down"
    assert resilience["policy"]["cooldown_remaining_seconds"] == 60
    assert resilience["restart_churn"]["count"] == 1
    assert resilience["thresholds"]["restart_cooldown_seconds"] == 60


def test_churn_exceeded_degrades_health(admin: Any, reloads: list[int]) -> None:
    for _ in range(3):
        restart(admin, reason="loop", override=True, acknowledge=True)
    health = admin.get("/health").json
    assert health["status"] == "degraded"
    assert health["degraded_reason"] == "restart_churn_exceeded"


def test_token_never_logged_nor_audited(admin: Any, reloads: list[int], tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    restart(admin, reason="one")
    restart(admin, reason=f"two, pasted {TOKEN} by mistake")
    admin.get("/admin/api/worker/status", headers={"Authorization": f"Bearer {TOKEN[:-1]}"})
    admin.post("/admin/api/worker/restart", headers=AUTH, json={})
    assert caplog.records  # something was logged, and none of it is the token
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text
    assert TOKEN not in (tmp_path / "audit.jsonl").read_text()
    history = admin.get("/admin/api/worker/status", headers=AUTH).get_data(as_text=True)
    assert "pasted *** by mistake" in history and TOKEN not in history


class RefuseEveryDatabaseAccess:
    """A stand-in for an OPEN breaker: every database access made while serving is refused."""

    class Settings(SectionModel):
        pass

    @hookimpl
    def dashboard_settings_model(self) -> tuple[str, type[SectionModel]]:
        return "gate", self.Settings

    @hookimpl
    def dashboard_db_checkout(self, host: Host) -> None:
        raise ConnectionRefusedError("gate closed")


def test_the_store_is_never_gated_by_the_hosts_database_hooks(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    text = toml(tmp_path).replace("[database]", '[dashboard]\nplugins = ["gate", "recovery"]\n'
                                  "[database]")
    host = dashboard_host(text, plugins={"gate": RefuseEveryDatabaseAccess()})
    client = dashboard_client(host)
    host.hook.dashboard_worker_started(host=host, pid=os.getpid())  # re-pools after a fork
    assert client.get("/admin/api/worker/status", headers=AUTH).status_code == 200
    assert client.get("/api/reports/wip-by-workcenter").status_code != 200  # the gate works
    host.close()  # stops the heartbeat thread the hook started


def test_an_unreachable_store_degrades_health_and_admin_but_never_stops_serving(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.server import free_port

    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    gone = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone?connect_timeout=1"
    client = dashboard_client(dashboard_host(toml(tmp_path, store_url=gone)))
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json["degraded_reason"] == "restart_store_unavailable"
    policy = health.json["resilience"]["policy"]
    assert (policy["state"], policy["age_seconds"]) == ("unknown", None), "never read"
    assert "has not answered" in policy["next_action"]
    status = client.get("/admin/api/worker/status", headers=AUTH)
    assert status.status_code == 200, "admin status shows what is known, never a 500"
    assert status.json["data"]["policy"]["state"] == "unknown"
    assert status.json["data"]["restart_history"] == []
    assert "gone" not in status.get_data(as_text=True)
    assert client.get("/api/reports").status_code == 200
