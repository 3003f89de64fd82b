"""The Redis link against real Redis: fencing, server-time periods, the lease, the override and
a reconnect after ``redis-server`` restarts (a private one; the shared one is never stopped)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dashboard.plugins.breaker.cluster.redislink import CLOSED, OPEN, RedisLink
from tests.support.redisserver import SHARED_URL, own_namespace, redis_server


def link_for(namespace: str, host_id: str, url: str = SHARED_URL) -> RedisLink:
    return RedisLink(url, namespace=namespace, host_id=host_id, timeout_ms=200)


@pytest.fixture
def namespace() -> Iterator[str]:
    with own_namespace() as prefix:
        yield prefix + ":app"


def server_ms(link: RedisLink) -> int:
    seconds, micros = link.client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def test_nothing_is_written_when_a_link_starts_and_absent_reads_as_closed(namespace: str
                                                                           ) -> None:
    link = link_for(namespace, "a")
    reading = link.read()
    assert reading.record.state == CLOSED and reading.record.version == 0
    assert reading.override is None and reading.lease_holder is None
    assert link.client.keys(namespace + ":*") == []


def test_a_stale_version_write_is_refused_and_the_winner_stays(namespace: str) -> None:
    a, b = link_for(namespace, "host-a"), link_for(namespace, "host-b")
    seen = a.read().record.version
    assert b.read().record.version == seen
    assert a.write_record(seen, OPEN, open_seconds=30, reason="failure rate")
    assert not b.write_record(seen, OPEN, open_seconds=5, reason="slow call rate")
    record = b.read().record
    assert (record.state, record.version, record.generation) == (OPEN, seen + 1, 1)
    assert (record.origin, record.reason) == ("host-a", "failure rate")
    assert b.write_record(record.version, CLOSED, reason="probe succeeded")
    assert not a.write_record(record.version, OPEN, open_seconds=30)  # a's view is stale now
    assert a.read().record.state == CLOSED and a.read().record.generation == 1


def test_the_open_period_is_timed_by_the_redis_server_clock(namespace: str) -> None:
    link = link_for(namespace, "a")
    before = server_ms(link)
    assert link.write_record(0, OPEN, open_seconds=2.5)
    after = server_ms(link)
    record = link.read().record
    assert before + 2500 <= record.open_until_ms <= after + 2500
    reading = link.read()
    assert reading.open_seconds_left == pytest.approx(
        (record.open_until_ms - reading.now_ms) / 1000)
    assert 0 < reading.open_seconds_left <= 2.5


def test_the_probe_lease_is_exclusive_released_only_by_its_holder_and_expires(
        namespace: str) -> None:
    a, b = link_for(namespace, "host-a"), link_for(namespace, "host-b")
    assert a.take_lease(300)
    assert not b.take_lease(300)
    assert not b.release_lease() and not b.renew_lease(300)
    reading = b.read()
    assert reading.lease_holder == "host-a" and 0 < reading.lease_ms_left <= 300
    assert a.renew_lease(400)
    deadline = time.monotonic() + 10
    while not b.take_lease(300):  # a stops renewing: the lease frees itself
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert b.read().lease_holder == "host-b"
    assert not a.renew_lease(300)  # it is no longer a's
    assert b.release_lease() and a.take_lease(300)


def test_an_override_expires_in_server_time_and_reset_clears_everything(namespace: str
                                                                         ) -> None:
    link = link_for(namespace, "a")
    link.set_override("open", 0.4, "incident 42")
    reading = link.read()
    assert reading.override is not None and reading.override.kind == "open"
    assert reading.override.reason == "incident 42"
    assert 0 < (reading.override_seconds_left or 0) <= 0.4
    deadline = time.monotonic() + 10
    while link.read().override is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    link.set_override("disabled", 60, "maintenance")
    assert link.write_record(0, OPEN, open_seconds=30) and link.take_lease(5000)
    link.reset("all clear")
    reading = link.read()
    assert reading.override is None and reading.lease_holder is None
    assert reading.record.state == CLOSED and reading.record.version == 2


def test_a_dead_redis_fails_fast_and_the_link_reconnects_when_it_is_back(tmp_path: Path
                                                                         ) -> None:
    with redis_server(tmp_path / "redis") as server:
        link = RedisLink(server.url, namespace="t:app", host_id="a", timeout_ms=200)
        assert link.write_record(0, OPEN, open_seconds=60)
        server.stop()
        started = time.monotonic()
        with pytest.raises((redis.RedisError, OSError)):
            link.read()
        assert time.monotonic() - started < 1.0  # bounded: no client retries, no backoff
        server.start()  # the scripts are gone with the old server: EVALSHA reloads them
        reading = link.read()
        assert reading.record.state == CLOSED  # an in-memory server forgot: advisory state
        assert link.write_record(0, OPEN, open_seconds=1)
        link.close()


def test_an_unanswering_redis_times_out_within_the_bound(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as server:
        link = RedisLink(server.url, namespace="t:app", host_id="a", timeout_ms=200)
        link.read()
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)  # alive, listening, silent
        try:
            started = time.monotonic()
            with pytest.raises((redis.RedisError, OSError)):
                link.read()
            assert time.monotonic() - started < 1.5
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert link.read().record.state == CLOSED
