"""The operator page in real Chromium against a real gunicorn master with the recovery plugin.

A restart from the page must really reload the workers (new pids), carry the reason, override
and acknowledgement as JSON with a bearer token, and show the policy's refusals for what they are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import pairwise

import pytest
import requests
from playwright.sync_api import Page, Request, Route, expect

from tests.dashboard.static.browser import screenshot
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
    with page.expect_request(lambda r: r.url.endswith(RESTART_PATH)) as sent:
        page.get_by_role("button", name="Restart workers").click()
    return sent.value


def test_a_wrong_token_is_refused_and_said_so(page: Page, server: Server) -> None:
    sign_in(page, server, token="not-the-token")

    expect(page.locator("#status-error")).to_contain_text("refused (401)")


def test_operator_restarts_workers_with_reason_override_and_acknowledgement(
        page: Page, server: Server) -> None:
    sign_in(page, server)
    facts = page.locator('[data-testid="status-facts"]')
    expect(facts).to_contain_text("allowed")
    expect(page.locator('[data-testid="workers"] tbody tr')).to_have_count(2)
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

    history = page.locator('[data-testid="history"] tbody')
    expect(history).to_contain_text("Override: second reload during the incident",
                                     timeout=15000)
    expect(history).to_contain_text("Pool stuck after the failover drill")
    expect(history.locator("tr").first).to_contain_text("executed")
    expect(facts).to_contain_text("cooling_down")
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
