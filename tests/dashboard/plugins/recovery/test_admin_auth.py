"""Admin authentication (docs/api/admin.md): a short token is a config problem, failures are
audited, and an address that keeps failing is throttled with 429 ``RATE_LIMITED``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from dashboard import ManualClock
from dashboard.plugins.recovery.authguard import FailureThrottle
from tests.dashboard.plugins.recovery.support import AUTH, ENV, audit_records, recovery_toml
from tests.support.server import free_port, gunicorn_server, server_env, write_config

SHORT = "short-token-15ch"[:15]


def test_the_throttle_blocks_the_eleventh_try_for_the_rest_of_the_minute() -> None:
    clock = ManualClock()
    throttle = FailureThrottle(clock.monotonic)
    for _ in range(10):
        assert throttle.blocked_for("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        clock.advance(1)
    assert throttle.blocked_for("10.0.0.1") == pytest.approx(50)  # the first failure + 60 s
    assert throttle.blocked_for("10.0.0.2") is None  # per address
    clock.advance(49.5)
    assert throttle.blocked_for("10.0.0.1") == pytest.approx(0.5)
    clock.advance(0.5)
    assert throttle.blocked_for("10.0.0.1") is None  # the first failure left the window


def test_failures_spread_over_more_than_a_minute_never_block() -> None:
    clock = ManualClock()
    throttle = FailureThrottle(clock.monotonic)
    for _ in range(100):
        assert throttle.blocked_for("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        clock.advance(6.01)


def test_memory_is_bounded_whatever_the_number_of_addresses() -> None:
    throttle = FailureThrottle(ManualClock().monotonic, max_addresses=100)
    for number in range(1000):
        throttle.failed(f"10.0.{number // 256}.{number % 256}")
    assert len(throttle._failures) == 100


def _check(tmp_path: Path, token: str) -> subprocess.CompletedProcess[str]:
    config = write_config(tmp_path, recovery_toml(tmp_path), free_port())
    return subprocess.run([sys.executable, "-m", "dashboard", "check", "--config", str(config)],
                          env=server_env({"DASHBOARD_ADMIN_TOKEN": token}), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_a_short_token_is_a_config_problem_naming_the_key_never_the_token(tmp_path: Path
                                                                          ) -> None:
    assert len(SHORT) == 15
    checked = _check(tmp_path, SHORT)
    assert checked.returncode == 2
    assert "plugins.recovery.admin_token_env:" in checked.stderr
    assert "16 characters" in checked.stderr
    assert SHORT not in checked.stdout + checked.stderr
    assert _check(tmp_path, SHORT + "x").returncode == 0  # 16 is enough


def test_serve_refuses_to_start_with_a_short_token(tmp_path: Path) -> None:
    with (pytest.raises(RuntimeError, match="exited with 2") as refused,
          gunicorn_server(tmp_path, recovery_toml(tmp_path), env={"DASHBOARD_ADMIN_TOKEN": SHORT},
                          workers=1)):
        pass
    assert "plugins.recovery.admin_token_env" in str(refused.value)
    assert SHORT not in str(refused.value)


def test_eleven_wrong_tokens_from_one_address_get_429_even_with_the_right_token(tmp_path: Path
                                                                                ) -> None:
    """One worker: the count is per worker (docs/api/admin.md)."""
    with gunicorn_server(tmp_path, recovery_toml(tmp_path), env=ENV, workers=1) as server:
        url = server.url + "/admin/api/worker/status"
        wrong = [f"Bearer guess-{number:04d}-of-the-admin-token" for number in range(10)]
        answers = [requests.get(url, headers={"Authorization": header}, timeout=10)
                   for header in wrong]
        assert [a.status_code for a in answers] == [401] * 10
        throttled = requests.get(url, headers={"Authorization": "Bearer guess-11"}, timeout=10)
        right = requests.get(url, headers=AUTH, timeout=10)
        for answer in (throttled, right):
            assert answer.status_code == 429
            body = answer.json()
            assert (body["success"], body["error"]["code"], body["error"]["retryable"]) == (
                False, "RATE_LIMITED", True)
            assert 1 <= int(answer.headers["Retry-After"]) <= 60
            assert body["meta"]["retry_after_seconds"] == int(answer.headers["Retry-After"])
        failures = [r for r in audit_records(tmp_path) if r["event"] == "auth_failed"]
        assert len(failures) == 10  # one line per failure; throttled answers are not failures
        assert {(r["remote_addr"], r["decision"], r["reason"]) for r in failures} == {
            ("127.0.0.1", "refused", "wrong token")}
        audit_text = (tmp_path / "audit.jsonl").read_text()
        assert "guess-" not in audit_text and "guess-" not in server.log_text()
        assert json.loads(audit_text.splitlines()[0])["actor"] == "anonymous"
