"""The operator page's breaker controls (docs/api/admin.md) in real Chromium against a real gunicorn
(two workers, the real plugins): shown when health's breaker carries ``forced``, a confirmation
before each action, force open shown at once with a live countdown while report calls get
``CIRCUIT_BREAKER_OPEN`` with ``Retry-After`` ~= the time left, reset back to closed, the
operator's reason shown only from authenticated answers (never from public /health), the page
with the controls visible passes axe-core, screenshots at 1400 and 400 px."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, expect

from tests.dashboard.reports.pagetools import (
    NARROW,
    WIDE,
    axe_violations,
    horizontal_overflow,
    person_page,
    screenshot,
)
from tests.support.server import Server, gunicorn_server

TOKEN = "breaker-page-token-5"
#: No ``fallback``: a refused report call answers CIRCUIT_BREAKER_OPEN, not stale data.
TOML = """
[dashboard]
plugins = ["redaction", "breaker", "degradation", "health", "recovery"]
"""
PATH = "/admin/api/breaker"
REPORT = "/api/reports/wip-by-workcenter"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with gunicorn_server(tmp_path_factory.mktemp("breaker-page"), TOML, workers=2,
                         env={"DASHBOARD_ADMIN_TOKEN": TOKEN}) as running:
        yield running


@pytest.fixture(autouse=True)
def reset_after(server: Server) -> Iterator[None]:
    yield
    requests.post(server.url + PATH, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
                  json={"action": "reset", "reason": "test cleanup", "acknowledge": True})


def signed_in(page: Page, server: Server) -> None:
    page.goto(server.url + "/admin")
    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.get_by_test_id("token-state")).to_contain_text("Token accepted")
    expect(page.get_by_test_id("breaker-controls")).to_be_visible()


def fill(page: Page, action: str, reason: str, seconds: int | None = None) -> None:
    page.get_by_label("Action").select_option(action)
    if seconds is not None:
        page.get_by_label("Duration in seconds").fill(str(seconds))
    page.get_by_label("Reason for the breaker change").fill(reason)
    page.get_by_label("Acknowledged: this changes the breaker").check()
    page.get_by_role("button", name="Apply to the breaker").click()


def confirm(page: Page) -> Request:
    with page.expect_request(lambda r: r.url.endswith(PATH)) as sent:
        page.get_by_role("button", name="Yes, apply").click()
    return sent.value


def test_controls_are_shown_and_a_cancelled_confirmation_sends_nothing(
        page: Page, server: Server) -> None:
    health = server.get("/health").json()
    assert health["checks"]["breaker"]["forced"] is None
    signed_in(page, server)
    forced = page.get_by_test_id("breaker-forced")
    expect(forced).to_have_attribute("data-forced", "none")
    expect(forced).to_contain_text("No override for every worker of this host: the breaker "
                                   "follows the failure rate (now closed (calls pass))")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith(PATH) else None)

    fill(page, "force_open", "just looking", 300)
    dialog = page.get_by_test_id("breaker-confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Force the breaker open for 5 min? It applies to the "
                                   "breaker's whole scope, every worker of it, not only the "
                                   "one answering this page. Every database call will be "
                                   "refused meanwhile.")
    page.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("breaker-result")).to_have_text("Cancelled; nothing was sent.")
    page.wait_for_timeout(300)
    assert sent == []
    assert server.get(REPORT).status_code == 200


def test_force_open_shows_at_once_counts_down_refuses_reports_then_reset_closes(
        browser: Browser, server: Server) -> None:
    with person_page(browser, timezone="Asia/Tokyo") as page:
        signed_in(page, server)
        fill(page, "force_open", "primary failover", 90)
        sent = confirm(page)
        started = time.monotonic()
        assert sent.post_data_json == {"action": "force_open", "reason": "primary failover",
                                       "acknowledge": True, "duration_seconds": 90}
        assert sent.headers["authorization"] == f"Bearer {TOKEN}"

        result = page.get_by_test_id("breaker-result")
        expect(result).to_contain_text(re.compile(
            r"Forced open for every worker of this host until .* GMT\+9\."))
        forced = page.get_by_test_id("breaker-forced")
        expect(forced).to_have_attribute("data-forced", "open", timeout=1000)  # at once
        expect(forced).to_contain_text(re.compile(
            r"Forced open by an operator for every worker of this host: every database call is "
            r"refused for \d+ s more \(until \d\d:\d\d GMT\+9\)\. Reason: primary failover"))
        first = int(forced.get_attribute("data-seconds") or "0")
        assert 85 <= first <= 90
        page.wait_for_timeout(2200)
        assert 0 < int(forced.get_attribute("data-seconds") or "0") < first

        # A report call from the page's own client is refused with the time left.
        report = page.evaluate("""async (url) => {
            const response = await fetch(url, {cache: "no-store"});
            return {status: response.status, retryAfter: response.headers.get("Retry-After"),
                    body: await response.json()};
        }""", REPORT)
        left = 90 - (time.monotonic() - started)
        assert report["status"] == 503
        assert report["body"]["error"]["code"] == "CIRCUIT_BREAKER_OPEN"
        assert abs(int(report["retryAfter"]) - left) <= 1.5
        # Health (any worker, once its memo is fresh) agrees; the page keeps saying so.
        expect(page.get_by_test_id("health-summary")).to_have_text(
            "Degraded: circuit breaker open.", timeout=15000)
        expect(forced).to_have_attribute("data-forced", "open")
        screenshot(page, "admin-breaker-forced-open")

        page.get_by_label("Action").select_option("reset")
        expect(page.get_by_label("Duration in seconds")).to_be_disabled()
        fill(page, "reset", "failover done")
        expect(page.get_by_test_id("breaker-confirm")).to_contain_text(
            "Reset the breaker? It applies to the breaker's whole scope")
        assert "duration_seconds" not in confirm(page).post_data_json
        expect(result).to_have_text("Reset: no override is in force for every worker of this host.")
        # The answer shows at once; a health read from the other worker made before its relay
        # applied the reset (every 50 ms, later on a loaded machine) may show the override
        # again until that worker's next read, as the health summary does.
        expect(forced).to_have_attribute("data-forced", "none", timeout=15000)
        expect(page.get_by_test_id("health-summary")).to_have_text("Healthy.", timeout=15000)
        expect(forced).to_contain_text("No override for every worker of this host: the "
                                       "breaker follows the failure rate (now closed (calls "
                                       "pass)).")
        # The other worker applies the reset on its relay's next round (every 50 ms, later on a
        # loaded machine): until then it may still refuse, and nothing else.
        deadline = time.monotonic() + 10
        while (answer := server.get(REPORT)).status_code != 200:
            assert answer.json()["error"]["code"] == "CIRCUIT_BREAKER_OPEN", answer.text
            assert time.monotonic() < deadline, "a worker never applied the reset"
            time.sleep(0.05)


def test_the_reason_is_shown_from_the_authenticated_answer_never_from_health(
        page: Page, server: Server) -> None:
    """Another operator forced the breaker open with a reason naming an incident and a host:
    public /health (and so the page without a token) says only that an override is in force,
    its action and its time left; with the token, the page shows the reason from the admin
    API's system-status; forgetting the token takes it off the page again."""
    secret = "INC-1234 primary db failover to 10.1.2.3"
    forced_by_api = requests.post(server.url + PATH, headers={"Authorization": f"Bearer {TOKEN}"},
                                  json={"action": "force_open", "reason": secret,
                                        "duration_seconds": 600, "acknowledge": True},
                                  timeout=10)
    assert forced_by_api.status_code == 200, forced_by_api.text
    health_bodies: list[str] = []
    page.on("response", lambda r: health_bodies.append(r.text())
            if r.url.endswith("/health") and r.ok else None)
    page.goto(server.url + "/admin")
    forced = page.get_by_test_id("breaker-forced")
    expect(forced).to_have_attribute("data-forced", "open", timeout=15000)  # health's memo
    expect(forced).to_contain_text("Forced open by an operator for every worker of this host")
    assert "Reason" not in (forced.text_content() or "")

    page.get_by_label("Token", exact=True).fill(TOKEN)
    page.get_by_role("button", name="Use token").click()
    expect(page.get_by_test_id("token-state")).to_contain_text("Token accepted")
    expect(forced).to_contain_text(f"Reason: {secret}")
    page.get_by_role("button", name="Forget token").click()
    expect(forced).not_to_contain_text("Reason")
    expect(forced).to_have_attribute("data-forced", "open")

    assert health_bodies and all("forced" in body for body in health_bodies)
    assert not [body for body in health_bodies if "INC-1234" in body or "10.1.2.3" in body]
    assert "INC-1234" not in server.get("/health").text


def test_a_refusal_from_the_server_is_shown(page: Page, server: Server) -> None:
    signed_in(page, server)
    page.evaluate("document.getElementById('breaker-duration').removeAttribute('max')")
    fill(page, "disable", "too long", 90000)
    confirm(page)
    expect(page.get_by_test_id("breaker-result")).to_have_text(
        "Refused: VALIDATION_ERROR: duration_seconds must be between 1 and 86400")
    expect(page.get_by_test_id("breaker-forced")).to_have_attribute("data-forced", "none")


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_page_with_the_controls_visible_has_no_serious_accessibility_violation(
        browser: Browser, server: Server, width: int) -> None:
    with person_page(browser, width=width) as page:
        signed_in(page, server)
        fill(page, "disable", "replica flapping", 600)
        confirm(page)
        expect(page.get_by_test_id("breaker-forced")).to_have_attribute("data-forced",
                                                                        "disabled")
        fill(page, "force_open", "check the dialog too", 60)  # the dialog open, unanswered
        expect(page.get_by_test_id("breaker-confirm")).to_be_visible()

        violations = axe_violations(page)
        screenshot(page, f"admin-breaker-controls-{width}")

        assert violations == [], violations
        assert horizontal_overflow(page) == 0
