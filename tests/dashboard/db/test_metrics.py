"""Statement and pool-wait histograms of the host's engine, and hidden bound parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import exc, text

from dashboard.config.sections import DatabaseSection
from dashboard.db.engine import build_engine
from dashboard.db.metrics import instrument_engine


def value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def engine_for(tmp_path: Path, **settings: object):  # type: ignore[no-untyped-def]
    section = DatabaseSection(url=f"sqlite:///{tmp_path / 'db.sqlite'}", **settings)
    return instrument_engine(build_engine(section))


def test_statements_are_timed_failed_ones_too(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    before = value("dashboard_db_statement_duration_seconds_count")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        with pytest.raises(exc.OperationalError):
            connection.execute(text("SELECT * FROM no_such_table"))
    assert value("dashboard_db_statement_duration_seconds_count") - before == 2
    engine.dispose()


def test_a_pool_timeout_is_observed_at_its_full_wait(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, pool_size=1, max_overflow=0, pool_timeout=0.3)
    held = engine.connect()
    count, total = (value("dashboard_db_pool_wait_seconds_count"),
                    value("dashboard_db_pool_wait_seconds_sum"))
    with pytest.raises(exc.TimeoutError):
        engine.connect()
    assert value("dashboard_db_pool_wait_seconds_count") - count == 1
    assert value("dashboard_db_pool_wait_seconds_sum") - total >= 0.29
    held.close()
    engine.dispose()  # a new pool: still timed
    with engine.connect():
        pass
    assert value("dashboard_db_pool_wait_seconds_count") - count == 2


def test_bound_parameters_never_reach_an_error_message(tmp_path: Path) -> None:
    engine = engine_for(tmp_path)
    with engine.connect() as connection, pytest.raises(exc.OperationalError) as raised:
        connection.execute(text("SELECT * FROM no_such_table WHERE token = :token"),
                           {"token": "tok-very-secret-42"})
    assert "tok-very-secret-42" not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
    engine.dispose()
