"""The report pages in real Chromium against a real gunicorn server: normal, degraded, stale,
recovered; controls bound to the URL, chart, table paging and sorting, 400 px, the HTML 404.

The server's app is the demo app behind the test switch (tests/dashboard/reports/static/apps.py), so
the degraded answers are real contract envelopes with real Retry-After headers. The same states from
a real database outage are in test_outage_pages.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from itertools import pairwise

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.reports.pagetools import BANNER, NARROW, horizontal_overflow, person_page
from tests.dashboard.reports.static.apps import AppSwitch
from tests.dashboard.reports.static.browser import screenshot
from tests.support.server import Server

pytestmark = pytest.mark.timeout(90)
ROWS = '[data-testid="report-table"] tbody tr'


@pytest.fixture
def page(browser: Browser, switch: AppSwitch) -> Iterator[Page]:
    with person_page(browser, timezone="America/New_York") as fresh:
        yield fresh


@pytest.fixture
def narrow_page(browser: Browser, switch: AppSwitch) -> Iterator[Page]:
    with person_page(browser, width=NARROW) as fresh:
        yield fresh


def test_index_lists_every_report_with_its_description(page: Page, server: Server) -> None:
    page.goto(server.url + "/")

    links = page.locator("#report-list a")
    expect(links).to_have_count(4)
    assert links.nth(0).get_attribute("href") == "/reports/wip-by-workcenter"
    expect(page.get_by_role("link", name="Daily output")).to_be_visible()
    items = page.locator("#report-list li")
    expect(items.nth(3)).to_contain_text("Good and scrapped units per day, with yield.")
    api = requests.get(server.url + "/api/reports", timeout=10).json()["data"]
    assert all(set(item) == {"name", "title", "description"} and item["description"]
               for item in api)
    # This server runs no health plugin: the status line says so instead of guessing.
    expect(page.get_by_test_id("health-strip")).to_contain_text("not enabled")


def test_report_page_shows_a_table_and_a_chart_with_axis_and_gridlines(
        page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/daily-output?days=7")

    expect(page.locator("#report-title")).to_have_text("Daily output")
    expect(page.locator(ROWS)).to_have_count(7)
    chart = page.get_by_test_id("report-chart")
    expect(chart.locator("rect.bar")).to_have_count(7)
    assert chart.get_by_test_id("chart-y-axis").locator("text").count() >= 3
    assert chart.get_by_test_id("chart-gridlines").locator("line").count() >= 3
    main_width = page.locator("main").evaluate("m => m.clientWidth")
    chart_width = chart.evaluate("svg => svg.getBoundingClientRect().width")
    assert chart_width >= main_width * 0.9, "the chart uses the page's width"
    expect(page.locator(BANNER)).to_have_count(0)


def test_numbers_have_separators_and_times_name_their_zone(page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/daily-output?days=3")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(3)

    good = rows.first.locator("td").nth(1).inner_text()
    assert re.fullmatch(r"\d{1,3}(,\d{3})+", good), good
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", rows.first.locator("td").first.inner_text())
    updated = page.get_by_test_id("report-updated")
    expect(updated).to_contain_text(re.compile(r"Updated .*\d{2}:\d{2}:\d{2} E[SD]T"))
    tick = page.get_by_test_id("chart-y-axis").locator("text").last.text_content() or ""
    assert "," in tick, tick


def test_controls_follow_the_url_and_the_url_follows_the_controls(
        page: Page, server: Server, switch: AppSwitch) -> None:
    page.goto(server.url + "/reports/daily-output?days=5")
    days = page.get_by_label("Days")
    expect(days).to_have_value("5")
    expect(page.locator(ROWS)).to_have_count(5)

    days.fill("9")
    days.press("Enter")
    expect(page.locator(ROWS)).to_have_count(9)
    assert page.url.endswith("/reports/daily-output?days=9")
    assert switch.requests()[-1].path == "/api/reports/daily-output?days=9"

    page.go_back()
    expect(days).to_have_value("5")
    expect(page.locator(ROWS)).to_have_count(5)

    page.goto(server.url + "/reports/wip-by-workcenter")
    expect(page.locator(ROWS)).to_have_count(12)
    page.get_by_label("Area").select_option("TEST")
    expect(page.locator(ROWS)).to_have_count(3)
    assert page.url.endswith("?area=TEST")
    assert switch.requests()[-1].path == "/api/reports/wip-by-workcenter?area=TEST"


def test_long_tables_are_paged_and_sortable(page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/lots-on-hold")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(20)
    expect(page.get_by_test_id("table-page")).to_have_text(re.compile(r"Page 1 of \d+"))
    first_page_lot = rows.first.locator("td").first.inner_text()

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_test_id("table-page")).to_contain_text("Page 2 of")
    assert "page=2" in page.url
    assert rows.first.locator("td").first.inner_text() != first_page_lot

    hours = page.get_by_role("button", name="Hours")
    hours.click()
    header = page.locator("th", has=page.get_by_role("button", name="Hours"))
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_test_id("table-page")).to_contain_text("Page 1 of")
    ascending = [float(v.replace(",", "")) for v in rows.locator("td:last-child").all_inner_texts()]
    assert ascending == sorted(ascending)
    hours.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    descending = [float(v.replace(",", ""))
                  for v in rows.locator("td:last-child").all_inner_texts()]
    assert descending == sorted(descending, reverse=True)
    assert "sort=hours_on_hold" in page.url and "dir=desc" in page.url

    page.reload()  # the view is in the URL: a reload (or a shared link) shows the same
    expect(header).to_have_attribute("aria-sort", "descending")


def test_report_without_a_chart_hint_is_a_table_only(page: Page, server: Server) -> None:
    page.goto(server.url + "/reports/lots-on-hold?limit=5")

    expect(page.locator(ROWS)).to_have_count(5)
    expect(page.get_by_test_id("report-chart")).to_have_count(0)
    expect(page.get_by_test_id("table-pager")).to_have_count(0)


@pytest.mark.parametrize("path", ["/", "/reports/wip-by-workcenter", "/reports/equipment-status",
                                  "/reports/lots-on-hold", "/reports/daily-output?days=60",
                                  "/admin", "/no-such-page"])
def test_every_page_fits_400_px_without_sideways_scrolling(
        narrow_page: Page, server: Server, path: str) -> None:
    narrow_page.goto(server.url + path)
    narrow_page.wait_for_load_state("networkidle")

    assert horizontal_overflow(narrow_page) == 0
    chart = narrow_page.get_by_test_id("report-chart")
    if chart.count():
        labels = chart.get_by_test_id("chart-x-axis").locator("text")
        boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
        assert len(boxes) >= 2
        assert all(a["x"] + a["width"] <= b["x"] for a, b in pairwise(boxes)), \
            "x labels overlap at 400 px"


def test_a_page_first_opened_while_degraded_shows_the_banner_at_once(
        page: Page, server: Server, switch: AppSwitch) -> None:
    switch.degrade("OVERLOADED", retry_after=5)
    page.goto(server.url + "/reports/equipment-status")

    banner = page.locator(BANNER)
    expect(banner).to_be_visible(timeout=3000)
    expect(banner).to_contain_text("OVERLOADED")
    expect(banner).to_contain_text("overloaded")
    countdown = page.get_by_test_id("degraded-countdown")
    expect(countdown).to_contain_text(re.compile(r"Retrying in [1-5] s"))
    expect(page.locator("#report-title")).to_have_text("Equipment status")
    expect(page.get_by_test_id("report-updated")).not_to_contain_text("Loading")
    expect(page.get_by_label("Area")).to_be_visible()  # the controls do not wait for data
    screenshot(page, "report-page-first-load-degraded.png")

    switch.normal()
    expect(banner).to_have_count(0, timeout=20000)
    expect(page.locator(ROWS)).to_have_count(12)


def test_degraded_banner_counts_down_keeps_the_data_and_goes_on_recovery(
        page: Page, server: Server, switch: AppSwitch) -> None:
    page.goto(server.url + "/reports/wip-by-workcenter?refresh=2")
    rows = page.locator(ROWS)
    expect(rows).to_have_count(12)
    first_row = rows.first.inner_text()
    screenshot(page, "report-page-normal.png")

    switched_at = time.time()
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=4)
    banner = page.locator(BANNER)
    expect(banner).to_be_visible(timeout=5000)
    expect(banner).to_contain_text("DB_POOL_EXHAUSTED")
    countdown = page.get_by_test_id("degraded-countdown")
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
    expect(page.get_by_test_id("report-updated")).to_contain_text("Updated")
    during = [r for r in switch.requests() if switched_at <= r.at <= recovered_at]
    # No storm: the page waited out each 4 s hint (a degraded answer or two, then the probe)
    # instead of polling every 2 s or retrying at once.
    assert 2 <= len(during) <= 4, during


def test_stale_data_is_shown_with_its_age_and_reason_then_replaced_by_live_data(
        browser: Browser, server: Server, switch: AppSwitch) -> None:
    with person_page(browser, timezone="UTC") as page:
        switch.stale("DB_CONNECTION_FAILED", age_seconds=22 * 60, retry_after=3)
        opened_at = time.time()
        page.goto(server.url + "/reports/daily-output?days=4")

        banner = page.locator(BANNER)
        expect(page.locator(ROWS)).to_have_count(4)
        kept = time.strftime("%H:%M", time.gmtime(opened_at - 22 * 60))
        expect(banner).to_contain_text(f"Showing data from {kept} UTC (22 min old): "
                                       "database unavailable;")
        expect(banner).to_contain_text("DB_CONNECTION_FAILED")
        expect(page.get_by_test_id("degraded-countdown")).to_contain_text(
            re.compile(r"Retrying in [1-3] s"))
        expect(page.get_by_test_id("report-updated")).to_contain_text("Saved copy from")
        screenshot(page, "report-page-stale.png")

        switch.normal()
        expect(banner).to_have_count(0, timeout=15000)
        expect(page.get_by_test_id("report-updated")).to_contain_text("Updated")
        expect(page.locator(ROWS)).to_have_count(4)


def test_an_unknown_page_is_an_html_page_for_browsers_and_an_envelope_for_clients(
        page: Page, server: Server) -> None:
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for path in ("/no-such-page", "/reports/no-such-report"):
        as_browser = requests.get(server.url + path, headers={"Accept": browser_accept},
                                  timeout=10)
        assert as_browser.status_code == 404
        assert as_browser.headers["Content-Type"].startswith("text/html")
        assert '<a href="/">' in as_browser.text
        assert as_browser.headers["X-Request-ID"]
    for accept in ("application/json", "*/*", "application/json, text/html;q=0.5", None):
        headers = {"Accept": accept} if accept else {}
        as_client = requests.get(server.url + "/no-such-page", headers=headers, timeout=10)
        assert as_client.status_code == 404
        assert as_client.json()["error"]["code"] == "NOT_FOUND"
    under_api = requests.get(server.url + "/api/no-such-thing",
                             headers={"Accept": browser_accept}, timeout=10)
    assert under_api.json()["error"]["code"] == "NOT_FOUND"

    response = page.goto(server.url + "/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("link", name="Go to the list of reports").click()
    expect(page.locator("#report-list a")).to_have_count(4)


def test_operator_page_without_recovery_or_health_says_so(page: Page, server: Server) -> None:
    """This server enables no plugin: no admin API (404) and no /health."""
    page.goto(server.url + "/admin")

    expect(page.get_by_test_id("recovery-missing")).to_be_visible()
    expect(page.get_by_test_id("recovery-missing")).to_contain_text("not enabled")
    expect(page.get_by_test_id("restart-form")).to_be_hidden()
    expect(page.get_by_test_id("health-summary")).to_contain_text("not enabled")
