"""The request histogram's labels and the request id that log lines read while a request runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import Client

from dashboard import contract
from dashboard.context import current_request_id
from dashboard.logs.format import JsonFormatter, RequestContextFilter, TextFormatter
from dashboard.pipeline.catcher import LastResortCatcher
from dashboard.pipeline.observe import RequestMeter

SERIES = "dashboard_http_request_duration_seconds_count"
seen_ids: list[str | None] = []


def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    seen_ids.append(current_request_id())
    path = environ["PATH_INFO"]
    if path == "/degraded":
        response = contract.error_response(environ, "DB_POOL_EXHAUSTED", retry_after=5)
    elif path == "/missing":
        response = contract.error_response(environ, "NOT_FOUND")
    else:
        response = contract.success_response(environ, {"ok": True})
    return response(environ, start_response)


def observed(wsgi: Any) -> Any:
    """``wsgi`` behind the host's outermost layer, as every pipeline has it."""
    return LastResortCatcher(wsgi, SimpleNamespace(), RequestMeter())


def count(**labels: str) -> float:
    return REGISTRY.get_sample_value(SERIES, {"handler": "app", **labels}) or 0.0


def test_labels_are_method_status_class_and_contract_code() -> None:
    client = Client(observed(app))
    before = (count(method="GET", status="2xx", code=""),
              count(method="GET", status="5xx", code="DB_POOL_EXHAUSTED"),
              count(method="other", status="4xx", code="NOT_FOUND"))
    client.get("/ok").close()  # observed when the body is closed
    client.get("/degraded").close()
    client.open("/missing", method="PROPFIND").close()
    after = (count(method="GET", status="2xx", code=""),
             count(method="GET", status="5xx", code="DB_POOL_EXHAUSTED"),
             count(method="other", status="4xx", code="NOT_FOUND"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def test_the_request_id_is_the_answered_one_and_gone_after() -> None:
    seen_ids.clear()
    response = Client(observed(app)).get("/ok", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert seen_ids == ["abc-123"]
    assert current_request_id() is None


def record(message: str, **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord("dashboard.test", logging.WARNING, __file__, 1, message, (), None)
    rec.__dict__.update(extra)
    RequestContextFilter().filter(rec)
    return rec


def test_json_lines_stay_one_line_and_carry_fields() -> None:
    import json

    line = JsonFormatter().format(record('two\nlines "quoted"', code="X", request_id="r1"))
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["message"] == 'two\nlines "quoted"'
    assert (payload["level"], payload["code"], payload["request_id"]) == ("WARNING", "X", "r1")
    assert isinstance(payload["pid"], int) and payload["timestamp"].endswith("Z")


@pytest.mark.parametrize("rid, suffix", [("r9", " request_id=r9"), (None, "")])
def test_text_lines(rid: str | None, suffix: str) -> None:
    line = TextFormatter().format(record("hello", request_id=rid))
    assert line.endswith("[WARNING] dashboard.test: hello" + suffix)
