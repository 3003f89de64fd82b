"""The client-side deadline: frozen connections are cut after the configured timeouts.

A proxy that freezes live connections (the server's kernel still acknowledges, nothing answers)
is the one hang no server-side statement timeout and no TCP keepalive can end. (The watcher
itself is tested in ``tests/dashboard/db/test_deadline.py``.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from werkzeug.test import Client

from dashboard.host import Host
from dashboard.plugins.degradation.deadline import statement_deadline_seconds
from tests.support.faultproxy import FaultProxy


def test_the_server_gets_the_first_chance_to_cancel() -> None:
    assert statement_deadline_seconds(500) == pytest.approx(1.5)
    assert statement_deadline_seconds(55000) == pytest.approx(60.5)


def test_a_statement_on_a_frozen_connection_ends_as_connection_failed(
        dashboard_host: Callable[..., Host], pg_url: str) -> None:
    with FaultProxy() as proxy:
        host = dashboard_host(f"""
            [dashboard]
            plugins = ["breaker", "degradation"]
            app_factory = "tests.dashboard.plugins.degradation.apps:create_app"
            [database]
            url = "{proxy.url_for(pg_url)}"
            pool_pre_ping = false
            call_timeout_ms = 500
            connect_timeout = 2
        """)
        client = Client(host.build_app())
        assert client.get("/query").status_code == 200
        proxy.hang()  # the pooled connection is now frozen
        started = time.monotonic()
        response = client.get("/query")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "DB_CONNECTION_FAILED"
        assert 1.2 < elapsed < 5  # call_timeout 0.5 s + 1 s grace, not forever
        proxy.pass_through()
        assert client.get("/query").status_code == 200  # a fresh connection
        breaker = client.get("/breaker").get_json()["data"]
        assert breaker["failure_rate"] > 0
