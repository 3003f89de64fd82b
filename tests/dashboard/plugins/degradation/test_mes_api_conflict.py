"""MesApi in real Chromium retries ``DB_CONFLICT`` like the other degraded codes: a deadlock
victim's retry passes (docs/api/responses.md). The server is the switchable test app behind real
gunicorn (``tests/dashboard/conftest.py``), and what reached it is read from its own log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.dashboard.reports.static.apps import AppSwitch
from tests.dashboard.reports.static.browser import call, fresh_page, open_client_page
from tests.support.server import Server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def page(browser: Browser, server: Server, switch: AppSwitch) -> Iterator[Page]:
    with fresh_page(browser) as fresh:
        open_client_page(fresh, server.url)
        yield fresh


def test_db_conflict_is_retried_after_its_hint(page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_CONFLICT", retry_after=1, times=1)

    outcome = call(page, "/api/reports", {"maxRetries": 2})

    assert outcome["ok"], outcome
    requests = switch.requests()
    assert len(requests) == 2
    assert requests[1].at - requests[0].at >= 0.9  # it waited for Retry-After: 1
    events = page.evaluate("window.__events")
    assert events[0]["type"] == "mesapi:degraded"
    assert events[0]["detail"]["code"] == "DB_CONFLICT"
    assert page.evaluate("MesApi.DEGRADED_CODES").count("DB_CONFLICT") == 1
