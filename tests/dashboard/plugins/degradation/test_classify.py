"""``dashboard.db.faults.classify`` on the exceptions drivers really raise.

PostgreSQL and SQLite errors come from real servers and files (rejected logins from a fake
server speaking the wire protocol, since the shared server trusts everyone). MySQL and Oracle
drivers are not installed here: their errors are stand-ins with the drivers' module names and
argument shapes (PyMySQL: ``(code, message)``; python-oracledb: ``"ORA-01013: ..."``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from dashboard.config.sections import DatabaseSection
from dashboard.db.engine import build_engine
from dashboard.db.faults import Fault, classify
from tests.conftest import PG_ADMIN_URL
from tests.dashboard.plugins.degradation.fakepg import rejecting_server
from tests.support.faultproxy import FaultProxy


@pytest.fixture(scope="module")
def pg() -> Iterator[Engine]:
    engine = create_engine(PG_ADMIN_URL, pool_size=2, connect_args={"connect_timeout": 3})
    yield engine
    engine.dispose()


def raised(engine: Engine, sql: str) -> BaseException:
    with pytest.raises(Exception) as info, engine.connect() as connection:
        connection.execute(text(sql))
    return info.value


# -- PostgreSQL, real server ---------------------------------------------------------------

def test_statement_timeout_57014_is_query_timeout(pg: Engine) -> None:
    with pytest.raises(sa_exc.OperationalError) as info, pg.connect() as connection:
        connection.execute(text("SET statement_timeout = 50"))
        connection.execute(text("SELECT pg_sleep(2)"))
    assert info.value.orig.sqlstate == "57014"
    assert classify(info.value) is Fault.QUERY_TIMEOUT


def test_terminated_backend_57p01_is_connection_failed(pg: Engine) -> None:
    error = raised(pg, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert classify(error) is Fault.CONNECTION_FAILED


@pytest.mark.parametrize("sql", [
    "SELEC 1",                                     # 42601 syntax error
    "SELECT * FROM no_such_table_here",            # 42P01 undefined table
    "SELECT 1 / 0",                                # 22012 division by zero
    "SELECT 'x'::int",                             # 22P02 invalid text representation
])
def test_the_apps_own_sql_errors_are_query_errors(pg: Engine, sql: str) -> None:
    assert classify(raised(pg, sql)) is Fault.QUERY_ERROR


def test_constraint_violation_is_a_query_error(pg: Engine) -> None:
    with pytest.raises(sa_exc.IntegrityError) as info, pg.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE t (id int PRIMARY KEY)"))
        connection.execute(text("INSERT INTO t VALUES (1), (1)"))
    assert classify(info.value) is Fault.QUERY_ERROR


def test_refused_connection_is_connection_failed() -> None:
    with FaultProxy() as proxy:
        proxy.refuse()
        engine = create_engine(proxy.url_for(PG_ADMIN_URL))
        error = raised(engine, "SELECT 1")
        engine.dispose()
    assert classify(error) is Fault.CONNECTION_FAILED


def test_connection_cut_mid_query_is_connection_failed_and_invalidated() -> None:
    with FaultProxy() as proxy:
        engine = create_engine(proxy.url_for(PG_ADMIN_URL), pool_pre_ping=False)
        threading.Timer(0.3, proxy.cut).start()
        error = raised(engine, "SELECT pg_sleep(3)")
        assert isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
        assert classify(error) is Fault.CONNECTION_FAILED
        with engine.connect() as connection:  # the pool replaced it
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        engine.dispose()


def test_unknown_role_is_auth_failed() -> None:
    engine = create_engine("postgresql+psycopg://no_such_role_here@127.0.0.1:5432/postgres")
    error = raised(engine, "SELECT 1")
    engine.dispose()
    assert classify(error) is Fault.AUTH_FAILED


def test_rejected_password_28p01_is_auth_failed() -> None:
    with rejecting_server("28P01") as port:
        engine = create_engine(f"postgresql+psycopg://mes:wrong@127.0.0.1:{port}/mes")
        error = raised(engine, "SELECT 1")
        engine.dispose()
    assert classify(error) is Fault.AUTH_FAILED


def test_missing_password_is_auth_failed_whatever_the_server_language(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    german = "Passwort-Authentifizierung fehlgeschlagen"
    with rejecting_server("28P01", german) as port, pytest.raises(psycopg.OperationalError
                                                                  ) as info:
        psycopg.connect(f"host=127.0.0.1 port={port} user=mes dbname=mes")
    assert classify(info.value) is Fault.AUTH_FAILED


def test_too_many_clients_after_a_password_is_not_auth() -> None:
    too_many = "sorry, too many clients already"
    with rejecting_server("53300", too_many) as port, pytest.raises(psycopg.OperationalError
                                                                    ) as info:
        psycopg.connect(f"host=127.0.0.1 port={port} user=mes password=ok dbname=mes")
    assert classify(info.value) is Fault.CONNECTION_FAILED


def test_pool_timeout_is_pool_exhausted(pg: Engine) -> None:
    engine = create_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0, pool_timeout=0.1)
    with engine.connect(), pytest.raises(sa_exc.TimeoutError) as info:
        engine.connect()
    engine.dispose()
    assert classify(info.value) is Fault.POOL_EXHAUSTED


# -- SQLite, real files --------------------------------------------------------------------

def test_sqlite_interrupted_by_the_statement_deadline_is_query_timeout(tmp_path: Path) -> None:
    engine = build_engine(DatabaseSection(url=f"sqlite:///{tmp_path / 'x.db'}",
                                          call_timeout_ms=50))
    error = raised(engine, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                           "SELECT count(*) FROM c")
    engine.dispose()
    assert classify(error) is Fault.QUERY_TIMEOUT


def test_sqlite_unopenable_file_is_connection_failed(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    assert classify(raised(engine, "SELECT 1")) is Fault.CONNECTION_FAILED


def test_sqlite_syntax_error_is_a_query_error(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert classify(raised(engine, "SELEC 1")) is Fault.QUERY_ERROR


# -- MySQL and Oracle, by the drivers' shapes ----------------------------------------------

def _driver_error(module: str, name: str, *args: object) -> BaseException:
    cls = type(name, (Exception,), {"__module__": module})
    return cls(*args)


def _wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("SELECT 1", {}, orig)  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "fault"), [
    (3024, Fault.QUERY_TIMEOUT), (1969, Fault.QUERY_TIMEOUT), (1317, Fault.QUERY_TIMEOUT),
    (2003, Fault.CONNECTION_FAILED), (2006, Fault.CONNECTION_FAILED),
    (2013, Fault.CONNECTION_FAILED), (4031, Fault.CONNECTION_FAILED),
    (1053, Fault.CONNECTION_FAILED), (1045, Fault.AUTH_FAILED), (1146, Fault.QUERY_ERROR),
])
def test_mysql_codes(code: int, fault: Fault) -> None:
    orig = _driver_error("pymysql.err", "OperationalError", code, "text not read")
    assert classify(_wrapped(orig)) is fault


@pytest.mark.parametrize(("message", "fault"), [
    ("ORA-01013: user requested cancel of current operation", Fault.QUERY_TIMEOUT),
    ("DPY-4024: call timeout of 1000 ms exceeded", Fault.QUERY_TIMEOUT),
    ("ORA-12514: TNS:listener does not currently know of service", Fault.CONNECTION_FAILED),
    ("ORA-12541: TNS:no listener", Fault.CONNECTION_FAILED),
    ("ORA-03113: end-of-file on communication channel", Fault.CONNECTION_FAILED),
    ("ORA-03135: connection lost contact", Fault.CONNECTION_FAILED),
    ("ORA-00028: your session has been killed", Fault.CONNECTION_FAILED),
    ("DPY-6005: cannot connect to database", Fault.CONNECTION_FAILED),
    ("ORA-01017: invalid username/password; logon denied", Fault.AUTH_FAILED),
    ("ORA-00942: table or view does not exist", Fault.QUERY_ERROR),
])
def test_oracle_codes(message: str, fault: Fault) -> None:
    orig = _driver_error("oracledb.exceptions", "DatabaseError", message)
    assert classify(_wrapped(orig)) is fault


def test_sqlalchemy_disconnection_and_non_database_errors() -> None:
    assert classify(sa_exc.DisconnectionError("gone")) is Fault.CONNECTION_FAILED
    assert classify(sa_exc.InvalidRequestError("misuse")) is Fault.QUERY_ERROR
    assert classify(ValueError("not a database error")) is None
    assert classify(KeyError("x")) is None
