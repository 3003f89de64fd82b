"""In Chromium: a report page first opened during an outage shows the kept rows under an age
banner; when the database is back the banner goes and live rows replace the kept ones.

Real gunicorn (2 workers), PostgreSQL behind the fault proxy, Debian's Chromium. Screenshots go
to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.dashboard.plugins.fallback.serving import (
    REPORT,
    kept_entries,
    seed,
    server_toml,
    wait_for,
)
from tests.dashboard.reports.static.browser import chromium, fresh_page, screenshot
from tests.support.faultproxy import FaultProxy
from tests.support.server import gunicorn_server

PAGE = "/reports/wip-by-workcenter?refresh=2"


def rename_first_workcenter(pg_url: str, name: str) -> str:
    engine = create_engine(pg_url)
    try:
        with engine.begin() as connection:
            code = connection.execute(text("SELECT min(code) FROM mes_workcenter")).scalar_one()
            connection.execute(text("UPDATE mes_workcenter SET name = :n WHERE code = :c"),
                               {"n": name, "c": code})
        return code
    finally:
        engine.dispose()


def test_a_page_opened_during_the_outage_shows_kept_rows_then_live_ones(
        tmp_path: Path, pg_url: str) -> None:
    seed(pg_url)
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path, server_toml(proxy.url_for(pg_url), max_age_seconds=3600, open_seconds=2)
            + "\n[plugins.degradation]\nconnection_failed_retry_after = 2\n",
            workers=2, ready_path="/livez") as server:
        warm = requests.get(server.url + REPORT, timeout=30).json()["data"]
        wait_for(lambda: kept_entries(tmp_path / "run") == 1, timeout=30)
        proxy.refuse()
        rename_first_workcenter(pg_url, "Renamed while down")  # behind the proxy's back

        with chromium() as browser, fresh_page(browser) as page:
            page.goto(server.url + PAGE)
            stale = page.locator('[data-testid="degraded-banner"][data-stale="true"]')
            stale.wait_for(state="visible", timeout=30_000)
            note = stale.locator('[data-testid="stale-note"]').inner_text()
            assert note.startswith("Showing data from ") and " old): " in note, note
            assert stale.locator('[data-testid="degraded-code"]').inner_text() in (
                "(DB_CONNECTION_FAILED)", "(CIRCUIT_BREAKER_OPEN)")
            rows = page.locator('[data-testid="report-table"] tbody tr')
            assert rows.count() == len(warm["rows"])
            first_name = rows.nth(0).locator("td").nth(1).inner_text()
            assert first_name == warm["rows"][0]["name"] != "Renamed while down"
            assert page.locator("#report-body.stale").count() == 1
            screenshot(page, "screenshots/fallback-stale-page.png")

            proxy.pass_through()
            stale.wait_for(state="detached", timeout=60_000)
            page.wait_for_function(
                "document.querySelector('[data-testid=\"report-table\"] tbody td:nth-child(2)')"
                ".textContent === 'Renamed while down'", timeout=30_000)
            assert page.locator("#report-body.stale").count() == 0
            assert page.locator('[data-testid="degraded-banner"]').count() == 0
            screenshot(page, "screenshots/fallback-recovered-page.png")
