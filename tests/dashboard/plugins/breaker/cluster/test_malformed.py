"""Shared state is bounded, through real Redis (docs/plugins/breaker-cluster.md): a malformed
record, override or lease reads as absent with one WARNING line (not as Redis down, never
adopted) and the next write replaces it; a well-formed record with a ten-year period is adopted
by a real host breaker cut to ``open_seconds_max``.

Before records.py ``int("abc")`` raised out of the read: the syncer counted it as a failed
round trip, said "Redis does not answer" and fell back to host scope, for as long as the record
stayed; a key of another type did the same (``WRONGTYPE``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dashboard.clock import SystemClock
from dashboard.plugins.breaker.cluster.redislink import OPEN, ClusterRecord, RedisLink
from dashboard.plugins.breaker.cluster.syncer import ClusterSyncer
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError
from dashboard.plugins.breaker.host.breaker import HostBreaker
from tests.support.redisserver import SHARED_URL, own_namespace

TEN_YEARS_MS = 315_360_000_000


@pytest.fixture
def namespace() -> Iterator[str]:
    with own_namespace() as prefix:
        yield prefix + ":app"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(SHARED_URL, socket_timeout=5)
    yield connection
    connection.close()


def link_for(namespace: str, host_id: str = "a") -> RedisLink:
    return RedisLink(SHARED_URL, namespace=namespace, host_id=host_id, timeout_ms=500)


def server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def good(client: redis.Redis, **fields: object) -> dict[str, object]:
    return {"state": "OPEN", "version": 3, "generation": 1,
            "open_until_ms": server_ms(client) + 60_000, "reason": "failure rate",
            "origin": "elsewhere", **fields}


BAD_RECORDS = {
    "version not a number": {"version": "abc"},
    "open_until_ms not a number": {"open_until_ms": "x"},
    "a float period": {"open_until_ms": "1e30"},
    "state unknown": {"state": "OPEN\n[CRITICAL] forged"},
}


@pytest.mark.parametrize("change", list(BAD_RECORDS.values()), ids=list(BAD_RECORDS))
def test_a_malformed_record_reads_as_absent_once_said_and_is_replaced_by_the_next_write(
        namespace: str, client: redis.Redis, change: dict[str, object],
        caplog: pytest.LogCaptureFixture) -> None:
    client.hset(f"{namespace}:record", mapping=good(client, **change))  # type: ignore[arg-type]
    link = link_for(namespace)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        readings = [link.read() for _ in range(5)]
    assert all(r.record.state == "CLOSED" and r.record.origin is None for r in readings)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "malformed" in caplog.text and "\n[CRITICAL]" not in caplog.text
    assert link.write_record(readings[-1].record.version, OPEN, open_seconds=5)
    record = link.read().record
    assert (record.state, record.origin) == (OPEN, "a")


def test_missing_fields_or_a_json_string_are_malformed_too(
        namespace: str, client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    link = link_for(namespace)
    key = f"{namespace}:record"
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        client.hset(key, mapping={"state": "OPEN", "origin": "elsewhere"})
        assert link.read().record == ClusterRecord()
        client.delete(key)
        client.set(key, json.dumps(good(client)))
        assert link.read().record == ClusterRecord() and link.read().record == ClusterRecord()
        assert link.write_record(0, OPEN, open_seconds=5)
    assert len(caplog.records) == 2  # one per malformed content
    assert client.type(key) == b"hash" and link.read().record.origin == "a"


def test_a_malformed_override_or_lease_is_ignored_and_replaced(
        namespace: str, client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    link = link_for(namespace)
    with caplog.at_level(logging.WARNING, "dashboard.breaker"):
        client.hset(f"{namespace}:override", mapping={"kind": "open", "until_ms": "soon",
                                                      "version": "1"})
        client.hset(f"{namespace}:probe", mapping={"holder": "b"})
        reading = link.read()
        assert reading.override is None and reading.lease_holder is None
        link.set_override("disabled", 30, "mine")
        assert link.take_lease(3000)
        reading = link.read()
    assert reading.override is not None and reading.override.kind == "disabled"
    assert reading.lease_holder == "a"
    assert len(caplog.records) == 2


def host_and_syncer(tmp_path: Path, namespace: str) -> tuple[HostBreaker, ClusterSyncer]:
    breaker = HostBreaker(tmp_path / "breaker", window_size=4, minimum_calls=4, open_seconds=5,
                          open_seconds_max=20, clock=SystemClock())
    return breaker, ClusterSyncer(breaker.cluster, link_for(namespace, "here"))


def test_the_syncer_neither_adopts_nor_falls_back_on_a_malformed_record(
        tmp_path: Path, namespace: str, client: redis.Redis,
        caplog: pytest.LogCaptureFixture) -> None:
    breaker, syncer = host_and_syncer(tmp_path, namespace)
    client.hset(f"{namespace}:record", mapping=good(client, version="abc"))  # type: ignore
    try:
        with caplog.at_level(logging.INFO, "dashboard.breaker"):
            for _ in range(10):
                syncer.tick()
        assert syncer.answering and breaker.cluster.managed  # Redis answered: cluster scope
        assert breaker.acquire() is None  # CLOSED: never adopted
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "does not answer" not in caplog.text
        for _ in range(4):  # a local trip is published over it
            breaker.record_failure()
        syncer.tick()
        record = syncer.link.read().record
        assert (record.state, record.origin) == (OPEN, "here")
    finally:
        breaker.close()


def test_a_ten_year_period_is_adopted_cut_to_open_seconds_max(
        tmp_path: Path, namespace: str, client: redis.Redis) -> None:
    breaker, syncer = host_and_syncer(tmp_path, namespace)
    client.hset(f"{namespace}:record", mapping=good(  # type: ignore[arg-type]
        client, open_until_ms=server_ms(client) + TEN_YEARS_MS))
    try:
        syncer.tick()
        with pytest.raises(CircuitOpenError) as refused:
            breaker.acquire()
        assert 19 < refused.value.retry_after <= 20
        assert breaker.snapshot().state is BreakerState.OPEN
        assert (breaker.snapshot().seconds_until_half_open or 0) <= 20
    finally:
        breaker.close()
