"""``POST /admin/api/breaker`` on a real gunicorn master with two workers and the real plugins:
a forced open refuses report calls with ``CIRCUIT_BREAKER_OPEN`` and ``Retry-After`` = the time
left, ends by itself on time, disable and reset take effect, every action leaves one audit
line, and the refusals (no acknowledge, no or wrong token, no token configured) are as for every
admin call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dashboard.plugins.recovery.support import (
    AUTH,
    ENV,
    audit_records,
    recovery_toml,
    wait_for,
)
from tests.support.server import Server, gunicorn_server

REPORT = "/api/reports/wip-by-workcenter"
PATH = "/admin/api/breaker"
#: The shipped plugins but ``fallback``, which would answer refused reports with stale data;
#: health computed afresh on every call (no memo), so each read shows the breaker of that moment.
PLUGINS = ('[dashboard]\nplugins = ["redaction", "admission", "breaker", "degradation", '
           '"health", "recovery"]\n[plugins.health]\nmemo_ttl_seconds = 0\n')
pytestmark = pytest.mark.timeout(180)


def post(session: requests.Session, server: Server, **body: Any) -> requests.Response:
    return session.post(server.url + PATH, json=body, headers=AUTH, timeout=10)


def breaker_of(session: requests.Session, server: Server) -> tuple[int, dict[str, Any]]:
    health = session.get(server.url + "/health", timeout=10).json()
    return health["worker_pid"], health["checks"]["breaker"]


def each_worker(server: Server, count: int, path: str) -> dict[int, requests.Response]:
    """One answer of ``path`` from each of ``count`` workers (fresh connections spread; the
    answer is asked on the connection whose worker said its pid)."""
    answers: dict[int, requests.Response] = {}

    def everyone() -> bool:
        pid = requests.get(server.url + "/livez", headers={"Connection": "close"},
                           timeout=10).json()["worker_pid"]
        with requests.Session() as session:  # the same connection: the same worker
            if session.get(server.url + "/livez", timeout=10).json()["worker_pid"] == pid:
                answers.setdefault(pid, session.get(server.url + path, timeout=10))
        return len(answers) >= count

    wait_for(everyone, timeout=30, interval=0.01)
    return answers


def every_worker_says(server: Server, path: str,
                      condition: Callable[[requests.Response], bool]
                      ) -> dict[int, requests.Response] | None:
    """One answer of ``path`` per worker when each meets ``condition``, else ``None``."""
    answers = each_worker(server, 2, path)
    return answers if all(condition(r) for r in answers.values()) else None


def test_force_open_disable_reset_through_the_admin_api(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, recovery_toml(tmp_path, extra=PLUGINS), env=ENV,
                         workers=2) as server, \
            requests.Session() as session:
        assert session.get(server.url + REPORT, timeout=10).status_code == 200

        # No acknowledge: nothing happens.
        refused = post(session, server, action="force_open", reason="drill",
                       duration_seconds=2)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
        assert session.get(server.url + REPORT, timeout=10).status_code == 200

        started = time.monotonic()
        forced = post(session, server, action="force_open", reason="failover drill",
                      duration_seconds=2, acknowledge=True)
        assert forced.status_code == 200, forced.text
        data = forced.json()["data"]
        assert (data["action"], data["forced"]) == ("force_open", "open")
        assert data["scope"] and 1.0 < data["seconds_left"] <= 2.0 and data["expires_at"]
        # The answering worker (same keep-alive connection) refuses at once, Retry-After = left.
        pid, breaker = breaker_of(session, server)
        assert (breaker["state"], breaker["forced"]) == ("OPEN", "open")
        assert "forced_reason" not in breaker  # public /health: no operator text
        report = session.get(server.url + REPORT, timeout=10)
        assert report.status_code == 503, report.text
        assert report.json()["error"]["code"] == "CIRCUIT_BREAKER_OPEN"
        left = 2 - (time.monotonic() - started)
        assert abs(int(report.headers["Retry-After"]) - left) <= 1.0
        assert breaker_of(session, server)[0] == pid

        # It ends by itself on time: refused until about its deadline, served after it.
        served = wait_for(lambda: session.get(server.url + REPORT, timeout=10).status_code
                          == 200, timeout=10, interval=0.05)
        assert served and time.monotonic() - started >= 1.9
        assert breaker_of(session, server)[1]["forced"] is None
        assert all(r.status_code == 200 for r in each_worker(server, 2, REPORT).values())

        # One call on one worker reaches every worker (the same Retry-After, within 1 s).
        forced = post(session, server, action="force_open", reason="incident 42",
                      duration_seconds=60, acknowledge=True)
        assert forced.json()["data"]["forced"] == "open"
        # Every worker follows within the relay's poll (50 ms); asked until each has.
        refusals = wait_for(lambda: every_worker_says(server, REPORT, lambda r: (
            r.status_code == 503 and r.json()["error"]["code"] == "CIRCUIT_BREAKER_OPEN")),
            timeout=10, interval=0.05)
        retry_afters = [int(r.headers["Retry-After"]) for r in refusals.values()]
        assert max(retry_afters) - min(retry_afters) <= 1 and 50 <= min(retry_afters) <= 60
        assert wait_for(lambda: every_worker_says(server, "/health", lambda h: (
            h.json()["checks"]["breaker"]["forced"] == "open")), timeout=10, interval=0.05)

        disabled = post(session, server, action="disable", reason="replica flaps",
                        duration_seconds=60, acknowledge=True)
        assert disabled.json()["data"]["forced"] == "disabled"
        breaker = breaker_of(session, server)[1]
        assert (breaker["status"], breaker["forced"]) == ("warn", "disabled")
        assert wait_for(lambda: every_worker_says(server, "/health", lambda h: (
            h.json()["checks"]["breaker"]["forced"] == "disabled")), timeout=10, interval=0.05)
        reset = post(session, server, action="reset", reason="done", acknowledge=True)
        assert reset.json()["data"]["forced"] is None
        assert breaker_of(session, server)[1]["forced"] is None

        events = [(r["event"], r["decision"], r["duration_seconds"])
                  for r in audit_records(tmp_path)]
        assert events == [("breaker_force_open", "refused", None),
                          ("breaker_force_open", "executed", 2),
                          ("breaker_force_open", "executed", 60),
                          ("breaker_disable", "executed", 60),
                          ("breaker_reset", "executed", None)]
        assert all(r["remote_addr"] == "127.0.0.1" for r in audit_records(tmp_path))

        # Authentication like every admin call.
        body = {"action": "force_open", "reason": "x", "duration_seconds": 60,
                "acknowledge": True}
        assert requests.post(server.url + PATH, json=body, timeout=10).status_code == 401
        assert requests.post(server.url + PATH, json=body, timeout=10, headers={
            "Authorization": "Bearer wrong"}).status_code == 401
        # No breaker action is recorded for either; each is one failed authentication.
        records = audit_records(tmp_path)
        assert [r["event"] for r in records[5:]] == ["auth_failed", "auth_failed"]
        assert len([r for r in records if r["event"].startswith("breaker_")]) == 5
        assert wait_for(lambda: every_worker_says(server, REPORT, lambda r: r.status_code == 200),
                        timeout=10, interval=0.05)
    log = server.log_text()
    assert "circuit breaker override: force_open for 2s" in log
    assert "Traceback" not in log


def test_forbidden_without_a_configured_token(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, recovery_toml(tmp_path), workers=1) as server:
        response = requests.post(server.url + PATH, headers=AUTH, timeout=10, json={
            "action": "reset", "reason": "x", "acknowledge": True})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
