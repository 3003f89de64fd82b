"""MesApi in real Chromium against a real gunicorn server whose app is switched to degraded answers.

What reached the server, and when, is read from the switchable test app's own log, so these tests
count requests on the server side rather than trusting the client about itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest
from playwright.sync_api import Browser, Page

from tests.dashboard.reports.static.apps import AppSwitch
from tests.dashboard.reports.static.browser import call, fresh_page, open_client_page
from tests.support.server import Server, free_port

REPORTS = "/api/reports"
pytestmark = pytest.mark.timeout(60)  # a client that never settles must fail, not hang the run


@pytest.fixture
def page(browser: Browser, server: Server, switch: AppSwitch) -> Iterator[Page]:
    with fresh_page(browser) as fresh:
        open_client_page(fresh, server.url)
        yield fresh


def gaps(switch: AppSwitch) -> list[float]:
    times = [r.at for r in switch.requests()]
    return [later - earlier for earlier, later in pairwise(times)]


def test_success_resolves_with_the_envelope_data(page: Page, switch: AppSwitch) -> None:
    outcome = call(page, REPORTS)

    assert outcome["ok"], outcome
    daily = next(item for item in outcome["data"] if item["name"] == "daily-output")
    assert daily["title"] == "Daily output"
    assert daily["description"]
    assert page.evaluate("typeof MesApi.get + typeof MesApi.post + typeof MesApi.request") == \
        "functionfunctionfunction"
    assert len(switch.requests()) == 1


def test_overloaded_is_retried_like_the_other_degraded_codes(
        page: Page, switch: AppSwitch) -> None:
    """docs/api/responses.md: OVERLOADED (admission) is degraded and retried after its hint."""
    switch.degrade("OVERLOADED", retry_after=1, times=1)

    outcome = call(page, REPORTS, {"maxRetries": 2})

    assert outcome["ok"], outcome
    assert len(switch.requests()) == 2
    events = page.evaluate("window.__events")
    assert events[0]["type"] == "mesapi:degraded"
    assert events[0]["detail"]["code"] == "OVERLOADED"
    assert page.evaluate("MesApi.DEGRADED_CODES").count("OVERLOADED") == 1


def test_a_stale_answer_resolves_with_its_data_and_says_how_old(
        page: Page, switch: AppSwitch) -> None:
    """docs/plugins/fallback.md: a stand-in resolves like a success, after mesapi:stale with its
    age."""
    switch.stale("DB_CONNECTION_FAILED", age_seconds=1320, retry_after=28)
    page.evaluate("window.__stale = []; addEventListener('mesapi:stale', "
                  "e => __stale.push(e.detail))")

    outcome = call(page, REPORTS + "/daily-output?days=3")

    assert outcome["ok"], outcome
    assert len(outcome["data"]["rows"]) == 3
    stale = page.evaluate("window.__stale")
    assert len(stale) == 1
    assert stale[0]["url"] == REPORTS + "/daily-output?days=3"
    assert stale[0]["ageSeconds"] == 1320
    assert stale[0]["code"] == "DB_CONNECTION_FAILED"
    assert stale[0]["retryAfterSeconds"] == 28
    assert len(switch.requests()) == 1, "a stale answer is an answer: not retried"
    assert page.evaluate("MesApi.cooldown()") is None, "and it arms no cooldown"


def test_pool_exhausted_is_retried_after_the_hint_then_rejected(
        page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=2)

    outcome = call(page, REPORTS, {"maxRetries": 2})

    assert not outcome["ok"]
    assert outcome["isMesApiError"] and outcome["name"] == "MesApiError"
    assert (outcome["status"], outcome["code"]) == (503, "DB_POOL_EXHAUSTED")
    assert outcome["degraded"] is True
    assert outcome["attempts"] == 3
    assert outcome["retryAfterSeconds"] == 2
    assert len(switch.requests()) == 3
    # The hint is the floor; full jitter (base 500 ms, doubling) comes on top, never instead.
    assert all(2.0 <= gap < 2.0 + 0.5 * 2 ** retry + 1.0
               for retry, gap in enumerate(gaps(switch))), gaps(switch)


def test_overloaded_is_retried_after_the_hint_like_the_other_degraded_codes(
        page: Page, switch: AppSwitch) -> None:
    switch.degrade("OVERLOADED", retry_after=1, times=1)

    outcome = call(page, REPORTS, {"maxRetries": 2})

    assert outcome["ok"], outcome
    assert len(switch.requests()) == 2
    assert gaps(switch)[0] >= 1.0
    assert page.evaluate("MesApi.DEGRADED_CODES").count("OVERLOADED") == 1
    events = page.evaluate("window.__events")
    assert [e["type"] for e in events] == ["mesapi:degraded", "mesapi:recovered"]
    assert events[0]["detail"]["code"] == "OVERLOADED"


def test_calls_during_a_cooldown_send_one_probe_and_follow_its_success(
        page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=2, times=1)
    first = call(page, REPORTS, {"maxRetries": 0})
    assert first["code"] == "DB_POOL_EXHAUSTED"
    switch.normal(delay_ms=800)  # the probe takes a while: followers must wait for its answer

    widgets = page.evaluate("""async () => {
        const calls = [1, 2, 3, 4, 5].map(() => MesApi.get("/api/reports", {maxRetries: 0}));
        return (await Promise.allSettled(calls)).map(r => r.status);
    }""")

    assert widgets == ["fulfilled"] * 5
    arrivals = [r.at for r in switch.requests()]
    assert len(arrivals) == 1 + 5
    armed_at, probe_at, followers = arrivals[0], arrivals[1], arrivals[2:]
    assert probe_at - armed_at >= 2.0, "nothing is sent while the cooldown is armed"
    assert all(at - probe_at >= 0.8 for at in followers), "followers wait for the probe's answer"
    events = page.evaluate("window.__events")
    assert [e["type"] for e in events] == ["mesapi:degraded", "mesapi:recovered"]
    detail = events[0]["detail"]
    assert (detail["code"], detail["retryAfterSeconds"]) == ("DB_POOL_EXHAUSTED", 2)
    assert 1900 <= detail["until"] - events[0]["at"] <= 2100


def test_a_failed_probe_rearms_the_cooldown_and_holds_the_followers(
        page: Page, switch: AppSwitch) -> None:
    switch.degrade("CIRCUIT_BREAKER_OPEN", retry_after=1, times=2)
    call(page, REPORTS, {"maxRetries": 0})
    switch.degrade("CIRCUIT_BREAKER_OPEN", retry_after=1, times=1, delay_ms=300)

    widgets = page.evaluate("""async () => {
        const calls = [1, 2, 3, 4, 5].map(() => MesApi.get("/api/reports", {maxRetries: 3}));
        return (await Promise.allSettled(calls)).map(r => r.status);
    }""")

    assert widgets == ["fulfilled"] * 5
    arrivals = [r.at for r in switch.requests()]
    assert len(arrivals) == 1 + 1 + 5, "one failed probe, one good probe, four followers"
    failed_probe, good_probe, followers = arrivals[1], arrivals[2], arrivals[3:]
    assert failed_probe - arrivals[0] >= 1.0
    assert good_probe - failed_probe >= 1.3, "its degraded answer re-armed the cooldown"
    assert all(at - good_probe >= 0.3 for at in followers)


def test_client_errors_reach_the_server_once(page: Page, switch: AppSwitch) -> None:
    invalid = call(page, REPORTS + "/lots-on-hold?limit=many", {"maxRetries": 2})
    missing = call(page, REPORTS + "/no-such-report", {"maxRetries": 2})

    assert (invalid["status"], invalid["code"], invalid["attempts"]) == \
        (400, "VALIDATION_ERROR", 1)
    assert (missing["status"], missing["code"], missing["attempts"]) == (404, "NOT_FOUND", 1)
    assert invalid["degraded"] is False and missing["degraded"] is False
    assert len(switch.requests()) == 2


def test_a_post_is_not_retried_unless_marked_retry_unsafe(page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_QUERY_TIMEOUT", retry_after=1)

    post = call(page, REPORTS, {"maxRetries": 2}, method="POST", body={"x": 1})
    assert (post["status"], post["code"], post["attempts"]) == (504, "DB_QUERY_TIMEOUT", 1)
    assert len(switch.requests()) == 1

    unsafe = call(page, REPORTS, {"maxRetries": 1, "retryUnsafe": True, "baseDelayMs": 50},
                  method="POST", body={"x": 1})
    assert unsafe["attempts"] == 2
    assert [r.method for r in switch.requests()] == ["POST"] * 3


def test_a_hint_above_max_delay_rejects_at_once(page: Page, switch: AppSwitch) -> None:
    switch.degrade("CIRCUIT_BREAKER_OPEN", retry_after=30)

    outcome = call(page, REPORTS, {"maxRetries": 2, "maxDelayMs": 5000})
    # A second call while that 30 s cooldown is armed is not sent and does not wait either.
    second = call(page, REPORTS, {"maxRetries": 2, "maxDelayMs": 5000})

    assert (outcome["code"], outcome["degraded"], outcome["attempts"]) == \
        ("CIRCUIT_BREAKER_OPEN", True, 1)
    assert outcome["retryAfterSeconds"] == 30
    assert outcome["ms"] < 1000
    assert (second["code"], second["degraded"], second["attempts"]) == \
        ("CIRCUIT_BREAKER_OPEN", True, 0)
    assert second["ms"] < 200
    assert len(switch.requests()) == 1


def test_abort_stops_waiting_for_a_retry(page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=2)

    outcome = call(page, REPORTS, {"maxRetries": 2}, abort_after_ms=400)

    assert (outcome["ok"], outcome["name"]) == (False, "AbortError")
    assert outcome["ms"] < 1000
    page.wait_for_timeout(2500)  # past the moment the retry would have been sent
    assert len(switch.requests()) == 1


def test_abort_stops_waiting_for_the_origin_cooldown(page: Page, switch: AppSwitch) -> None:
    switch.degrade("DB_POOL_EXHAUSTED", retry_after=2)
    call(page, REPORTS, {"maxRetries": 0})
    switch.normal()

    outcome = call(page, REPORTS, {"maxRetries": 2}, abort_after_ms=300)

    assert (outcome["name"], outcome["ms"] < 1000) == ("AbortError", True)
    page.wait_for_timeout(2200)  # past the end of the cooldown
    assert len(switch.requests()) == 1


def test_abort_cancels_a_request_in_flight(page: Page, switch: AppSwitch) -> None:
    switch.normal(delay_ms=1500)

    outcome = call(page, REPORTS, {"maxRetries": 2}, abort_after_ms=300)

    assert (outcome["name"], outcome["ms"] < 1000) == ("AbortError", True)
    assert len(switch.requests()) == 1, "aborted, not retried"


def test_network_errors_are_retried_and_reported(page: Page) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/reports"

    outcome = call(page, closed, {"maxRetries": 1, "baseDelayMs": 50})

    assert (outcome["status"], outcome["code"], outcome["attempts"]) == (0, "NETWORK_ERROR", 2)
    assert outcome["degraded"] is False
