"""The engine serving requests in a gunicorn worker uses exactly the configured pool settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import gunicorn_server

FACTORY = '[dashboard]\napp_factory = "tests.dashboard.apps:pool_probe_app"\nplugins = []\n'


def _live_pool(server) -> dict:
    response = server.get("/pool")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_toml_values_reach_the_live_engine(tmp_path: Path, pg_url: str) -> None:
    toml = FACTORY + f"""
[database]
url = "{pg_url}"
pool_size = 3
max_overflow = 4
pool_timeout = 7
call_timeout_ms = 4321
connect_timeout = 6
pool_recycle = 900
pool_pre_ping = false
"""
    with gunicorn_server(tmp_path, toml, workers=1, ready_path="/pool") as server:
        pool = _live_pool(server)
    assert pool == {**pool, "pool_class": "QueuePool", "pool_size": 3, "max_overflow": 4,
                    "pool_timeout": 7, "pool_recycle": 900, "pool_pre_ping": False,
                    "connect_timeout": 6, "statement_timeout": "4321ms"}


@pytest.mark.parametrize(("env_name", "value", "field", "expected"), [
    ("DB_POOL_SIZE", "2", "pool_size", 2),
    ("DB_MAX_OVERFLOW", "9", "max_overflow", 9),
    ("DB_POOL_TIMEOUT", "3", "pool_timeout", 3),
    ("DB_CALL_TIMEOUT_MS", "2500", "statement_timeout", "2500ms"),
    ("DB_CONNECT_TIMEOUT", "4", "connect_timeout", 4),
    ("DB_POOL_RECYCLE", "120", "pool_recycle", 120),
    ("DASHBOARD__DATABASE__POOL_PRE_PING", "false", "pool_pre_ping", False),
])
def test_each_env_override_reaches_the_live_engine(tmp_path: Path, pg_url: str, env_name: str,
                                                   value: str, field: str, expected: object
                                                   ) -> None:
    toml = FACTORY + f'[database]\nurl = "{pg_url}"\npool_size = 5\nmax_overflow = 1\n'
    with gunicorn_server(tmp_path, toml, workers=1, env={env_name: value},
                         ready_path="/pool") as server:
        pool = _live_pool(server)
    assert pool[field] == expected


def test_database_url_from_env_overrides_toml(tmp_path: Path, pg_url: str) -> None:
    toml = FACTORY + '[database]\nurl = "sqlite:///nowhere/never.db"\n'
    with gunicorn_server(tmp_path, toml, workers=1, env={"DATABASE_URL": pg_url},
                         ready_path="/pool") as server:
        assert _live_pool(server)["statement_timeout"] == "55s"


TIMEOUT_FACTORY = FACTORY.replace("plugins = []", 'plugins = ["degradation"]')


def _assert_query_timeout(response) -> None:
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["error"]["code"] == "DB_QUERY_TIMEOUT"
    assert response.headers["Retry-After"] == str(body["meta"]["retry_after_seconds"])


def test_statement_past_call_timeout_is_cut_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    toml = TIMEOUT_FACTORY + f'[database]\nurl = "{pg_url}"\ncall_timeout_ms = 300\n'
    with gunicorn_server(tmp_path, toml, workers=1, ready_path="/pool") as server:
        assert server.get("/sleep?ms=50").status_code == 200
        response = server.get("/sleep?ms=5000")
    _assert_query_timeout(response)
    assert response.elapsed.total_seconds() < 3
    assert "pg_sleep" not in response.text and "canceling" not in response.text


def test_statement_past_call_timeout_is_cut_on_sqlite(tmp_path: Path) -> None:
    toml = TIMEOUT_FACTORY + "[database]\ncall_timeout_ms = 300\n"
    with gunicorn_server(tmp_path, toml, workers=1, ready_path="/pool") as server:
        assert server.get("/sleep?ms=1").status_code == 200
        response = server.get("/sleep?ms=60000")
    _assert_query_timeout(response)
    assert response.elapsed.total_seconds() < 5
    assert "interrupted" not in response.text
