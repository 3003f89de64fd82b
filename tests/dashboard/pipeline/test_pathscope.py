"""Wrappers that declare the paths they act on are passed by for every other path, when (and
only when) they are the top of the pipeline; answers are the same either way."""

from __future__ import annotations

import types
from typing import Any

import pytest

from dashboard import hookimpl
from dashboard.pipeline.pathscope import ScopedRun, declared_prefixes

SCRIPTED = 'app_factory = "tests.dashboard.apps:scripted_app"'


class _Counting:
    """Answers paths starting with ``answers`` itself, passes everything else on; counts its
    calls."""

    def __init__(self, app: Any, calls: list[str], prefixes: Any, answers: str) -> None:
        self.app = app
        self.calls = calls
        self.answers = answers
        if prefixes is not None:
            self.path_prefixes = prefixes

    def __call__(self, environ: dict, start_response: Any) -> Any:
        self.calls.append(environ["PATH_INFO"])
        if environ["PATH_INFO"].startswith(self.answers):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [self.answers.encode()]
        return self.app(environ, start_response)


def counting_plugin(calls: list[str], prefixes: Any = None,
                    answers: str = "/mine") -> types.SimpleNamespace:
    def dashboard_wrap_wsgi(app: Any, host: Any) -> Any:
        return _Counting(app, calls, prefixes, answers)

    return types.SimpleNamespace(dashboard_wrap_wsgi=hookimpl(dashboard_wrap_wsgi))


def _client(dashboard_host: Any, dashboard_client: Any, order: list[str],
            plugins: dict[str, Any]) -> Any:
    listed = ", ".join(f'"{name}"' for name in order)
    return dashboard_client(dashboard_host(f"[dashboard]\nplugins = [{listed}]\n{SCRIPTED}\n",
                                           plugins=plugins))


def test_a_scoped_wrapper_on_top_is_passed_by_for_other_paths_only(
        dashboard_host: Any, dashboard_client: Any) -> None:
    scoped: list[str] = []
    plain: list[str] = []
    client = _client(dashboard_host, dashboard_client, ["scoped", "plain"],
                     {"scoped": counting_plugin(scoped, ("/mine",)),
                      "plain": counting_plugin(plain)})
    response = client.get("/ok")
    assert response.data == b"ok" and response.headers["X-Request-ID"]
    assert scoped == [] and plain == ["/ok"]
    response = client.get("/mine/too")
    assert response.data == b"/mine" and response.headers["X-Request-ID"]
    assert scoped == ["/mine/too"] and plain == ["/ok"]  # it answered: nothing below ran


def test_a_plugin_that_adds_no_layer_leaves_the_top_run_as_it_is(
        dashboard_host: Any, dashboard_client: Any) -> None:
    def dashboard_wrap_wsgi(app: Any, host: Any) -> Any:
        return app  # hooks only (the breaker does so)

    scoped: list[str] = []
    plain: list[str] = []
    client = _client(dashboard_host, dashboard_client, ["hooks", "scoped", "plain"],
                     {"hooks": types.SimpleNamespace(dashboard_wrap_wsgi=hookimpl(
                         dashboard_wrap_wsgi)),
                      "scoped": counting_plugin(scoped, ("/mine",)),
                      "plain": counting_plugin(plain)})
    assert client.get("/ok").data == b"ok"
    assert scoped == [] and plain == ["/ok"]


def test_a_scoped_wrapper_under_an_unscoped_one_is_called_for_every_path(
        dashboard_host: Any, dashboard_client: Any) -> None:
    scoped: list[str] = []
    plain: list[str] = []
    client = _client(dashboard_host, dashboard_client, ["plain", "scoped"],
                     {"scoped": counting_plugin(scoped, ("/mine",)),
                      "plain": counting_plugin(plain)})
    assert client.get("/ok").data == b"ok"
    assert scoped == ["/ok"] and plain == ["/ok"]


def test_a_run_of_scoped_wrappers_reaches_the_app_when_none_acts(
        dashboard_host: Any, dashboard_client: Any) -> None:
    first: list[str] = []
    second: list[str] = []
    client = _client(dashboard_host, dashboard_client, ["first", "second"],
                     {"first": counting_plugin(first, ("/elsewhere",), "/elsewhere"),
                      "second": counting_plugin(second, ("/mine",))})
    assert client.get("/ok").data == b"ok"
    assert client.get("/boom").get_json()["error"]["code"] == "INTERNAL_ERROR"  # still mapped
    assert first == [] and second == []
    assert client.get("/mine").data == b"/mine"
    assert first == ["/mine"] and second == ["/mine"]  # the whole run, as it is nested


@pytest.mark.parametrize("declaration", [["/mine"], ("/mine", 3), "/mine"])
def test_a_declaration_that_is_not_a_tuple_of_strings_counts_as_none(
        dashboard_host: Any, dashboard_client: Any, declaration: Any) -> None:
    calls: list[str] = []
    client = _client(dashboard_host, dashboard_client, ["odd"],
                     {"odd": counting_plugin(calls, declaration)})
    assert client.get("/ok").data == b"ok"
    assert calls == ["/ok"]


def test_declared_prefixes_reads_the_attribute() -> None:
    assert declared_prefixes(types.SimpleNamespace(path_prefixes=("/a", "/b"))) == ("/a", "/b")
    assert declared_prefixes(types.SimpleNamespace(path_prefixes=())) == ()
    assert declared_prefixes(types.SimpleNamespace()) is None


def test_the_top_run_starts_again_above_each_unscoped_layer() -> None:
    def layer(prefixes: tuple[str, ...] | None) -> Any:
        return types.SimpleNamespace() if prefixes is None else types.SimpleNamespace(
            path_prefixes=prefixes)

    innermost = layer(None)
    run = ScopedRun(innermost)
    assert run.prefixes is None  # nothing above the innermost layer yet
    scoped_low, plain, scoped_a, scoped_b = layer(("/x",)), layer(None), layer(("/a",)), layer(
        ("/b", "/a"))
    run.add(scoped_low, innermost)
    assert run.prefixes == ("/x",) and run.below is innermost
    run.add(plain, scoped_low)
    assert run.prefixes is None and run.below is plain
    run.add(plain, plain)  # a plugin that added no layer changes nothing
    run.add(scoped_a, plain)
    run.add(scoped_b, scoped_a)
    assert run.prefixes == ("/a", "/b") and run.below is plain
    empty = ScopedRun(innermost)
    empty.add(layer(()), innermost)  # acts on no path at all: every request passes it by
    assert empty.prefixes == ()


def test_the_shipped_plugins_still_answer_their_own_paths(dashboard_host: Any,
                                                          dashboard_client: Any) -> None:
    host = dashboard_host(f"[dashboard]\n{SCRIPTED}\n")
    pipeline = host.build_app()  # the shipped order: a request on no control path passes by
    assert pipeline.scoped is not None and {"/health", "/admin/api/"} <= set(pipeline.scoped)
    client = dashboard_client(host)
    assert client.get("/livez").status_code == 200
    assert client.get("/health/").get_json()["status"] in ("healthy", "degraded")
    admin = client.get("/admin/api/worker/status")  # the admin API's refusal, not the app's "ok"
    assert admin.status_code in (401, 403) and admin.get_json()["success"] is False
    assert client.get("/ok").data == b"ok"


def test_a_path_that_is_not_text_is_answered_not_raised(dashboard_host: Any) -> None:
    host = dashboard_host(f"[dashboard]\n{SCRIPTED}\n")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": b"/ok", "wsgi.url_scheme": "http",
               "SERVER_NAME": "x", "SERVER_PORT": "80"}
    statuses: list[str] = []
    body = host.build_app()(environ, lambda status, headers, exc_info=None: statuses.append(
        status))
    assert statuses == ["500 INTERNAL SERVER ERROR"]
    assert b'"INTERNAL_ERROR"' in b"".join(body)
