"""``[logging]`` through a real ``dashboard serve``: every line of ours and gunicorn's carries a
timestamp, the level, the pid and (inside a request) the request id; JSON lines parse one by one;
a classified database failure is one WARNING line; redaction still masks every field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from tests.support.server import gunicorn_server

PASSWORD = "Xy9-logging-secret"
BASE = """
    [dashboard]
    environment = "testing"
    plugins = ["redaction", "breaker", "degradation", "health"]
    app_factory = "tests.dashboard.ops_apps:create_app"
    [database]
    call_timeout_ms = 200
"""
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(\d+)\] "
                       r"\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\] [\w.]+: ")


def _exercise(url: str) -> dict[str, str]:
    """Requests whose lines the tests look for; returns each one's X-Request-ID."""
    ids = {}
    for name, path in (("ok", "/ops/db"), ("timeout", "/ops/slow-statement"),
                       ("boom", "/ops/boom"),
                       ("log", f"/ops/log?text=postgresql://mes:{PASSWORD}@db/mes")):
        response = requests.get(url + path, timeout=30, headers={"Connection": "close"})
        ids[name] = response.headers["X-Request-ID"]
    return ids


def test_json_lines_parse_one_by_one_with_the_fields(tmp_path: Path) -> None:
    config = BASE + '\n[logging]\nformat = "json"\nlevel = "info"\n'
    with gunicorn_server(tmp_path, config, workers=2, ready_path="/livez") as server:
        ids = _exercise(server.url)
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, gunicorn's too, is JSON
    for record in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        assert isinstance(record["pid"], int)
    loggers = {record["logger"] for record in records}
    assert {"gunicorn.error", "gunicorn.access", "dashboard.errors"} <= loggers

    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert {r["request_id"] for r in access} >= set(ids.values())
    ok = next(r for r in access if r["request_id"] == ids["ok"])
    assert (ok["method"], ok["path"], ok["status"]) == ("GET", "/ops/db", 200)

    classified = [r for r in records if r.get("request_id") == ids["timeout"]
                  and r["logger"] == "dashboard.errors"]
    assert len(classified) == 1, classified  # one line, no traceback record at INFO
    line = classified[0]
    assert line["level"] == "WARNING"
    assert (line["code"], line["fault"], line["dialect"], line["method"], line["path"]) == (
        "DB_QUERY_TIMEOUT", "query_timeout", "sqlite", "GET", "/ops/slow-statement")
    assert "exc_info" not in line and "Traceback" not in line["message"]

    unclassified = [r for r in records if r.get("request_id") == ids["boom"]
                    and r["logger"] == "dashboard.errors"]
    assert [r["level"] for r in unclassified] == ["ERROR"]
    assert "RuntimeError: boom" in unclassified[0]["exc_info"]

    ours = next(r for r in records if r["logger"] == "tests.ops")
    assert ours["request_id"] == ids["log"]
    assert PASSWORD not in server.log_text()  # redaction masks JSON lines like any other


def test_text_lines_carry_timestamp_level_pid_and_request_id(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, BASE, workers=1, ready_path="/livez") as server:
        ids = _exercise(server.url)
    text = server.log_text()
    first_lines = [line for line in text.splitlines()
                   if line.strip() and not line.startswith((" ", "Traceback", "RuntimeError",
                                                            "During", "The above"))]
    for line in first_lines:
        assert TEXT_LINE.match(line), line
    access = [line for line in first_lines if "gunicorn.access" in line]
    for rid in ids.values():
        assert any(line.endswith(f"request_id={rid}") for line in access), rid
    classified = [line for line in text.splitlines() if f"request_id={ids['timeout']}" in line
                  and "dashboard.errors" in line]
    assert len(classified) == 1 and "[WARNING]" in classified[0]
    assert "DB_QUERY_TIMEOUT" in classified[0] and "fault=query_timeout" in classified[0]
    assert "dialect=sqlite method=GET path=/ops/slow-statement" in classified[0]
    assert "Traceback" not in text.split(classified[0], 1)[1].split("\n", 2)[1]
    assert PASSWORD not in text


def test_debug_level_adds_the_traceback_of_a_classified_failure(tmp_path: Path) -> None:
    config = BASE + '\n[logging]\nformat = "json"\nlevel = "debug"\n'
    with gunicorn_server(tmp_path, config, workers=1, ready_path="/livez") as server:
        ids = _exercise(server.url)
    records = [json.loads(line) for line in server.log_text().splitlines() if line.strip()]
    mine = [r for r in records if r.get("request_id") == ids["timeout"]
            and r["logger"] == "dashboard.errors"]
    assert [r["level"] for r in mine] == ["WARNING", "DEBUG"]
    assert "Traceback" in mine[1]["exc_info"]
