"""The host-owned layers: TOML order, exception mapping, last-resort catching, streaming."""

from __future__ import annotations

import re
import types
from typing import Any

import pytest
from werkzeug.test import Client

from dashboard import contract, hookimpl
from dashboard.host import PluginOrderError
from tests.dashboard.apps import ClosingBody

SCRIPTED = 'app_factory = "tests.dashboard.apps:scripted_app"'


def tagging_plugin(tag: str, answer_exceptions: bool = False) -> types.SimpleNamespace:
    """A plugin whose wrapper appends ``tag`` to ``X-Layers`` on the way out."""

    def dashboard_wrap_wsgi(app: Any, host: Any) -> Any:
        def wrapped(environ: dict, start_response: Any) -> Any:
            def tagging_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
                headers.append(("X-Layers", tag))
                return start_response(status, headers, exc_info)

            return app(environ, tagging_start_response)

        return wrapped

    def dashboard_map_exception(exc: BaseException, environ: dict, host: Any) -> Any:
        if answer_exceptions:
            return contract.error_response(environ, "VALIDATION_ERROR", f"mapped by {tag}")
        return None

    return types.SimpleNamespace(dashboard_wrap_wsgi=hookimpl(dashboard_wrap_wsgi),
                                 dashboard_map_exception=hookimpl(dashboard_map_exception))


def _host(dashboard_host: Any, names: list[str], plugins: dict[str, Any]) -> Any:
    listed = ", ".join(f'"{name}"' for name in names)
    return dashboard_host(f"[dashboard]\nplugins = [{listed}]\n{SCRIPTED}\n", plugins=plugins)


@pytest.mark.parametrize("order", [["a", "b", "c"], ["c", "a", "b"]])
def test_wrappers_follow_toml_order_outermost_first(dashboard_host: Any, dashboard_client: Any,
                                                    order: list[str]) -> None:
    plugins = {name: tagging_plugin(name) for name in "abc"}
    client = dashboard_client(_host(dashboard_host, order, plugins))
    response = client.get("/ok")
    # Headers are appended on the way out, innermost first.
    assert response.headers.getlist("X-Layers") == list(reversed(order))


def test_first_listed_plugin_answers_firstresult_hooks(dashboard_host: Any,
                                                       dashboard_client: Any) -> None:
    plugins = {"a": tagging_plugin("a", True), "b": tagging_plugin("b", True)}
    for order in (["a", "b"], ["b", "a"]):
        response = dashboard_client(_host(dashboard_host, order, plugins)).get("/boom")
        assert response.json["error"]["message"] == f"mapped by {order[0]}"


def test_unlisted_plugins_touch_nothing(dashboard_host: Any, dashboard_client: Any) -> None:
    plugins = {"a": tagging_plugin("a"), "b": tagging_plugin("b")}
    response = dashboard_client(_host(dashboard_host, ["b"], plugins)).get("/ok")
    assert response.headers.getlist("X-Layers") == ["b"]


def test_tryfirst_is_refused(dashboard_host: Any) -> None:
    sneaky = types.SimpleNamespace(
        dashboard_wrap_wsgi=hookimpl(tryfirst=True)(lambda app, host: app))
    with pytest.raises(PluginOrderError, match="order comes only from"):
        _host(dashboard_host, ["sneaky"], {"sneaky": sneaky})


def test_app_exception_becomes_internal_error_envelope(dashboard_host: Any,
                                                       dashboard_client: Any) -> None:
    response = dashboard_client(_host(dashboard_host, [], {})).get(
        "/boom", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 500
    body = response.json
    assert body["error"] == {"code": "INTERNAL_ERROR", "message": "An internal error occurred.",
                             "retryable": False}
    assert body["meta"]["request_id"] == "abc-123" == response.headers["X-Request-ID"]
    assert "retry_after_seconds" not in body["meta"] and "Retry-After" not in response.headers
    assert "pw@" not in response.get_data(as_text=True)


def test_database_error_without_a_mapping_plugin_is_db_query_error(dashboard_host: Any,
                                                                  dashboard_client: Any) -> None:
    response = dashboard_client(_host(dashboard_host, [], {})).get("/db-error")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "DB_QUERY_ERROR"
    assert "server closed" not in response.get_data(as_text=True)


def test_request_id_generated_when_absent_or_unsafe(dashboard_host: Any,
                                                    dashboard_client: Any) -> None:
    client = dashboard_client(_host(dashboard_host, [], {}))
    generated = {client.get("/ok").headers["X-Request-ID"] for _ in range(50)}
    assert len(generated) == 50  # unique: a per-process random prefix and a counter
    assert all(re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", rid) for rid in generated), generated
    unsafe = client.get("/ok", headers={"X-Request-ID": "bad id <script>"})
    assert unsafe.headers["X-Request-ID"] != "bad id <script>"
    given = client.get("/ok", headers={"X-Request-ID": "client-id.42"})
    assert given.headers["X-Request-ID"] == "client-id.42"


def test_wrapper_that_raises_is_caught_last_resort(dashboard_host: Any,
                                                   dashboard_client: Any) -> None:
    def broken_wrap(app: Any, host: Any) -> Any:
        def wrapped(environ: dict, start_response: Any) -> Any:
            raise RuntimeError("plugin bug")

        return wrapped

    broken = types.SimpleNamespace(dashboard_wrap_wsgi=hookimpl(broken_wrap))
    response = dashboard_client(_host(dashboard_host, ["broken"], {"broken": broken})).get("/ok")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "INTERNAL_ERROR"


def test_bodies_stream_lazily_and_close_is_passed_through(dashboard_host: Any) -> None:
    plugins = {"a": tagging_plugin("a")}
    app = _host(dashboard_host, ["a"], plugins).build_app()
    ClosingBody.instances.clear()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stream", "wsgi.input": None,
               "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    started: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: started.append(status))
    iterator = iter(body)
    assert next(iterator) == b"one,"
    inner = ClosingBody.instances[-1]
    assert inner.produced == 1, "the pipeline must not read ahead (no buffering)"
    body.close()
    assert inner.closed


def _call_like_a_server(app: Any, path: str) -> tuple[list[str], bytes]:
    """Drive ``app`` as a PEP 3333 server does (werkzeug's test client re-raises any exc_info)."""
    statuses: list[str] = []
    sent: list[bytes] = []

    def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
        if exc_info and sent:
            raise exc_info[1].with_traceback(exc_info[2])
        statuses.append(status)
        return sent.append

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": None,
               "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    body = app(environ, start_response)
    try:
        for chunk in body:
            sent.append(chunk)
    finally:
        if hasattr(body, "close"):  # as PEP 3333 says: a list, for one, has none
            body.close()
    return statuses, b"".join(sent)


def test_error_before_the_first_chunk_is_answered(dashboard_host: Any) -> None:
    ClosingBody.instances.clear()
    statuses, body = _call_like_a_server(_host(dashboard_host, [], {}).build_app(),
                                         "/stream-fails-first")
    assert statuses == ["200 OK", "500 INTERNAL SERVER ERROR"]
    assert b'"code":"INTERNAL_ERROR"' in body
    assert ClosingBody.instances[-1].closed


def test_an_answer_read_whole_is_handed_on_as_a_list_once_the_app_is_done(
        dashboard_host: Any) -> None:
    """Its first chunk is as long as its Content-Length: the mapper reads on to the end (the
    app's code after its last chunk runs, as at a server's next call) and closes the app's body,
    so every layer above, and the server, get a list with nothing left to run."""
    app = _host(dashboard_host, ["a"], {"a": tagging_plugin("a")}).build_app()
    ClosingBody.instances.clear()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/whole", "wsgi.input": None,
               "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    headers: list[Any] = []
    body = app(environ, lambda status, sent, exc_info=None: headers.extend(sent))
    inner = ClosingBody.instances[-1]
    assert body == [b"whole"]
    assert inner.finished and inner.closed
    assert ("X-Layers", "a") in headers and any(name == "X-Request-ID" for name, _ in headers)


def test_an_answer_started_at_its_first_chunk_is_read_whole_too(dashboard_host: Any) -> None:
    """The length it declares is only known once its first chunk was asked for."""
    app = _host(dashboard_host, [], {}).build_app()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/whole-started-lazily", "wsgi.input": None,
               "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    assert body == [b"whole"] and statuses == ["200 OK"]


def test_an_error_past_the_declared_length_is_still_answered(dashboard_host: Any) -> None:
    statuses, body = _call_like_a_server(_host(dashboard_host, [], {}).build_app(),
                                         "/whole-then-fails")
    assert statuses == ["200 OK", "500 INTERNAL SERVER ERROR"]
    assert b'"code":"INTERNAL_ERROR"' in body and b"whole" not in body
    assert ClosingBody.instances[-1].closed


def test_a_body_longer_than_it_declared_streams_as_it_is(dashboard_host: Any) -> None:
    statuses, body = _call_like_a_server(_host(dashboard_host, [], {}).build_app(),
                                         "/longer-than-declared")
    assert statuses == ["200 OK"] and body == b"whole,more"
    assert ClosingBody.instances[-1].closed


def test_an_error_answer_is_handed_on_as_a_list(dashboard_host: Any) -> None:
    app = _host(dashboard_host, [], {}).build_app()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/boom", "wsgi.input": None,
               "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    body = app(environ, lambda status, headers, exc_info=None: None)
    assert type(body) is list and b'"code":"INTERNAL_ERROR"' in b"".join(body)


def test_error_after_the_first_chunk_aborts_the_response(dashboard_host: Any) -> None:
    client = Client(_host(dashboard_host, [], {}).build_app())
    with pytest.raises(RuntimeError, match="failed while streaming"):
        client.get("/stream-fails-later").get_data()


class _Produced:
    """A plugin's body around a list that says so (``produced``), recording its close."""

    def __init__(self, chunks: list[bytes], seen: list[Any]) -> None:
        self.chunks = chunks
        self.seen = seen

    produced = True

    def __iter__(self) -> Any:
        return iter(self.chunks)

    def close(self) -> None:
        from dashboard.context import current_request_id, serving_host

        self.seen.append((serving_host() is not None, current_request_id()))


def test_a_produced_plugin_body_is_closed_once_with_the_marks_set_and_measured_once() -> None:
    from types import SimpleNamespace

    from dashboard.pipeline.catcher import LastResortCatcher

    seen: list[Any] = []
    measured: list[str] = []

    def app(environ: dict, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _Produced([b"a", b"b"], seen)

    outer = LastResortCatcher(app, SimpleNamespace(),
                              lambda environ, status, started: measured.append(status))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_X_REQUEST_ID": "rid-1"}
    body = outer(environ, lambda status, headers, exc_info=None: None)
    assert measured == []  # not before the body ends
    assert list(body) == [b"a", b"b"]
    assert seen == [(True, "rid-1")] and measured == ["200 OK"]  # closed when exhausted
    body.close()  # the server's close changes nothing more
    assert seen == [(True, "rid-1")] and measured == ["200 OK"]
