"""``DASHBOARD_TRACE_HOOKS=1`` logs every hook call to the ``dashboard.hooks`` logger."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from dashboard import hookimpl
from dashboard.host import TRACE_ENV
from tests.support.server import gunicorn_server

TOML = """
[dashboard]
plugins = ["probe"]
app_factory = "dashboard.testing:echo_app"
"""


def probe_plugin() -> SimpleNamespace:
    @hookimpl
    def dashboard_configure(host):
        return None

    @hookimpl
    def dashboard_wrap_wsgi(app, host):
        return app

    return SimpleNamespace(dashboard_configure=dashboard_configure,
                           dashboard_wrap_wsgi=dashboard_wrap_wsgi)


def test_hook_calls_are_traced_when_asked(monkeypatch, caplog, dashboard_host, dashboard_client):
    monkeypatch.setenv(TRACE_ENV, "1")
    caplog.set_level(logging.INFO, logger="dashboard.hooks")
    host = dashboard_host(TOML, plugins={"probe": probe_plugin()})
    assert dashboard_client(host).get("/").status_code == 200
    traced = [record for record in caplog.records if record.name == "dashboard.hooks"]
    text = "\n".join(record.getMessage() for record in traced)
    assert "dashboard_configure" in text
    assert "dashboard_wrap_wsgi" in text


def test_nothing_is_traced_by_default(monkeypatch, caplog, dashboard_host, dashboard_client):
    monkeypatch.delenv(TRACE_ENV, raising=False)
    caplog.set_level(logging.INFO, logger="dashboard.hooks")
    host = dashboard_host(TOML, plugins={"probe": probe_plugin()})
    dashboard_client(host).get("/")
    assert [record.getMessage() for record in caplog.records
            if record.name == "dashboard.hooks" and record.levelno >= logging.INFO] == []


def test_a_real_server_writes_the_trace_to_its_log(tmp_path):
    """Under ``dashboard serve`` the trace goes through the host's ``[logging]`` format."""
    with gunicorn_server(tmp_path, '[dashboard]\nplugins = ["health"]\n', workers=1,
                         env={TRACE_ENV: "1"}) as server:
        assert server.get("/livez").status_code == 200
        log = server.log_text()
    # Hooks health implements, in the master (configure) and the worker; a hook no enabled plugin
    # implements is not called at all, so it leaves no trace.
    for hook in ("dashboard_configure", "dashboard_engine_created", "dashboard_wrap_wsgi",
                 "dashboard_worker_started"):
        assert f"[INFO] dashboard.hooks:   {hook} [hook]" in log, log[-3000:]
