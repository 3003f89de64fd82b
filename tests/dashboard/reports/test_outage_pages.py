"""The pages during a real database outage: PostgreSQL behind the fault proxy, the demo app
under a real gunicorn with the breaker, degradation and health plugins.

Nothing is faked: the degraded answers are what the plugins say when the proxy refuses
connections, and /health's status is what the health plugin computes from the breaker.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from dashboard.reports.seed import init_db
from tests.conftest import PG_ADMIN_URL, pg_url_for
from tests.dashboard.reports.pagetools import BANNER, person_page
from tests.dashboard.reports.static.browser import screenshot
from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, gunicorn_server

pytestmark = pytest.mark.timeout(120)
OPEN_SECONDS = 4
RETRY_AFTER = 3
ROWS = '[data-testid="report-table"] tbody tr'


def toml(url: str) -> str:
    return f"""
[dashboard]
environment = "testing"
plugins = ["breaker", "degradation", "health"]

[database]
url = "{url}"
pool_size = 3
max_overflow = 0
pool_timeout = 5
connect_timeout = 2
pool_pre_ping = true

[plugins.breaker]
window_size = 4
minimum_calls = 4
failure_rate_threshold = 0.5
open_seconds = {OPEN_SECONDS}

[plugins.degradation]
connection_failed_retry_after = {RETRY_AFTER}
"""


@pytest.fixture(scope="module")
def seeded_pg() -> Iterator[str]:
    """A seeded demo database for the whole module (one server serves every test)."""
    name = f"dash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(pg_url_for(name))
    init_db(engine)
    engine.dispose()
    try:
        yield pg_url_for(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, seeded_pg: str,
           proxy: FaultProxy) -> Iterator[Server]:
    with gunicorn_server(tmp_path_factory.mktemp("outage"), toml(proxy.url_for(seeded_pg)),
                         workers=1) as running:
        yield running


@pytest.fixture
def page(browser: Browser, proxy: FaultProxy, server: Server) -> Iterator[Page]:
    proxy.pass_through()
    wait_until_serving_reports(server)
    with person_page(browser) as fresh:
        yield fresh
    proxy.pass_through()


def wait_until_serving_reports(server: Server, timeout: float = 30) -> None:
    """Until a report answers 200 (the breaker, if open, has let a probe through and closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.get("/api/reports/daily-output?days=1").status_code == 200:
            return
        time.sleep(0.5)
    raise AssertionError("the server did not serve reports again")


def open_the_breaker(server: Server) -> None:
    for _ in range(10):
        body = server.get("/api/reports/daily-output?days=1").json()
        if not body["success"] and body["error"]["code"] == "CIRCUIT_BREAKER_OPEN":
            return
    raise AssertionError("the breaker did not open")


def test_a_report_first_opened_during_an_outage_shows_the_banner_at_once(
        page: Page, server: Server, proxy: FaultProxy) -> None:
    proxy.refuse()

    page.goto(server.url + "/reports/daily-output")
    banner = page.locator(BANNER)
    expect(banner).to_be_visible(timeout=5000)
    expect(page.get_by_test_id("degraded-code")).to_have_text(
        re.compile("^(DB_CONNECTION_FAILED|CIRCUIT_BREAKER_OPEN)$"))
    countdown = page.get_by_test_id("degraded-countdown")
    expect(countdown).to_contain_text(re.compile(r"Retrying in [1-4] s"))
    expect(page.locator("#report-title")).to_have_text("Daily output")
    expect(page.get_by_test_id("report-updated")).to_have_text(
        "No data yet: waiting for the server.")
    expect(page.get_by_label("Days")).to_be_visible()
    screenshot(page, "report-page-outage-first-load.png")

    proxy.pass_through()
    expect(banner).to_have_count(0, timeout=30000)
    expect(page.locator(ROWS)).to_have_count(14)
    expect(page.get_by_test_id("report-updated")).to_contain_text("Updated")


def test_the_index_status_line_follows_health_through_an_outage(
        page: Page, server: Server, proxy: FaultProxy) -> None:
    page.goto(server.url + "/?refresh=1")
    strip = page.get_by_test_id("health-strip")
    expect(strip).to_have_attribute("data-status", "healthy")
    expect(strip).to_contain_text("Service: Healthy.")

    proxy.refuse()
    open_the_breaker(server)
    health = requests.get(server.url + "/health", timeout=10).json()
    assert health["degraded_reason"] == "circuit_breaker_open"
    expect(strip).to_have_attribute("data-status", health["status"], timeout=5000)
    expect(strip).to_contain_text(f"Service: {health['status'].capitalize()}: "
                                  "circuit breaker open.")
    screenshot(page, "index-outage.png")

    proxy.pass_through()
    wait_until_serving_reports(server)
    expect(strip).to_have_attribute("data-status", "healthy", timeout=5000)


def test_operator_page_shows_the_outage_and_that_recovery_is_not_enabled(
        page: Page, server: Server, proxy: FaultProxy) -> None:
    """This server runs health but not recovery: health says policy null, the page says why."""
    proxy.refuse()
    open_the_breaker(server)
    health = requests.get(server.url + "/health", timeout=10).json()
    assert health["resilience"]["policy"] is None

    page.goto(server.url + "/admin")
    expect(page.get_by_test_id("health-summary")).to_contain_text("circuit breaker open")
    expect(page.get_by_test_id("health-reason")).to_have_text("circuit breaker open")
    recommendation = health["resilience"]["recommendation"]
    expect(page.get_by_test_id("health-recommendation")).to_contain_text(
        recommendation["reason"])
    missing = page.get_by_test_id("recovery-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("recovery plugin is not enabled")
    expect(page.get_by_test_id("restart-form")).to_be_hidden()
    expect(page.locator("#status-error")).to_be_hidden()
    screenshot(page, "operator-page-outage-no-recovery.png")
