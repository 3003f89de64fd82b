"""The deep probe against PostgreSQL behind the fault proxy: a hang cannot outlast its bound."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboard.config.sections import DatabaseSection
from dashboard.plugins.health.probe import DatabaseProbe
from tests.support.faultproxy import FaultProxy

TIMEOUT_MS = 1000
SLACK_S = 0.5


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with FaultProxy() as running:
        yield running


@pytest.fixture
def probe(pg_url: str, proxy: FaultProxy) -> Iterator[DatabaseProbe]:
    database = DatabaseSection(url=proxy.url_for(pg_url))
    made = DatabaseProbe(database, TIMEOUT_MS)
    yield made
    made.dispose()


def timed(probe: DatabaseProbe) -> tuple[dict, float]:
    started = time.monotonic()
    result = probe.check()
    return {"status": result.status, **result.details,
            "reason": result.degraded_reason}, time.monotonic() - started


def test_passes_through_a_working_database(probe: DatabaseProbe) -> None:
    result, _ = timed(probe)
    assert result["status"] == "pass" and result["reason"] is None
    assert 0 < result["latency_ms"] < TIMEOUT_MS


def test_refused_connection_fails_fast(probe: DatabaseProbe, proxy: FaultProxy) -> None:
    proxy.refuse()
    result, elapsed = timed(probe)
    assert result["status"] == "fail" and result["error"] == "connection_failed"
    assert result["reason"] == "database_unreachable"
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S


def test_frozen_connection_is_bounded_and_the_helper_is_woken(probe: DatabaseProbe,
                                                             proxy: FaultProxy) -> None:
    assert timed(probe)[0]["status"] == "pass"  # a pooled connection now exists
    proxy.hang()  # that live connection stops forwarding both ways
    result, elapsed = timed(probe)
    assert result["status"] == "fail" and result["error"] == "timeout"
    assert TIMEOUT_MS / 1000 - 0.05 <= elapsed < TIMEOUT_MS / 1000 + SLACK_S
    helper = probe._helper
    assert helper is not None
    helper.join(1.0)
    assert not helper.is_alive(), "the stuck read was interrupted, no thread leaks"
    proxy.pass_through()
    assert timed(probe)[0]["status"] == "pass"


def test_hanging_connect_is_bounded_and_never_stacks_helpers(probe: DatabaseProbe,
                                                            proxy: FaultProxy) -> None:
    proxy.hang()  # new connections are accepted and never answered
    result, elapsed = timed(probe)
    assert result["error"] == "timeout"
    assert elapsed < TIMEOUT_MS / 1000 + SLACK_S
    again, quick = timed(probe)
    assert again["status"] == "fail" and again["error"] == "previous_probe_running"
    assert quick < 0.1
    proxy.pass_through()
    deadline = time.monotonic() + 10
    while timed(probe)[0]["status"] != "pass":
        assert time.monotonic() < deadline, "the probe recovers once the database answers"
        time.sleep(0.2)
