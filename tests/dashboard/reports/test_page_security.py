"""Pages a browser opens are hardened: a policy that forbids inline script and framing, no MIME
sniffing, a same-origin referrer, a refresh floor that no `?refresh=` can undercut, and
redirects that never write the client's ``Host`` back into ``Location``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, expect

from tests.dashboard.reports.pagetools import person_page
from tests.dashboard.reports.static.apps import AppSwitch
from tests.support.server import Server

pytestmark = pytest.mark.timeout(90)
PAGES = ["/", "/reports/daily-output", "/admin", "/no-such-page"]


@pytest.fixture
def page(browser: Browser, switch: AppSwitch) -> Iterator[Page]:
    with person_page(browser) as fresh:
        yield fresh


@pytest.mark.parametrize("path", PAGES)
def test_every_html_page_carries_the_security_headers(server: Server, path: str) -> None:
    response = requests.get(server.url + path, headers={"Accept": "text/html"}, timeout=10)
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_pages_work_under_their_policy_with_no_violation(page: Page, server: Server) -> None:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(server.url + "/reports/daily-output")
    expect(page.locator('[data-testid="report-table"] tbody tr').first).to_be_visible()
    page.goto(server.url + "/")
    expect(page.locator("#report-list a")).to_have_count(4)
    assert not [text for text in messages if "Content Security Policy" in text], messages


def test_a_tiny_refresh_is_raised_to_two_seconds(page: Page, server: Server) -> None:
    sent: list[float] = []

    def count(request: Request) -> None:
        if request.url.endswith("/health"):
            sent.append(time.monotonic())

    page.on("request", count)
    page.goto(server.url + "/?refresh=0.001")
    page.wait_for_timeout(5000)
    # One at once, then one every 2 s at the most: never more than 4 in 5 s (it was 456).
    assert 1 <= len(sent) <= 4, len(sent)
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert all(gap >= 1.9 for gap in gaps), gaps


def test_a_redirect_never_reflects_the_host_header(server: Server) -> None:
    response = requests.get(server.url + "//reports//daily-output?days=7", timeout=10,
                            headers={"Host": "evil.example"}, allow_redirects=False)
    assert response.status_code in (301, 308)
    location = response.headers["Location"]
    assert location == "/reports/daily-output?days=7"
    assert "evil.example" not in location
