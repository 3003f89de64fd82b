"""``examples/wsgi-sqlalchemy-app`` (plain WSGI on Werkzeug, its own ``create_engine``) hosted by
its ``hosted.toml`` alone.

The same drill as the Flask example's, through real gunicorn with PostgreSQL behind the fault
proxy: slow statement, locked table with the pool exhausted behind it, deadlock, frozen and
refused database, each answered as docs/host-your-own-app.md says within its bound (the app's own
catch-all HTML 500 replaced by the contract answer), ``/health/deep`` following the app's engine,
the fallback standing in for its plain JSON, no traceback in the log.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import pg_url_for
from tests.examples import hosting
from tests.examples.hosting import assert_contract, timed
from tests.support.faultproxy import FaultProxy
from tests.support.server import Server

EXAMPLE = "wsgi-sqlalchemy-app"


@dataclass
class Running:
    server: Server
    proxy: FaultProxy
    database: str
    direct_url: str


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    directory = hosting.copy_example(EXAMPLE, tmp_path)
    with hosting.databases(1) as (database,), FaultProxy() as proxy:
        env = {"STOCKAPI_DATABASE_URL": proxy.url_for(pg_url_for(database))}
        hosting.run(["python", "stockapi.py", "init-db", "40000"], directory, env)
        with hosting.hosted(directory, env) as server:
            yield Running(server, proxy, database, pg_url_for(database))
        hosting.assert_clean_log(server)


def test_the_toml_is_all_the_operator_writes_and_the_app_does_not_import_dashboard() -> None:
    config = tomllib.loads((hosting.EXAMPLES / EXAMPLE / "hosted.toml").read_text())
    assert config["dashboard"]["app_factory"] == "stockapi:app"
    assert "url" not in config["database"]
    assert (config["database"]["connect_timeout"], config["database"]["call_timeout_ms"],
            config["database"]["pool_timeout"], config["database"]["pool_size"]) == (
        hosting.CONNECT_TIMEOUT, hosting.CALL_TIMEOUT_S * 1000, hosting.POOL_TIMEOUT,
        hosting.POOL_SIZE)
    assert "dashboard" not in (hosting.EXAMPLES / EXAMPLE / "stockapi.py").read_text()


def test_plain_wsgi_app_slow_locked_exhausted_and_deadlocked_get_the_contract_answers(
        running: Running) -> None:
    server = running.server
    levels = server.get("/api/levels")
    assert levels.status_code == 200 and [row["sku"] for row in levels.json()] == [
        "SKU-1", "SKU-2", "SKU-3"]
    assert "3 SKUs" in server.get("/").text

    slow, took = timed(server, "GET", "/api/levels/SKU-1/history")
    assert_contract(slow, "DB_QUERY_TIMEOUT", 504)
    assert took < hosting.CALL_TIMEOUT_S + 1, took
    hosting.successes(server, "/api/levels/SKU-3", 10)

    with hosting.holding(running.direct_url, "LOCK TABLE levels IN ACCESS EXCLUSIVE MODE"):
        blocked = [hosting.in_thread(lambda: timed(server, "GET", "/api/levels/SKU-2"))
                   for _ in range(hosting.POOL_SIZE)]
        hosting.wait_for(lambda: hosting.lock_waiters(running.direct_url, running.database)
                         >= hosting.POOL_SIZE, what="the app's statements waiting on the lock")
        exhausted, took = timed(server, "GET", "/api/levels?warehouse=north")
        assert_contract(exhausted, "DB_POOL_EXHAUSTED", 503)
        assert took < hosting.POOL_TIMEOUT + 1, took
        for result in blocked:
            answer, took = result()
            assert_contract(answer, "DB_QUERY_TIMEOUT", 504)
            assert took < hosting.CALL_TIMEOUT_S + 1, took
    hosting.successes(server, "/api/levels/SKU-3", 10)
    assert hosting.breaker_state(server) == "CLOSED"

    with hosting.holding(running.direct_url, "SET LOCAL deadlock_timeout = '30s'",
                         "UPDATE levels SET quantity = quantity WHERE sku = 'SKU-2'") as other:
        move = hosting.in_thread(lambda: timed(
            server, "POST", "/api/moves", json={"from": "SKU-1", "to": "SKU-2", "quantity": 5}))
        hosting.wait_for(lambda: hosting.lock_waiters(running.direct_url, running.database) >= 1,
                         what="the move waiting on SKU-2")
        other.exec_driver_sql("UPDATE levels SET quantity = quantity WHERE sku = 'SKU-1'")
        answer, _took = move()
    assert_contract(answer, "DB_CONFLICT", 503, retry_after=1)
    assert hosting.breaker_state(server) == "CLOSED"
    assert server.get("/api/levels/SKU-1").json()["quantity"] == 500  # rolled back whole
    again, _ = timed(server, "POST", "/api/moves",
                     json={"from": "SKU-1", "to": "SKU-2", "quantity": 5})
    assert again.status_code == 201


def test_plain_wsgi_app_frozen_and_refused_database_fallback_and_health_follow_its_engine(
        running: Running) -> None:
    server, proxy = running.server, running.proxy
    kept = server.get("/api/levels?warehouse=north")
    assert kept.status_code == 200 and len(kept.json()) == 2
    database = server.get("/health/deep").json()["checks"]["database"]
    assert database["status"] == "pass" and len(database["engines"]) == 1

    proxy.refuse()
    proxy.hang()
    frozen, took = timed(server, "GET", "/api/levels/SKU-3")
    assert_contract(frozen, "DB_CONNECTION_FAILED", 503)
    assert took < hosting.CONNECT_TIMEOUT + 1, took

    proxy.refuse()
    codes = []
    for _ in range(8):
        refused, _ = timed(server, "GET", "/api/levels/SKU-2")
        assert refused.status_code == 503 and "<html" not in refused.text.lower()
        codes.append(refused.json()["error"]["code"])
    assert set(codes) <= {"DB_CONNECTION_FAILED", "CIRCUIT_BREAKER_OPEN"}, codes
    assert codes[-1] == "CIRCUIT_BREAKER_OPEN"
    assert_contract(server.get("/"), "CIRCUIT_BREAKER_OPEN", 503)  # not the app's HTML 500
    stale = server.get("/api/levels?warehouse=north")
    assert stale.status_code == 200 and stale.content == kept.content
    assert stale.headers["X-Dashboard-Stale"] in {"CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED"}
    assert stale.headers["Cache-Control"] == "no-store" and "Age" in stale.headers

    def failing() -> bool:
        return server.get("/health/deep").json()["checks"]["database"]["status"] == "fail"

    hosting.wait_for(failing, timeout=20, what="/health/deep following the app's engine")
