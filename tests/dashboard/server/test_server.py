"""``dashboard serve`` under a real gunicorn master: the demo answers with the envelope."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.reports.catalog import REPORTS
from tests.support.server import gunicorn_server


def _assert_reports_answer(server) -> dict:
    listing = server.get("/api/reports")
    assert listing.status_code == 200
    body = listing.json()
    assert body["success"] is True
    assert [item["name"] for item in body["data"]] == list(REPORTS)
    assert body["meta"]["timestamp"].endswith("Z")
    assert listing.headers["X-Request-ID"] == body["meta"]["request_id"]
    answers = {}
    for name in REPORTS:
        response = server.get(f"/api/reports/{name}", headers={"X-Request-ID": f"req-{name}"})
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["success"] is True
        assert payload["meta"]["request_id"] == f"req-{name}"
        assert response.headers["X-Request-ID"] == f"req-{name}"
        assert payload["data"]["rows"], name
        answers[name] = payload["data"]["rows"]
    return answers


def test_serves_the_demo_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, "") as server:
        answers = _assert_reports_answer(server)
        page = server.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert server.get("/static/mes-api.js").status_code == 200
    assert server.process.returncode == 0, "a clean stop (SIGTERM) exits 0"
    assert (tmp_path / "dashboard.db").exists()
    assert sum(len(rows) for rows in answers.values()) > 20


def test_serves_the_demo_on_postgresql_from_database_url(tmp_path: Path, pg_url: str) -> None:
    from sqlalchemy import create_engine

    from dashboard.reports.seed import init_db

    engine = create_engine(pg_url)
    init_db(engine)
    engine.dispose()
    with gunicorn_server(tmp_path / "pg", "", env={"DATABASE_URL": pg_url}) as server:
        pg_answers = _assert_reports_answer(server)
    with gunicorn_server(tmp_path / "lite", "") as server:
        sqlite_answers = _assert_reports_answer(server)
    assert pg_answers == sqlite_answers, "seeded data must answer identically on both databases"


@pytest.mark.parametrize("path", ["/api/nope", "/api/reports/nope"])
def test_unknown_paths_are_not_found_envelopes(tmp_path: Path, path: str) -> None:
    with gunicorn_server(tmp_path, "", workers=1) as server:
        response = server.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "X-Request-ID" in response.headers
