"""The plugin in a host: configured secrets, settings, hooks, and a real failing database."""

from __future__ import annotations

import io
import logging

import pytest

from dashboard.plugins.redaction.install import active_filter

CLOSED_PORT_URL = "postgresql+psycopg://mes:S3cr%40t-pw@127.0.0.1:1/mes"
TOKEN = "adm-tok-0123456789"
STORE_PASSWORD = "st0re-pw!"

HOST_TOML = f"""
[dashboard]
plugins = ["redaction"]
[database]
url = "{CLOSED_PORT_URL}"
connect_timeout = 2
[plugins.recovery]
admin_token_env = "REDACTION_TEST_ADMIN_TOKEN"
store_url = "postgresql+psycopg://history:st0re-pw%21@127.0.0.1:1/history"
"""


@pytest.fixture
def memory_log() -> tuple[logging.Logger, io.StringIO]:
    logger = logging.getLogger("redaction-test.plugin")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def test_configured_secrets_are_masked_in_any_text(dashboard_host, memory_log,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDACTION_TEST_ADMIN_TOKEN", TOKEN)
    dashboard_host(HOST_TOML)
    logger, stream = memory_log
    logger.info("driver said: bad password S3cr@t-pw (was S3cr%40t-pw)")
    logger.info("history store refused st0re-pw! / st0re-pw%21")
    logger.info("token %s seen in /admin?t=%s", TOKEN, TOKEN)
    output = stream.getvalue()
    for secret in ("S3cr@t-pw", "S3cr%40t-pw", STORE_PASSWORD, "st0re-pw%21", TOKEN):
        assert secret not in output
    assert output == ("driver said: bad password *** (was ***)\n"
                      "history store refused *** / ***\n"
                      "token *** seen in /admin?t=***\n")


def test_mask_and_extra_patterns_come_from_the_config(dashboard_host, memory_log) -> None:
    dashboard_host("""
        [dashboard]
        plugins = ["redaction"]
        [plugins.redaction]
        mask = "[redacted]"
        extra_patterns = ['EMP-\\d{6}', 'badge=(\\w+)']
    """)
    logger, stream = memory_log
    logger.info("EMP-123456 badge=abc pwd=x1")
    assert stream.getvalue() == "[redacted] badge=[redacted] pwd=[redacted]\n"


def test_logging_configured_hook_covers_handlers_made_since_configure(dashboard_host) -> None:
    host = dashboard_host('[dashboard]\nplugins = ["redaction"]')
    sneaky = logging.StreamHandler(io.StringIO())
    sneaky.filters = []  # a handler that lost its filters, as a careless reconfiguration would
    logging.getLogger("gunicorn.error").addHandler(sneaky)
    try:
        sneaky.filters = []
        host.hook.dashboard_logging_configured(host=host)
        assert sneaky.filters == [active_filter()]
    finally:
        logging.getLogger("gunicorn.error").removeHandler(sneaky)


def test_a_host_without_the_plugin_installs_nothing(dashboard_host) -> None:
    dashboard_host('[dashboard]\nplugins = []')
    assert active_filter() is None


def test_a_failing_database_logs_tracebacks_without_the_password(
        dashboard_host, dashboard_client, caplog: pytest.LogCaptureFixture) -> None:
    host = dashboard_host(HOST_TOML)
    caplog.set_level(logging.DEBUG)  # a classified fault's traceback is written at DEBUG only
    response = dashboard_client(host).get("/api/reports/wip-by-workcenter")
    assert response.status_code >= 500
    logging.getLogger("sqlalchemy.engine").warning("engine %s", CLOSED_PORT_URL)
    records = [r for r in caplog.records
               if r.name == "dashboard.errors" and r.levelno == logging.DEBUG]
    assert records and records[0].exc_text, "the database fault was logged with its traceback"
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert "S3cr@t-pw" not in text and "S3cr%40t-pw" not in text
    assert "postgresql+psycopg://mes:***@127.0.0.1:1/mes" in text
