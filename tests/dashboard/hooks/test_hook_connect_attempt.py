"""``dashboard_db_connect_attempt``: only new connections pass through it, after the checkout
gate, and the attempt's end is the next checkout (it connected) or outcome (it failed).

A plugin defined here records the database hooks while an in-process host serves requests on
SQLite (real engines, real pool): a pooled checkout makes no attempt, a refusal at the attempt
stops the connection, and a connection that cannot be opened reports its fault after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from werkzeug.test import Client

from dashboard import contract, hookimpl
from dashboard.db.faults import DbOutcome
from dashboard.host import Host


class Refused(Exception):
    """Raised by the recorder when told to refuse the next attempt."""


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.refuse = False

    @hookimpl
    def dashboard_db_checkout(self, host: Host) -> None:
        self.calls.append("checkout")

    @hookimpl
    def dashboard_db_connect_attempt(self, host: Host) -> None:
        self.calls.append(f"attempt:{threading.get_ident()}")
        if self.refuse:
            raise Refused

    @hookimpl
    def dashboard_db_outcome(self, host: Host, outcome: DbOutcome) -> None:
        self.calls.append(f"outcome:{outcome.fault.value if outcome.fault else None}")

    @hookimpl
    def dashboard_map_exception(self, exc: BaseException, environ: Any) -> Any:
        if isinstance(exc, Refused):
            return contract.prepared_error(environ, "CIRCUIT_BREAKER_OPEN", retry_after=1)
        return None


def make_app(host: Host) -> Any:
    broken = create_engine(f"sqlite:///{host.runtime_dir}/missing-dir/no.db")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        engine = broken if environ["PATH_INFO"] == "/broken" else host.engine
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return contract.success_response(environ, None)(environ, start_response)

    return app


TOML = """
[dashboard]
plugins = ["recorder"]
app_factory = "tests.dashboard.hooks.test_hook_connect_attempt:make_app"
"""


def serve(dashboard_host: Callable[..., Host]) -> tuple[Recorder, Client, Host]:
    recorder = Recorder()
    host = dashboard_host(TOML, plugins={"recorder": recorder})
    return recorder, Client(host.build_app()), host


def test_a_new_connection_passes_the_attempt_gate_once_a_pooled_one_never(
        dashboard_host: Callable[..., Host]) -> None:
    recorder, client, _host = serve(dashboard_host)
    me = threading.get_ident()
    assert client.get("/").status_code == 200
    # the checkout gate, then the attempt; its end: the pool hands the connection out
    assert recorder.calls == ["checkout", f"attempt:{me}", "checkout", "outcome:None"]
    recorder.calls.clear()
    assert client.get("/").status_code == 200
    assert recorder.calls == ["checkout", "outcome:None"]  # pooled: no attempt


def test_a_refusal_at_the_attempt_opens_no_connection(
        dashboard_host: Callable[..., Host]) -> None:
    recorder, client, host = serve(dashboard_host)
    recorder.refuse = True
    response = client.get("/")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "CIRCUIT_BREAKER_OPEN"
    assert host.engine.pool.checkedin() == 0 and host.engine.pool.checkedout() == 0


def test_a_failed_attempt_ends_with_its_outcome(dashboard_host: Callable[..., Host]) -> None:
    recorder, client, _host = serve(dashboard_host)
    assert client.get("/broken").status_code >= 500
    me = threading.get_ident()
    assert recorder.calls == ["checkout", f"attempt:{me}", "outcome:connection_failed"]
