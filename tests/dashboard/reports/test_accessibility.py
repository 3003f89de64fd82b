"""Every page passes axe-core with no serious or critical violation, at 1400 px and at 400 px,
on a real gunicorn with the plugins of a real deployment; each is photographed at both widths
into test-artifacts/screenshots/ for a person to look at.

The audit runs on the page as a person sees it: after its data (or its health) has arrived, the
operator page both without a token and signed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.reports.pagetools import (
    NARROW,
    WIDE,
    axe_violations,
    horizontal_overflow,
    person_page,
    screenshot,
)
from tests.support.server import Server, gunicorn_server

TOKEN = "a11y-operator-token-3"
TOML = """
[dashboard]
plugins = ["redaction", "breaker", "degradation", "health", "recovery"]
"""
ROWS = '[data-testid="report-table"] tbody tr'
pytestmark = pytest.mark.timeout(90)


def ready_index(page: Page) -> None:
    expect(page.locator("#report-list a")).to_have_count(4)
    expect(page.get_by_test_id("health-strip")).to_have_attribute("data-status", "healthy")


def ready_report(page: Page) -> None:
    expect(page.locator(ROWS).first).to_be_visible()


def ready_admin(page: Page) -> None:
    expect(page.get_by_test_id("health-summary")).to_have_text("Healthy.")
    expect(page.get_by_test_id("token-state")).to_contain_text("No token entered")


def ready_admin_signed_in(page: Page) -> None:
    ready_admin(page)
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator('[data-testid="workers"] tbody tr')).to_have_count(2)


def ready_not_found(page: Page) -> None:
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


PAGES: dict[str, tuple[str, Callable[[Page], None]]] = {
    "index": ("/", ready_index),
    "report-wip-by-workcenter": ("/reports/wip-by-workcenter", ready_report),
    "report-equipment-status": ("/reports/equipment-status", ready_report),
    "report-lots-on-hold": ("/reports/lots-on-hold", ready_report),
    "report-daily-output": ("/reports/daily-output?days=30", ready_report),
    "admin-no-token": ("/admin", ready_admin),
    "admin-signed-in": ("/admin", ready_admin_signed_in),
    "not-found": ("/no-such-page", ready_not_found),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with gunicorn_server(tmp_path_factory.mktemp("a11y"), TOML, workers=2,
                         env={"DASHBOARD_ADMIN_TOKEN": TOKEN}) as running:
        yield running


@pytest.mark.parametrize("width", [WIDE, NARROW])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_accessibility_violation(
        browser: Browser, server: Server, name: str, width: int) -> None:
    path, ready = PAGES[name]
    with person_page(browser, width=width) as page:
        page.goto(server.url + path)
        ready(page)

        violations = axe_violations(page)
        screenshot(page, f"{name}-{width}")

        assert violations == [], violations
        assert horizontal_overflow(page) == 0
