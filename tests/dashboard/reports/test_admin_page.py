"""The operator page in real Chromium against a real gunicorn master with the recovery plugin.

A restart from the page must really reload the workers (new pids), carry the reason, override
and acknowledgement as JSON with a bearer token, only after a confirmation, and show the policy's
refusals for what they are. Health, the recommendation and the policy (with its countdown) are
on top; states read as words and times as local time with the zone.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from itertools import pairwise

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.dashboard.reports.pagetools import person_page
from tests.dashboard.reports.static.browser import screenshot
from tests.support.server import Server, gunicorn_server

TOKEN = "operator-test-token-7"
TOML = """
[dashboard]
plugins = ["breaker", "degradation", "health", "recovery"]
"""
RESTART_PATH = "/admin/api/worker/restart"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with gunicorn_server(tmp_path_factory.mktemp("admin"), TOML, workers=2,
                         env={"DASHBOARD_ADMIN_TOKEN": TOKEN}) as running:
        yield running


def worker_pids(server: Server) -> set[int]:
    answer = server.get("/admin/api/worker/status",
                        headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return {worker["pid"] for worker in answer["data"]["workers"]}


def wait_for_new_workers(server: Server, old: set[int], timeout: float = 40) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pids = worker_pids(server)
        except (requests.RequestException, KeyError, ValueError):
            pids = set()
        if len(pids) == 2 and not pids & old:
            return pids
        time.sleep(0.5)
    raise AssertionError(f"workers {old} were not replaced within {timeout}s")


def sign_in(page: Page, server: Server, token: str = TOKEN, query: str = "") -> None:
    page.goto(server.url + "/admin" + query)
    page.get_by_label("Token", exact=True).fill(token)
    page.get_by_role("button", name="Use token").click()


def submit_restart(page: Page, reason: str, *, override: bool = False,
                   acknowledge: bool = False) -> Request:
    page.get_by_label("Reason (required)").fill(reason)
    page.get_by_label("Override the restart policy").set_checked(override)
    page.get_by_label("I acknowledge").set_checked(acknowledge)
    page.get_by_role("button", name="Restart workers").click()
    with page.expect_request(lambda r: r.url.endswith(RESTART_PATH)) as sent:
        page.get_by_role("button", name="Yes, restart now").click()
    return sent.value


@pytest.fixture
def tokyo_page(browser: Browser) -> Iterator[Page]:
    with person_page(browser, timezone="Asia/Tokyo") as fresh:
        yield fresh


def test_health_recommendation_and_policy_come_first_even_without_a_token(
        page: Page, server: Server) -> None:
    health = server.get("/health").json()
    page.goto(server.url + "/admin")

    summary = page.get_by_test_id("health-summary")
    expect(summary).to_have_text("Healthy.")
    expect(page.get_by_test_id("health-reason")).to_have_text("none")
    recommendation = health["resilience"]["recommendation"]
    expect(page.get_by_test_id("health-recommendation")).to_have_text(
        f"{recommendation['action']}: {recommendation['reason']}")
    expect(page.get_by_test_id("policy-line")).to_have_text("Restarts: allowed.")
    # The health panel is above everything else on the page.
    assert page.locator("main section").first.get_attribute("data-testid") == "health-panel"
    # A healthy system: the page says a restart is not what the recommendation asks for.
    expect(page.get_by_test_id("restart-advice")).to_contain_text("not recommended")
    # The breaker reports `forced` (docs/api/admin.md): its controls are there, even before a token
    # (test_admin_breaker_page.py drives them).
    assert health["checks"]["breaker"]["forced"] is None
    expect(page.get_by_test_id("breaker-controls")).to_be_visible()
    expect(page.get_by_test_id("token-state")).to_contain_text("No token entered")
    expect(page.get_by_test_id("recovery-missing")).to_be_hidden()


def test_a_wrong_token_is_refused_and_said_so(page: Page, server: Server) -> None:
    sign_in(page, server, token="not-the-token")

    expect(page.locator("#status-error")).to_contain_text("refused (401)")
    state = page.get_by_test_id("token-state")
    expect(state).to_contain_text("refused that token (401), so no token is in use")
    expect(state).not_to_contain_text("token is entered")
    assert page.evaluate("sessionStorage.getItem('dashboard.adminToken')") is None


def test_a_cancelled_confirmation_sends_nothing(page: Page, server: Server) -> None:
    sign_in(page, server)
    expect(page.locator('[data-testid="workers"] tbody tr')).to_have_count(2)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith(RESTART_PATH) else None)

    page.get_by_label("Reason (required)").fill("Just looking")
    page.get_by_role("button", name="Restart workers").click()
    confirm = page.get_by_test_id("restart-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Restart all workers now? The policy is allowed.")
    page.get_by_role("button", name="Cancel").click()

    expect(confirm).to_be_hidden()
    expect(page.get_by_test_id("restart-result")).to_have_text(
        "Restart cancelled; nothing was sent.")
    page.wait_for_timeout(500)
    assert sent == []


def test_operator_restarts_workers_with_reason_override_and_acknowledgement(
        tokyo_page: Page, server: Server) -> None:
    page = tokyo_page
    wait_for_new_workers(server, set())  # listings come from the background read (~1 s old)
    sign_in(page, server)
    policy = page.get_by_test_id("policy-line")
    expect(policy).to_have_text("Restarts: allowed.")
    workers = page.locator('[data-testid="workers"] tbody tr')
    expect(workers).to_have_count(2)
    expect(page.get_by_test_id("token-state")).to_have_text(
        "Token accepted by the server (kept for this tab only).")
    # Each worker's breaker in words, and no single "answering worker" line to contradict it.
    for row in range(2):
        expect(workers.nth(row).locator("td").nth(3)).to_have_text("closed (calls pass)")
        expect(workers.nth(row).locator("td").nth(1)).to_contain_text("GMT+9")
    expect(page.locator("main")).not_to_contain_text("Answering worker")
    # The token lives in this tab's session storage only: not local storage, a cookie or the URL.
    assert page.evaluate("sessionStorage.getItem('dashboard.adminToken')") == TOKEN
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert TOKEN not in page.url
    before = worker_pids(server)

    sent = submit_restart(page, "Pool stuck after the failover drill")
    assert sent.method == "POST"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"].startswith("application/json")
    assert sent.post_data_json == {"reason": "Pool stuck after the failover drill",
                                   "override": False, "acknowledge": False}
    result = page.locator('[data-testid="restart-result"]')
    expect(result).to_contain_text("Restart executed")
    # The outcome is in the history at once, not after the next periodic refresh (10 s).
    history = page.locator('[data-testid="history"] tbody')
    expect(history.locator("tr").first).to_contain_text("Pool stuck after the failover drill",
                                                        timeout=4000)
    expect(history.locator("tr").first).to_contain_text("executed")
    requested = history.locator("tr").first.locator("td").first.inner_text()
    assert re.search(r"\d{2}:\d{2}:\d{2} GMT\+9$", requested), requested
    # The policy now cools down, with a countdown that moves.
    expect(policy).to_contain_text(re.compile(r"Restarts: cooling down; allowed again in \d+ s"))
    first = int(policy.get_attribute("data-seconds") or "0")
    page.wait_for_timeout(2200)
    assert 0 < int(policy.get_attribute("data-seconds") or "0") < first
    after_first = wait_for_new_workers(server, before)

    refused = submit_restart(page, "Still slow")
    assert refused.post_data_json["override"] is False
    expect(result).to_contain_text("cooling down")
    assert worker_pids(server) == after_first, "a refused restart restarts nothing"

    overridden = submit_restart(page, "Override: second reload during the incident",
                                override=True, acknowledge=True)
    assert overridden.post_data_json == {"reason": "Override: second reload during the incident",
                                         "override": True, "acknowledge": True}
    expect(result).to_contain_text("Restart executed")
    wait_for_new_workers(server, after_first)

    expect(history).to_contain_text("Override: second reload during the incident",
                                     timeout=15000)
    expect(history).to_contain_text("Pool stuck after the failover drill")
    expect(history.locator("tr").first).to_contain_text("executed")
    expect(history).to_contain_text("refused")
    expect(policy).to_contain_text("cooling down")
    expect(page.locator("main")).not_to_contain_text("cooling_down")
    screenshot(page, "operator-page.png")


def test_status_auto_refresh_waits_out_the_servers_hint(page: Page, server: Server) -> None:
    """Refreshing every second is asked for; a 3 s hint from the server wins."""
    hits: list[float] = []

    def breaker_open(route: Route) -> None:
        hits.append(time.monotonic())
        route.fulfill(status=503, headers={"Retry-After": "3"}, content_type="application/json",
                      body=json.dumps({"success": False, "error": {
                          "code": "CIRCUIT_BREAKER_OPEN", "message": "paused", "retryable": True},
                          "meta": {"request_id": "r", "retry_after_seconds": 3}}))

    page.route("**/admin/api/worker/status", breaker_open)
    sign_in(page, server, query="?refresh=1")
    banner = page.locator('[data-testid="degraded-banner"]')
    expect(banner).to_contain_text("CIRCUIT_BREAKER_OPEN")
    page.wait_for_timeout(7000)

    assert 2 <= len(hits) <= 3, hits
    assert all(later - earlier >= 2.9 for earlier, later in pairwise(hits))
