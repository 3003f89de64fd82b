"""A request's end callbacks: run once when its answer is produced whole or its body closed,
in the request's context, after an error too; never outside a request."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from dashboard.context import at_request_end, current_request_id

SCRIPTED = 'app_factory = "tests.dashboard.apps:scripted_app"'


def _pipeline(dashboard_host: Any, ended: list[Any], *, failing: bool = False) -> Any:
    """The scripted app inside the host, with a layer that asks for an end callback."""
    from types import SimpleNamespace

    from dashboard import hookimpl

    def dashboard_wrap_wsgi(app: Any, host: Any) -> Any:
        def asking(environ: dict, start_response: Any) -> Any:
            if failing:
                at_request_end(lambda: 1 / 0)
            at_request_end(lambda: ended.append(("end", current_request_id())))
            return app(environ, start_response)

        return asking

    plugin = SimpleNamespace(dashboard_wrap_wsgi=hookimpl(dashboard_wrap_wsgi))
    host = dashboard_host(f'[dashboard]\nplugins = ["asking"]\n{SCRIPTED}\n',
                          plugins={"asking": plugin})
    return host.build_app()


def _call(app: Any, path: str) -> tuple[Any, list[str]]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_X_REQUEST_ID": "rid-9",
               "wsgi.url_scheme": "http", "SERVER_NAME": "x", "SERVER_PORT": "80"}
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return body, statuses


def test_outside_a_request_nothing_is_kept() -> None:
    assert at_request_end(lambda: None) is False


@pytest.mark.parametrize("path", ["/ok", "/whole", "/boom", "/stream-fails-first"])
def test_an_answer_produced_whole_ends_the_request_before_it_is_returned(
        dashboard_host: Any, path: str) -> None:
    ended: list[Any] = []
    body, _ = _call(_pipeline(dashboard_host, ended), path)
    assert ended == [("end", "rid-9")]  # in the request's context, once
    list(body)
    getattr(body, "close", lambda: None)()
    assert ended == [("end", "rid-9")]


def test_a_streamed_body_ends_the_request_when_closed_once(dashboard_host: Any) -> None:
    ended: list[Any] = []
    body, statuses = _call(_pipeline(dashboard_host, ended), "/stream")
    assert statuses == ["200 OK"] and ended == []  # still streaming
    assert b"".join(body) == b"one,two,three"
    assert ended == [("end", "rid-9")]  # closed at exhaustion
    body.close()
    assert ended == [("end", "rid-9")]


def test_a_failing_callback_is_logged_and_the_others_still_run(
        dashboard_host: Any, caplog: pytest.LogCaptureFixture) -> None:
    ended: list[Any] = []
    with caplog.at_level(logging.ERROR, logger="dashboard.errors"):
        body, statuses = _call(_pipeline(dashboard_host, ended, failing=True), "/ok")
    assert statuses == ["200 OK"] and b"".join(body) == b"ok"
    assert ended == [("end", "rid-9")]
    assert "a request-end callback failed" in caplog.text
