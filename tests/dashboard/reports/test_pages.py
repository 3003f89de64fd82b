"""The report pages in real Chromium against a real gunicorn server: normal, degraded, recovered.

The server's app is the demo app behind the test switch (tests/dashboard/static/apps.py), so the
degraded answers are real contract envelopes with real Retry-After headers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.static.apps import AppSwitch
from tests.dashboard.static.browser import fresh_page, screenshot
from tests.support.server import Server

BANNER = '[data-testid="degraded-banner"]'
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def page(browser: Browser, switch: AppSwitch) -> Iterator[Page]:
    with fresh_page(browser) as fresh:
        yield fresh


def test_index_lists_every_report(page: Page, server: Server) -> None:
    page.goto(server.url + "/")

    links = page.locator("#report-list a")
    expect(links).to_have_count(4)
    assert links.nth(0).get_attribute("href") == "/reports/wip-by-workcenter"
    expect(page.get_by_role("link", name="Daily output")).to_be_visible()


def test_report_page_shows_a_table_and_a_chart(page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/daily-output?days=7")

    expect(page.locator("#report-title")).to_have_text("Daily output")
    expect(page.locator('[data-testid="report-table"] tbody tr')).to_have_count(7)
    expect(page.locator('[data-testid="report-chart"] rect.bar')).to_have_count(7)
    expect(page.locator(BANNER)).to_have_count(0)


def test_report_without_a_chart_hint_is_a_table_only(page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/lots-on-hold?limit=5")

    expect(page.locator('[data-testid="report-table"] tbody tr')).to_have_count(5)
    expect(page.locator('[data-testid="report-chart"]')).to_have_count(0)


def test_degraded_banner_counts_down_keeps_the_data_and_goes_on_recovery(
        page: Page, server: Server, switch: AppSwitch) -> None:
    page.goto(server.url + "/reports/wip-by-workcenter?refresh=2")
    rows = page.locator('[data-testid="report-table"] tbody tr')
    expect(rows).to_have_count(12)
    first_row = rows.first.inner_text()
    screenshot(page, "report-page-normal.png")

    switched_at = time.time()
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=4)
    banner = page.locator(BANNER)
    expect(banner).to_be_visible(timeout=5000)
    expect(banner).to_contain_text("DB_POOL_EXHAUSTED")
    countdown = page.locator('[data-testid="degraded-countdown"]')
    first_count = int(countdown.get_attribute("data-seconds") or "0")
    page.wait_for_timeout(1100)
    later_count = int(countdown.get_attribute("data-seconds") or "0")
    assert 1 <= later_count < first_count <= 4, "a live countdown from the server's hint"
    expect(countdown).to_contain_text(f"Retrying in {later_count} s")
    expect(rows).to_have_count(12)  # the last good data stays on screen
    assert rows.first.inner_text() == first_row
    expect(banner).to_contain_text("Showing the last good data from")
    screenshot(page, "report-page-degraded.png")

    switch.normal()
    expect(banner).to_have_count(0, timeout=15000)
    recovered_at = time.time()
    expect(rows).to_have_count(12)
    expect(page.locator("#report-updated")).to_contain_text("Updated")
    during = [r for r in switch.requests() if switched_at <= r.at <= recovered_at]
    # No storm: the page waited out each 4 s hint (a degraded answer or two, then the probe)
    # instead of polling every 2 s or retrying at once.
    assert 2 <= len(during) <= 4, during
