"""The maintenance plugin through a whole host, using only the fixtures of ``dashboard.testing``.

The plugin must be installed (``pip install -e .``): the host finds it by its entry point, as a
server would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.testing import assert_error_envelope, assert_success_envelope

TOML = """
[dashboard]
plugins = ["maintenance"]
app_factory = "dashboard.testing:echo_app"

[plugins.maintenance]
flag_file = "{flag}"
retry_after_seconds = 120
"""


@pytest.fixture
def flag(tmp_path: Path) -> Path:
    return tmp_path / "maintenance.flag"


@pytest.fixture
def client(dashboard_host, dashboard_client, flag):
    return dashboard_client(dashboard_host(TOML.format(flag=flag)))


def test_serves_normally_without_the_flag(client):
    data = assert_success_envelope(client.get("/api/reports"))
    assert data["path"] == "/api/reports"


def test_answers_503_maintenance_with_retry_after_while_the_flag_exists(client, flag):
    flag.touch()
    response = client.get("/api/reports", headers={"X-Request-ID": "abc-123"})
    body = assert_error_envelope(response, "MAINTENANCE", status=503, retry_after=120)
    assert body["error"]["retryable"] is True
    assert body["error"]["message"] == "The dashboard is down for maintenance."
    assert body["meta"]["request_id"] == "abc-123"


def test_blocks_every_method_and_path(client, flag):
    flag.touch()
    for method, path in [("POST", "/admin/api/worker/restart"), ("GET", "/"),
                         ("DELETE", "/anything"), ("GET", "/healthz")]:
        response = client.open(path, method=method)
        assert_error_envelope(response, "MAINTENANCE", status=503)


@pytest.mark.parametrize("path", ["/health", "/health/deep", "/livez", "/readyz", "/metrics"])
def test_probes_and_metrics_pass_through(client, flag, path):
    flag.touch()
    assert_success_envelope(client.get(path))


def test_switches_off_when_the_flag_is_removed(client, flag):
    flag.touch()
    assert client.get("/").status_code == 503
    flag.unlink()
    assert_success_envelope(client.get("/"))


def test_the_flag_text_becomes_the_message(client, flag):
    flag.write_text("  Database upgrade\nuntil 03:00 UTC \n", encoding="utf-8")
    body = assert_error_envelope(client.get("/"), "MAINTENANCE")
    assert body["error"]["message"] == "Database upgrade until 03:00 UTC"


def test_allow_paths_are_configurable(dashboard_host, dashboard_client, flag):
    host = dashboard_host(TOML.format(flag=flag) + 'allow_paths = ["/status/"]\n')
    client = dashboard_client(host)
    flag.touch()
    assert_success_envelope(client.get("/status/now"))
    assert_error_envelope(client.get("/health"), "MAINTENANCE")


def test_health_check_warns_while_the_flag_exists(dashboard_host, flag):
    host = dashboard_host(TOML.format(flag=flag))
    [[check]] = host.hook.dashboard_health_checks(host=host, deep=False)
    assert (check.name, check.status, check.degraded_reason) == ("maintenance", "pass", None)
    flag.touch()
    [[check]] = host.hook.dashboard_health_checks(host=host, deep=True)
    assert (check.status, check.details, check.degraded_reason) == (
        "warn", {"active": True}, "maintenance")


def test_touches_nothing_when_installed_but_not_enabled(dashboard_host, dashboard_client, flag):
    host = dashboard_host(TOML.format(flag=flag).replace('["maintenance"]', "[]"))
    flag.touch()
    assert_success_envelope(dashboard_client(host).get("/api/reports"))
