"""MySQL/MariaDB through the real server on this machine: statement timeout and fault codes.

The engine built from ``[database]`` sets MariaDB's ``max_statement_time`` (MySQL's
``max_execution_time``) on every connection; an overrunning statement must end as a classified
query timeout, and an unreachable server as a connection failure.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from dashboard.config.sections import DatabaseSection
from dashboard.db.engine import build_engine
from dashboard.db.faults import Fault, classify
from tests.support.server import free_port

MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture
def engine():
    engine = build_engine(DatabaseSection(url=MARIADB_URL, call_timeout_ms=300, pool_size=2,
                                          max_overflow=1, pool_timeout=4, connect_timeout=3))
    yield engine
    engine.dispose()


def test_pool_settings_are_the_configured_ones(engine) -> None:
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool.timeout()) == (2, 1, 4)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1


def test_statement_past_call_timeout_is_cut_and_classified(engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(text("SELECT SLEEP(0.05)")).scalar_one() == 0
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            connection.execute(text("SELECT SLEEP(5)"))
        elapsed = time.monotonic() - started
    assert elapsed < 2
    assert classify(raised.value) is Fault.QUERY_TIMEOUT


def test_unreachable_server_is_a_connection_failure() -> None:
    engine = build_engine(DatabaseSection(
        url=f"mysql+pymysql://root@127.0.0.1:{free_port()}/test", connect_timeout=2))
    with pytest.raises(Exception) as raised:
        engine.connect()
    engine.dispose()
    assert classify(raised.value) is Fault.CONNECTION_FAILED


def test_sql_error_is_a_query_error(engine) -> None:
    with engine.connect() as connection, pytest.raises(Exception) as raised:
        connection.execute(text("SELECT * FROM no_such_table_here"))
    assert classify(raised.value) is Fault.QUERY_ERROR
