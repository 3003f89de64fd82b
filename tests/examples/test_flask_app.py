"""``examples/flask-app`` (Flask + Flask-SQLAlchemy, two binds) hosted by its ``hosted.toml`` alone.

Through real gunicorn, PostgreSQL behind the fault proxy: a slow statement, a locked table with
the pool exhausted behind it, a real deadlock, a database frozen on connect and one refused are
each answered as docs/host-your-own-app.md says, within their bounds; ``/health/deep`` follows
the app's two engines; the fallback stands in for the app's plain JSON with
``X-Dashboard-Stale``; no HTML 500 page, no traceback in the log.
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

EXAMPLE = "flask-app"


@dataclass
class Running:
    server: Server
    proxy: FaultProxy
    main_db: str
    direct_url: str  # the main database, not through the proxy (the test's own connections)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    directory = hosting.copy_example(EXAMPLE, tmp_path)
    with hosting.databases(2) as (main_db, audit_db), FaultProxy() as proxy:
        # The password is ignored by the trust login and must never be shown (health masks it).
        env = {"INVENTORY_DATABASE_URL": proxy.url_for(
                   pg_url_for(main_db).replace("postgres@", "postgres:s3cret@")),
               "INVENTORY_AUDIT_DATABASE_URL": proxy.url_for(pg_url_for(audit_db))}
        hosting.run(["flask", "--app", "inventory", "init-db"], directory, env)
        direct = pg_url_for(main_db)
        with hosting.holding(direct, "INSERT INTO movements (part_id, quantity, note, at) "
                                     "SELECT 2, 1, 'count', now() "
                                     "FROM generate_series(1, 40000)") as seeding:
            seeding.commit()
        with hosting.hosted(directory, env) as server:
            yield Running(server, proxy, main_db, direct)
        hosting.assert_clean_log(server)


def test_the_toml_is_all_the_operator_writes_and_the_app_does_not_import_dashboard() -> None:
    config = tomllib.loads((hosting.EXAMPLES / EXAMPLE / "hosted.toml").read_text())
    assert config["dashboard"]["app_factory"] == "inventory:create_app"
    assert "url" not in config["database"]
    assert (config["database"]["connect_timeout"], config["database"]["call_timeout_ms"],
            config["database"]["pool_timeout"], config["database"]["pool_size"]) == (
        hosting.CONNECT_TIMEOUT, hosting.CALL_TIMEOUT_S * 1000, hosting.POOL_TIMEOUT,
        hosting.POOL_SIZE)
    sources = list((hosting.EXAMPLES / EXAMPLE).rglob("*.py"))
    assert sources and not [path for path in sources if "dashboard" in path.read_text()]


def test_flask_app_slow_locked_exhausted_and_deadlocked_get_the_contract_answers(
        running: Running) -> None:
    server = running.server
    parts = server.get("/api/parts")
    assert parts.status_code == 200 and [p["number"] for p in parts.json()] == [
        "P-100", "P-200", "P-300"]
    page = server.get("/")
    assert page.status_code == 200 and "<h1>Inventory</h1>" in page.text
    assert server.get("/api/audit").json() == []

    # A slow statement (the ledger's running balance over 40,000 movements): 504 in its bound.
    slow, took = timed(server, "GET", "/api/parts/2/ledger")
    assert_contract(slow, "DB_QUERY_TIMEOUT", 504)
    assert took < hosting.CALL_TIMEOUT_S + 1, took
    hosting.successes(server, "/api/parts/3", 10)

    # A table locked by another connection: the pool's 3 connections wait on it (504 each when
    # the statement bound passes), and a 4th request waits for a connection (503 in its bound).
    with hosting.holding(running.direct_url, "LOCK TABLE parts IN ACCESS EXCLUSIVE MODE"):
        blocked = [hosting.in_thread(lambda: timed(server, "GET", "/api/parts/1"))
                   for _ in range(hosting.POOL_SIZE)]
        hosting.wait_for(lambda: hosting.lock_waiters(running.direct_url, running.main_db)
                         >= hosting.POOL_SIZE, what="the app's statements waiting on the lock")
        exhausted, took = timed(server, "GET", "/api/parts?location=A1")
        assert_contract(exhausted, "DB_POOL_EXHAUSTED", 503)
        assert took < hosting.POOL_TIMEOUT + 1, took
        for result in blocked:
            answer, took = result()
            assert_contract(answer, "DB_QUERY_TIMEOUT", 504)
            assert took < hosting.CALL_TIMEOUT_S + 1, took
    hosting.successes(server, "/api/parts/3", 10)
    assert hosting.breaker_state(server) == "CLOSED"

    # A real deadlock: the app's transfer locks part 1 then part 2; the test holds part 2, waits
    # until the app waits on it, then asks for part 1. PostgreSQL aborts the app's transaction.
    with hosting.holding(running.direct_url, "SET LOCAL deadlock_timeout = '30s'",
                         "UPDATE parts SET stock = stock WHERE id = 2") as other:
        transfer = hosting.in_thread(lambda: timed(
            server, "POST", "/api/transfers", json={"from_part": 1, "to_part": 2,
                                                     "quantity": 5}))
        hosting.wait_for(lambda: hosting.lock_waiters(running.direct_url, running.main_db) >= 1,
                         what="the transfer waiting on part 2")
        other.exec_driver_sql("UPDATE parts SET stock = stock WHERE id = 1")
        answer, _took = transfer()
    assert_contract(answer, "DB_CONFLICT", 503, retry_after=1)
    assert hosting.breaker_state(server) == "CLOSED"  # the database was up: nothing counted
    retried = server.get("/api/parts/1")
    assert retried.status_code == 200 and retried.json()["stock"] == 120  # rolled back whole
    again, _ = timed(server, "POST", "/api/transfers",
                     json={"from_part": 1, "to_part": 2, "quantity": 5})
    assert again.status_code == 201 and again.json()["source"]["stock"] == 115
    assert [e["action"] for e in server.get("/api/audit").json()] == ["transfer"]


def test_flask_app_frozen_and_refused_database_fallback_and_health_follow_its_engines(
        running: Running) -> None:
    server, proxy = running.server, running.proxy
    kept = server.get("/api/parts")
    assert kept.status_code == 200
    deep = server.get("/health/deep").json()
    database = deep["checks"]["database"]
    assert database["status"] == "pass"
    assert len(database["engines"]) == 2  # the default bind and the audit bind
    assert "s3cret" not in server.get("/health/deep").text

    # Frozen on connect: the pooled connection is cut, new ones hear nothing.
    proxy.refuse()
    proxy.hang()
    frozen, took = timed(server, "GET", "/api/parts/3")
    assert_contract(frozen, "DB_CONNECTION_FAILED", 503)
    assert took < hosting.CONNECT_TIMEOUT + 1, took

    # Refused: contract answers only, the breaker opens; the kept plain JSON stands in.
    proxy.refuse()
    codes = []
    for _ in range(8):
        refused, _ = timed(server, "GET", "/api/parts/2")
        assert refused.status_code == 503 and "<html" not in refused.text.lower()
        codes.append(refused.json()["error"]["code"])
    assert set(codes) <= {"DB_CONNECTION_FAILED", "CIRCUIT_BREAKER_OPEN"}, codes
    assert codes[-1] == "CIRCUIT_BREAKER_OPEN"
    page = server.get("/")
    assert_contract(page, "CIRCUIT_BREAKER_OPEN", 503)  # the HTML page too: no Flask 500 page
    stale = server.get("/api/parts")
    assert stale.status_code == 200
    assert stale.content == kept.content
    assert stale.headers["X-Dashboard-Stale"] in {"CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED"}
    assert stale.headers["Cache-Control"] == "no-store" and "Age" in stale.headers

    def failing() -> bool:
        payload = server.get("/health/deep").json()
        return payload["checks"]["database"]["status"] == "fail"

    hosting.wait_for(failing, timeout=20, what="/health/deep following the app's engines")
