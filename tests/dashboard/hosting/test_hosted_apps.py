"""Apps hosted with no change to them: their own engines run with ``[database]``'s bounds, and
every database failure reaches the client as the contract's answer (docs/host-your-own-app.md).

Real parts only: the apps are files in the server's working directory, served by a real
gunicorn through ``dashboard serve``; PostgreSQL sits behind the fault proxy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import pg_url_for
from tests.dashboard.hosting.apps import FLASK_APP, PLAIN_APP
from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.server import Server, gunicorn_server

BOUNDS = """
[database]
url = ""
pool_size = 2
max_overflow = 0
pool_timeout = 1
call_timeout_ms = 1500
connect_timeout = 2

[plugins.breaker]
window_size = 4
minimum_calls = 3
open_seconds = 60
"""


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with fault_proxy() as running:
        yield running


def serve(tmp_path: Path, module: str, source: str, factory: str, db_url: str,
          plugins: str = '["breaker", "degradation", "health"]') -> Any:
    (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
    toml = f'[dashboard]\napp_factory = "{module}:{factory}"\nplugins = {plugins}\n' + BOUNDS
    return gunicorn_server(tmp_path, toml, env={"APP_DB_URL": db_url}, workers=1,
                           ready_path="/livez")





def get(server: Server, path: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = server.get(path, timeout=30)
    return response, time.monotonic() - started


def no_database_file(cwd: Path) -> bool:
    """No SQLite file of the host's own (the metrics' multiprocess files are not databases)."""
    return not [path for path in cwd.rglob("*.db") if "metrics" not in path.parts]


def assert_contract(response: requests.Response, code: str, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    assert response.headers["Retry-After"] == str(body["meta"]["retry_after_seconds"])


def test_flask_sqlalchemy_app_runs_with_the_bounds_and_answers_the_contract(
        tmp_path: Path, pg_database: str, proxy: FaultProxy) -> None:
    url = proxy.url_for(pg_url_for(pg_database))
    with serve(tmp_path, "shop", FLASK_APP, "create_app", url) as server:
        engine = server.get("/engine").json()
        # From inside the app: the TOML's bounds, read from its live engine and connection.
        assert engine == {"pool_size": 2, "pool_timeout": 1.0, "statement_timeout": "1500ms",
                          "connect_timeout": "2", "binds": 2}

        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(3) as pool:  # 2 held, the third waits 1 s
            answers = list(pool.map(lambda _: server.get("/hold"), range(3)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 200, 503], [a.text[:200] for a in answers]
        assert_contract(next(a for a in answers if a.status_code == 503),
                        "DB_POOL_EXHAUSTED", 503)

        slow, took = get(server, "/sleep")  # pg_sleep(5) past call_timeout_ms
        assert_contract(slow, "DB_QUERY_TIMEOUT", 504)
        assert took < 1.5 + 1

        proxy.refuse()
        seen = []
        for _ in range(6):
            refused, _took = get(server, "/items")
            assert refused.status_code == 503
            seen.append(refused.json()["error"]["code"])
            assert "<html" not in refused.text.lower()
        # The timeout and the pool exhaustion above already count against the breaker.
        assert set(seen) <= {"DB_CONNECTION_FAILED", "CIRCUIT_BREAKER_OPEN"}, seen
        assert seen[-1] == "CIRCUIT_BREAKER_OPEN", seen
        time.sleep(0.5)
        log = server.log_text()
        assert "Traceback" not in log, log[-3000:]
        assert "adopted the app's engine" in log
    assert no_database_file(tmp_path)


def test_plain_wsgi_app_frozen_database_is_answered_within_connect_timeout(
        tmp_path: Path, pg_database: str, proxy: FaultProxy) -> None:
    # A user's own plugins/ package in the working directory changes nothing.
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "__init__.py").write_text("raise ImportError('not ours')\n")
    url = proxy.url_for(pg_url_for(pg_database))
    with serve(tmp_path, "plainapp", PLAIN_APP, "app", url) as server:
        fine = server.get("/").json()
        assert fine == {"value": 1, "pool_size": 2}
        proxy.refuse()  # drop the pooled connection, then freeze new ones
        proxy.hang()
        frozen, took = get(server, "/")
        assert_contract(frozen, "DB_CONNECTION_FAILED", 503)
        assert took < 2 + 1, took
        assert "Traceback" not in server.log_text()
    assert no_database_file(tmp_path)


@pytest.mark.parametrize("factory", ["make", "make_without_host"])
def test_app_factory_may_be_a_factory_with_or_without_the_host(
        tmp_path: Path, pg_database: str, proxy: FaultProxy, factory: str) -> None:
    url = proxy.url_for(pg_url_for(pg_database))
    with serve(tmp_path, "plainapp", PLAIN_APP, factory, url,
               plugins='["degradation"]') as server:
        assert server.get("/").json() == {"value": 1, "pool_size": 2}
