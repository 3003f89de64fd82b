"""The fallback in a real host pipeline (in process): what is kept, what stands in, what never.

The app is switched between good answers and degraded codes (the real outage, through gunicorn
and PostgreSQL, is in ``test_outage.py``); time is a manual clock, so ages are exact.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from dashboard.clock import ManualClock
from dashboard.plugins.fallback.state import FALLBACK, FallbackState
from dashboard.testing import build_host
from tests.dashboard.plugins.fallback.apps import APPS, SwitchedApp

TOML = """
[dashboard]
environment = "testing"
plugins = ["fallback", "health"]
app_factory = "tests.dashboard.plugins.fallback.apps:create_app"
[plugins.fallback]
max_age_seconds = 60
"""


class Stack:
    def __init__(self, tmp_path: Path, toml: str = TOML) -> None:
        self.clock = ManualClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
        self.host = build_host(toml, base_dir=tmp_path, clock=self.clock)
        self.client = Client(self.host.build_app(), use_cookies=False)
        self.app: SwitchedApp = APPS[id(self.host)]
        state = self.host.find_state(FALLBACK)
        assert state is not None
        self.state: FallbackState = state

    def get(self, path: str, **options: Any) -> Any:
        response = self.client.get(path, buffered=True, **options)
        self.state.writer.flush()
        return response

    def down(self, code: str = "DB_CONNECTION_FAILED") -> None:
        self.client.get(f"/switch?mode={code}")

    def up(self) -> None:
        self.client.get("/switch?mode=ok")


@pytest.fixture
def stack(tmp_path: Path) -> Any:
    made = Stack(tmp_path)
    yield made
    made.host.close()


@pytest.mark.parametrize("code", ["CIRCUIT_BREAKER_OPEN", "DB_CONNECTION_FAILED",
                                  "DB_POOL_EXHAUSTED", "DB_QUERY_TIMEOUT"])
def test_a_kept_answer_stands_in_for_each_degraded_code(stack: Stack, code: str) -> None:
    good = stack.get("/api/reports/wip?area=etch")
    assert good.status_code == 200
    kept_at = stack.clock.now()
    stack.down(code)
    stack.clock.advance(42.4)

    stale = stack.get("/api/reports/wip?area=etch", headers={"X-Request-ID": "stale-1"})
    assert stale.status_code == 200
    body = stale.get_json()
    assert body["success"] is True
    assert body["data"] == good.get_json()["data"]
    meta = body["meta"]
    assert meta["stale"] is True
    assert meta["degraded_code"] == code
    assert meta["retry_after_seconds"] == 7
    assert meta["age_seconds"] == pytest.approx(42.4, abs=0.01)
    assert meta["stale_since"] == kept_at.isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    assert meta["request_id"] == "stale-1" != good.get_json()["meta"]["request_id"]
    assert meta["timestamp"].endswith("Z")
    assert stale.headers["Age"] == "42"
    assert stale.headers["Cache-Control"] == "no-store"
    assert stale.headers["X-Request-ID"] == "stale-1"
    assert "Retry-After" not in stale.headers


def test_the_latest_good_answer_is_the_one_kept(stack: Stack) -> None:
    for _ in range(3):
        stack.get("/api/reports/wip")
    stack.down()
    assert stack.get("/api/reports/wip").get_json()["data"]["version"] == 3


def test_path_and_query_are_the_key(stack: Stack) -> None:
    stack.get("/api/reports/wip?area=etch")
    stack.down()
    assert stack.get("/api/reports/wip?area=etch").status_code == 200
    for never_warmed in ("/api/reports/wip?area=litho", "/api/reports/wip", "/api/reports/yield"):
        response = stack.get(never_warmed)
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "DB_CONNECTION_FAILED"
        assert response.headers["Retry-After"] == "7"


def test_past_max_age_the_degraded_answer_stands_untouched(stack: Stack) -> None:
    stack.get("/api/reports/wip")
    stack.down()
    stack.clock.advance(60)
    assert stack.get("/api/reports/wip").status_code == 200  # exactly max_age: still young
    stack.clock.advance(0.5)
    response = stack.get("/api/reports/wip", headers={"X-Request-ID": "old"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"]["code"] == "DB_CONNECTION_FAILED"
    assert body["meta"]["request_id"] == "old" and body["meta"]["retry_after_seconds"] == 7
    assert "stale" not in body["meta"]


@pytest.mark.parametrize("header", ["Authorization", "Cookie"])
def test_requests_with_credentials_are_never_kept_nor_stood_in_for(
        stack: Stack, header: str) -> None:
    stack.get("/api/reports/mine", headers={header: "Bearer secret"})
    stack.get("/api/reports/shared")
    stack.down()
    assert stack.get("/api/reports/mine").status_code == 503  # not kept
    assert stack.get("/api/reports/shared", headers={header: "x=1"}).status_code == 503


@pytest.mark.parametrize("name", ["private", "nostore"])
def test_private_or_no_store_answers_are_not_kept(stack: Stack, name: str) -> None:
    stack.get(f"/api/reports/{name}")
    stack.down()
    assert stack.get(f"/api/reports/{name}").status_code == 503


def test_a_streamed_body_over_1_mib_passes_whole_and_is_not_kept(stack: Stack) -> None:
    big = stack.get("/api/reports/big?kib=1100")
    assert big.status_code == 200
    assert len(big.get_json()["data"]["rows"]) == 1100  # the client got every byte
    small = stack.get("/api/reports/big?kib=900")
    assert small.status_code == 200
    stack.down()
    assert stack.get("/api/reports/big?kib=1100").status_code == 503
    assert stack.get("/api/reports/big?kib=900").status_code == 200


def test_other_errors_pass_untouched(stack: Stack) -> None:
    stack.get("/api/reports/wip")
    stack.down("DB_QUERY_ERROR")
    response = stack.get("/api/reports/wip")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "DB_QUERY_ERROR"


def test_only_get_requests_on_configured_paths_are_covered(tmp_path: Path) -> None:
    stack = Stack(tmp_path, TOML.replace("max_age_seconds = 60",
                                         'paths = ["/api/reports/*", "/health*", "/admin/*"]'))
    try:
        for path in ("/api/reports/wip", "/other/wip", "/admin/api/reports"):
            stack.get(path)
        stack.down()
        assert stack.client.post("/api/reports/wip").status_code == 503
        assert stack.get("/other/wip").status_code == 503
        assert stack.get("/admin/api/reports").status_code == 503  # control: never stood in
        assert stack.get("/api/reports/wip").status_code == 200
        assert [p.name for p in stack.state.store.directory.glob("*.answer")] == [
            stack.state.store.file_name(stack.state.keeper.key_of("/api/reports/wip"))]
    finally:
        stack.host.close()


def test_health_reports_entries_and_warns_while_standing_in(stack: Stack) -> None:
    def check() -> dict[str, Any]:
        return stack.client.get("/health").get_json()["checks"]["fallback"]

    assert check()["entries"] == 0 and check()["status"] == "pass"
    stack.get("/api/reports/a")
    stack.get("/api/reports/b")
    stack.state.store._stats = None  # the stats are re-read at most once a second
    before = check()
    assert before["status"] == "pass" and before["entries"] == 2 and before["bytes"] > 0
    stack.down()
    stack.get("/api/reports/a")
    payload = stack.client.get("/health").get_json()
    assert payload["checks"]["fallback"]["status"] == "warn"
    assert payload["degraded_reason"] == "serving_stale_data"


def test_a_corrupt_entry_is_logged_once_and_the_degraded_answer_stands(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    stack.get("/api/reports/wip")
    key = stack.state.keeper.key_of("/api/reports/wip")
    stack.state.store.path_for(key).write_bytes(b"\x00garbage")
    stack.down()
    with caplog.at_level(logging.WARNING, logger="dashboard.fallback"):
        for _ in range(3):
            response = stack.get("/api/reports/wip")
            assert response.status_code == 503
            assert json.loads(response.data)["error"]["code"] == "DB_CONNECTION_FAILED"
    assert len([r for r in caplog.records if "corrupt" in r.getMessage()]) == 1


def test_an_app_that_starts_its_answer_only_when_iterated_is_handed_over_whole() -> None:
    """PEP 3333 lets an app call start_response at its first chunk; what it streamed is
    remembered for that request alone."""
    from dashboard.plugins.fallback.middleware import FallbackMiddleware, RequestFilter

    def lazy(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "application/json")])
        yield b'{"success":true,'
        yield b'"data":1}'

    offered: list[tuple[str, list[bytes]]] = []
    middleware = FallbackMiddleware(
        lazy, RequestFilter(["/api/*"]),
        offer=lambda key, stored_at, headers, chunks: offered.append((key[0], list(chunks))),
        lookup=lambda key: None, max_age_seconds=60, wall=lambda: 0.0,
        on_stand_in=lambda code: None)
    for path in ("/api/a", "/api/b"):
        body = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": path},
                          lambda status, headers, exc_info=None: None)
        assert b"".join(body) == b'{"success":true,"data":1}'
    assert offered == [(path, [b'{"success":true,', b'"data":1}']) for path in ("/api/a", "/api/b")]


def test_its_declared_prefixes_cover_every_path_its_patterns_match() -> None:
    from dashboard.plugins.fallback.middleware import RequestFilter

    patterns = ["/api/reports/*", "/exact", "/one?/x", "/[ab]c", "*"]
    requests = RequestFilter(patterns)
    assert requests.prefixes == ("/api/reports/", "/exact", "/one", "/", "")
    for path in ["/api/reports/wip", "/exact", "/one1/x", "/ac", "/anything"]:
        assert requests.covers(path)
        assert path.startswith(requests.prefixes)
    assert RequestFilter([]).prefixes == ()  # covers nothing: every request passes it by
