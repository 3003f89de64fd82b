"""Each fault answered per docs/api/responses.md: code, status, retryability, configured hints, no
leaks."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import exc as sa_exc
from werkzeug.wrappers import Response

from dashboard.host import Host

TOML = """
[dashboard]
plugins = ["degradation"]
app_factory = "tests.dashboard.plugins.degradation.apps:create_app"
[plugins.degradation]
pool_exhausted_retry_after = 3
connection_failed_retry_after = 17
query_timeout_retry_after = 9
"""
SECRET = "postgresql://mes:hunter2@db.internal:5432/mes"


def wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.OperationalError(f"SELECT secret FROM {SECRET}", {"pw": "hunter2"}, orig)


CASES = [
    (sa_exc.TimeoutError(f"QueuePool limit reached {SECRET}"), "DB_POOL_EXHAUSTED", 503, 3),
    (wrapped(psycopg.errors.QueryCanceled(f"canceling statement {SECRET}")),
     "DB_QUERY_TIMEOUT", 504, 9),
    (wrapped(psycopg.errors.AdminShutdown(f"terminating connection {SECRET}")),
     "DB_CONNECTION_FAILED", 503, 17),
    (wrapped(psycopg.errors.ConnectionFailure(SECRET)), "DB_CONNECTION_FAILED", 503, 17),
    (wrapped(psycopg.errors.InvalidPassword(f"password authentication failed {SECRET}")),
     "DB_CONNECTION_FAILED", 503, None),
    (wrapped(psycopg.errors.UndefinedTable(SECRET)), "DB_QUERY_ERROR", 500, None),
]


@pytest.mark.parametrize(("error", "code", "status", "hint"), CASES,
                         ids=[c[1] + f"-{i}" for i, c in enumerate(CASES)])
def test_fault_answers(dashboard_host: Callable[..., Host], error: BaseException, code: str,
                       status: int, hint: int | None) -> None:
    host = dashboard_host(TOML)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "HTTP_X_REQUEST_ID": "req-1"}
    answer = host.hook.dashboard_map_exception(exc=error, environ=environ, host=host)
    response = Response.from_app(answer, environ)  # any WSGI answer will do
    body = response.get_json()
    assert response.status_code == status
    assert body["success"] is False and body["error"]["code"] == code
    assert body["error"]["retryable"] is (hint is not None)
    assert body["meta"]["request_id"] == "req-1"
    if hint is None:
        assert "Retry-After" not in response.headers
        assert "retry_after_seconds" not in body["meta"]
    else:
        assert response.headers["Retry-After"] == str(hint)
        assert body["meta"]["retry_after_seconds"] == hint
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "db.internal", "postgresql://", "SELECT", "canceling", "password"):
        assert leak not in text


def test_non_database_errors_are_left_to_the_host(dashboard_host: Callable[..., Host]) -> None:
    host = dashboard_host(TOML)
    assert host.hook.dashboard_map_exception(exc=ValueError("x"), environ={}, host=host) is None


def test_rejected_credentials_are_final_and_do_not_open_the_breaker(
        dashboard_host: Callable[..., Host], dashboard_client) -> None:
    from tests.dashboard.plugins.degradation.fakepg import rejecting_server

    with rejecting_server("28P01") as port:
        host = dashboard_host(f"""
            [dashboard]
            plugins = ["breaker", "degradation"]
            app_factory = "tests.dashboard.plugins.degradation.apps:create_app"
            [database]
            url = "postgresql+psycopg://mes:wrong@127.0.0.1:{port}/mes"
            [plugins.breaker]
            window_size = 2
            minimum_calls = 2
        """)
        client = dashboard_client(host)
        for _ in range(4):
            response = client.get("/query")
            body = response.get_json()
            assert response.status_code == 503
            assert body["error"]["code"] == "DB_CONNECTION_FAILED"
            assert body["error"]["retryable"] is False
            assert "Retry-After" not in response.headers
        breaker = client.get("/breaker").get_json()["data"]
    assert breaker["state"] == "CLOSED" and breaker["failure_rate"] == 0.0
