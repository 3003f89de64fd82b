"""``dashboard_db_statement_started``: one call per statement, before its outcome, in its thread.

A plugin defined here records the database hooks while an in-process host serves requests on
SQLite: each statement's start comes before its outcome (also for a failing statement and for
an engine the app created itself), and engines excluded from observation stay silent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from werkzeug.test import Client

from dashboard import contract, hookimpl
from dashboard.db.engine import exclude_from_observation
from dashboard.db.faults import DbOutcome
from dashboard.host import Host


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, Any]] = []

    @hookimpl
    def dashboard_db_statement_started(self, host: Host) -> None:
        self.calls.append(("started", threading.get_ident(), None))

    @hookimpl
    def dashboard_db_outcome(self, host: Host, outcome: DbOutcome) -> None:
        fault = outcome.fault.value if outcome.fault is not None else None
        self.calls.append(("outcome", threading.get_ident(), fault))


def make_app(host: Host) -> Any:
    own = create_engine(host.settings.database.url)
    quiet = exclude_from_observation(create_engine(host.settings.database.url))
    engines = {"/host": host.engine, "/own": own, "/quiet": quiet}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        engine = engines[environ["PATH_INFO"]]
        sql = "SELECT no_such_column" if environ.get("QUERY_STRING") == "fail" else "SELECT 1"
        with engine.connect() as connection:
            connection.execute(text(sql))
            connection.execute(text("SELECT 2"))
        return contract.success_response(environ, None)(environ, start_response)

    return app


TOML = """
[dashboard]
plugins = ["recorder"]
app_factory = "tests.dashboard.hooks.test_hook_statement_started:make_app"
"""


def test_each_statement_starts_before_its_outcome_in_its_own_thread(
        dashboard_host: Callable[..., Host]) -> None:
    recorder = Recorder()
    client = Client(dashboard_host(TOML, plugins={"recorder": recorder}).build_app())
    me = threading.get_ident()
    for path in ("/host", "/own"):
        recorder.calls.clear()
        assert client.get(path).status_code == 200
        assert recorder.calls == [("started", me, None), ("outcome", me, None)] * 2, path


def test_a_failing_statement_also_starts_first(dashboard_host: Callable[..., Host]) -> None:
    recorder = Recorder()
    client = Client(dashboard_host(TOML, plugins={"recorder": recorder}).build_app())
    assert client.get("/host?fail").status_code == 500
    assert [kind for kind, _, _ in recorder.calls] == ["started", "outcome"]
    assert recorder.calls[-1][2] == "query_error"


def test_excluded_engines_are_not_reported(dashboard_host: Callable[..., Host]) -> None:
    recorder = Recorder()
    client = Client(dashboard_host(TOML, plugins={"recorder": recorder}).build_app())
    assert client.get("/quiet").status_code == 200
    assert recorder.calls == []
