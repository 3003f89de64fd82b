"""The syncer driving two real HostBreakers (two block directories: two hosts) through real
Redis: a trip adopted, Retry-After from the cluster's period, one probe for both, its verdict
shared, and host scope when Redis is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from dashboard.plugins.breaker.cluster.redislink import RedisLink
from dashboard.plugins.breaker.cluster.syncer import ClusterSyncer
from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError
from dashboard.plugins.breaker.host.breaker import HostBreaker
from tests.support.redisserver import RedisServer


def host(tmp_path: Path, name: str, url: str) -> tuple[HostBreaker, ClusterSyncer]:
    breaker = HostBreaker(tmp_path / name, window_size=4, minimum_calls=4, open_seconds=0.6)
    link = RedisLink(url, namespace="t:app", host_id=name, timeout_ms=200)
    return breaker, ClusterSyncer(breaker.cluster, link)


def ticks(syncers: list[ClusterSyncer], until: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline
        for each in syncers:
            each.tick()
        time.sleep(0.02)


def refused(breaker: HostBreaker) -> float | None:
    try:
        permit = breaker.acquire()
    except CircuitOpenError as refusal:
        return refusal.retry_after
    if permit is not None:
        breaker.release(permit)
    return None


def test_trip_adopted_one_probe_for_both_verdict_shared(tmp_path: Path,
                                                         redis_srv: RedisServer) -> None:
    (a, sa), (b, sb) = host(tmp_path, "a", redis_srv.url), host(tmp_path, "b", redis_srv.url)
    try:
        sa.tick(), sb.tick()
        for _ in range(4):
            a.record_failure()
        assert a.cluster.view().state is BreakerState.OPEN
        sa.tick(), sb.tick()
        left_b = refused(b)
        assert left_b is not None and 0.3 < left_b <= 0.6  # b never failed: it adopted
        assert b.cluster.view().origin == "remote"

        probes: list[tuple[HostBreaker, object]] = []
        deadline = time.monotonic() + 10
        while not probes:  # both hosts are asked for a call every round
            assert time.monotonic() < deadline
            sa.tick(), sb.tick()
            for breaker in (a, b):
                try:
                    permit = breaker.acquire()
                except CircuitOpenError:
                    continue
                probes.append((breaker, permit))
            time.sleep(0.02)
        assert len(probes) == 1
        winner, permit = probes[0]
        loser = b if winner is a else a
        for _ in range(5):
            sa.tick(), sb.tick()
            assert refused(loser) is not None  # the other host holds open meanwhile
        winner.record_success(permit)  # type: ignore[arg-type]
        ticks([sa, sb], lambda: loser.cluster.view().state is BreakerState.CLOSED)
        assert refused(loser) is None and sa.link.read().lease_holder is None
    finally:
        a.close(), b.close()


def test_without_redis_each_host_decides_alone(tmp_path: Path, redis_srv: RedisServer) -> None:
    (a, sa), (b, sb) = host(tmp_path, "a", redis_srv.url), host(tmp_path, "b", redis_srv.url)
    try:
        sa.tick(), sb.tick()
        redis_srv.stop()
        for _ in range(3):
            sa.tick(), sb.tick()
        assert sa.answering is False
        for _ in range(4):
            a.record_failure()
        time.sleep(0.7)  # a's own period, no grant needed: unmanaged
        permit = a.acquire()
        assert permit is not None and a.cluster.view().state is BreakerState.HALF_OPEN
        a.record_success(permit)
        assert b.cluster.view().state is BreakerState.CLOSED  # b was never told: host scope
    finally:
        a.close(), b.close()
