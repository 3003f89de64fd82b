"""``DB_CONFLICT``: deadlocks, serialization failures and lock wait timeouts are retryable 503s.

The classification is read from the drivers' own exception classes where the driver is installed
(psycopg's ``DeadlockDetected``..., PyMySQL's ``OperationalError(code, text)``) and from a
stand-in with python-oracledb's module name and message shape otherwise. Then a real deadlock,
on PostgreSQL and on MariaDB, through the host: two requests lock two rows in opposite order
(synchronised by events, no sleep); the one the database picks as the victim is answered
``503 DB_CONFLICT`` with ``Retry-After: 1``, the other completes, and the breaker counts no
failure (the database was up all along).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pymysql
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from werkzeug.test import Client, TestResponse

from dashboard import contract
from dashboard.db.faults import Fault, classify
from dashboard.host import Host
from dashboard.plugins.degradation.mapping import answer_for
from dashboard.plugins.degradation.settings import DegradationSettings
from tests.dashboard.plugins.degradation import conflict_app

MARIADB_SERVER = "mysql+pymysql://root@127.0.0.1:3306/"


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("UPDATE t SET n = n + 1", {}, orig)  # type: ignore[arg-type]


def oracle_error(message: str) -> BaseException:
    cls = type("DatabaseError", (Exception,), {"__module__": "oracledb.exceptions"})
    return cls(message)


@pytest.mark.parametrize("orig", [
    psycopg.errors.DeadlockDetected("deadlock detected"),                  # 40P01
    psycopg.errors.SerializationFailure("could not serialize access"),     # 40001
    psycopg.errors.LockNotAvailable("could not obtain lock on row"),       # 55P03
    pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"),
    pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"),
    oracle_error("ORA-00060: deadlock detected while waiting for resource"),
], ids=["pg-40P01", "pg-40001", "pg-55P03", "mysql-1213", "mysql-1205", "oracle-ORA-00060"])
def test_conflicts_of_every_dialect_are_classified_conflict(orig: BaseException) -> None:
    assert classify(wrapped(orig)) is Fault.CONFLICT
    assert classify(orig) is Fault.CONFLICT  # also raised bare, past SQLAlchemy
    assert not Fault.CONFLICT.is_availability_failure


def test_sqlite_database_is_locked_is_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (n int)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
        with pytest.raises(sa_exc.OperationalError) as info, engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        engine.dispose()
    finally:
        holder.close()
    assert classify(info.value) is Fault.CONFLICT


@pytest.mark.parametrize("orig", [
    psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    pymysql.err.OperationalError(3024, "maximum statement execution time exceeded"),
    oracle_error("ORA-01013: user requested cancel of current operation"),
    psycopg.errors.UniqueViolation("duplicate key"),
])
def test_timeouts_and_other_errors_are_not_conflicts(orig: BaseException) -> None:
    assert classify(wrapped(orig)) is not Fault.CONFLICT


def test_conflict_answer_uses_conflict_retry_after() -> None:
    answer = answer_for(Fault.CONFLICT, DegradationSettings(conflict_retry_after=3))
    assert (answer.code, answer.retryable, answer.retry_after) == ("DB_CONFLICT", True, 3)
    assert DegradationSettings().conflict_retry_after == 1
    spec = contract.ERROR_CODES["DB_CONFLICT"]
    assert (spec.status, spec.retryable) == (503, True)
    assert "DB_CONFLICT" in contract.DEGRADED_CODES


@pytest.mark.parametrize("value", [0, -1, 86_401, "soon"])
def test_conflict_retry_after_is_validated_like_the_others(value: object) -> None:
    with pytest.raises(ValueError):
        DegradationSettings(conflict_retry_after=value)  # type: ignore[arg-type]


def test_mes_api_retries_db_conflict_like_the_other_degraded_codes() -> None:
    source = (Path(contract.__file__).parent / "reports/static/mes-api.js").read_text()
    codes_line = source.split("var DEGRADED_CODES = [", 1)[1].split("]", 1)[0]
    assert '"DB_CONFLICT"' in codes_line


# -- a real deadlock through the host ---------------------------------------------------------

TOML = """
[dashboard]
plugins = ["breaker", "degradation"]
app_factory = "tests.dashboard.plugins.degradation.conflict_app:create_app"
[database]
url = "{url}"
pool_size = 4
max_overflow = 0
call_timeout_ms = 15000
[plugins.breaker]
window_size = 2
minimum_calls = 1
failure_rate_threshold = 0.5
"""


def deadlock(host: Host) -> list[TestResponse]:
    """Two requests that lock rows 1 and 2 in opposite order; their answers."""
    conflict_app.HELD.clear()
    conflict_app.HELD.update({1: threading.Event(), 2: threading.Event()})
    app = host.build_app()
    answers: dict[str, TestResponse] = {}

    def call(first: int, second: int) -> None:
        answers[f"{first}{second}"] = Client(app).get(f"/swap?first={first}&second={second}")

    threads = [threading.Thread(target=call, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return list(answers.values())


def assert_one_victim(host: Host, answers: list[TestResponse]) -> None:
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 503], [answer.get_data(as_text=True) for answer in answers]
    victim = next(answer for answer in answers if answer.status_code == 503)
    body = victim.get_json()
    assert body["error"] == {"code": "DB_CONFLICT", "retryable": True,
                             "message": contract.ERROR_CODES["DB_CONFLICT"].message}
    assert victim.headers["Retry-After"] == "1"
    assert body["meta"]["retry_after_seconds"] == 1
    assert "deadlock" not in victim.get_data(as_text=True).lower()
    checks = [check for group in host.hook.dashboard_health_checks(host=host, deep=False)
              for check in group if check.name == "breaker"]
    details = checks[0].payload()
    # One failure in a window of 2 with minimum 1 call would have opened it.
    assert details["state"] == "CLOSED" and details["failure_rate"] == 0.0


def make_table(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {conflict_app.TABLE}"))
        connection.execute(text(f"CREATE TABLE {conflict_app.TABLE} "
                                "(id int PRIMARY KEY, n int NOT NULL)"))
        connection.execute(text(f"INSERT INTO {conflict_app.TABLE} VALUES (1, 0), (2, 0)"))
    engine.dispose()


def test_real_postgresql_deadlock_is_db_conflict_and_not_a_breaker_failure(
        dashboard_host: Callable[..., Host], pg_url: str) -> None:
    make_table(pg_url)
    host = dashboard_host(TOML.format(url=pg_url))
    assert_one_victim(host, deadlock(host))


def test_real_mariadb_deadlock_is_db_conflict_and_not_a_breaker_failure(
        dashboard_host: Callable[..., Host]) -> None:
    database = f"dash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(MARIADB_SERVER)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
    try:
        url = f"{MARIADB_SERVER}{database}"
        make_table(url)
        host = dashboard_host(TOML.format(url=url))
        assert_one_victim(host, deadlock(host))
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        admin.dispose()
