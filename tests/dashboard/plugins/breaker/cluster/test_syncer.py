"""The syncer against real Redis and a stand-in host breaker (fakehost.py): trips published and
adopted, fencing between two hosts, one probe per open period, overrides, Redis lost and back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dashboard.plugins.breaker.cluster.redislink import CLOSED, OPEN, RedisLink
from dashboard.plugins.breaker.cluster.syncer import ClusterSyncer
from dashboard.plugins.breaker.core.model import BreakerState
from tests.dashboard.plugins.breaker.cluster.fakehost import FakeHost
from tests.support.redisserver import SHARED_URL, own_namespace, redis_server


def syncer(namespace: str, host_id: str, url: str = SHARED_URL
           ) -> tuple[FakeHost, ClusterSyncer]:
    host = FakeHost()
    link = RedisLink(url, namespace=namespace, host_id=host_id, timeout_ms=200)
    return host, ClusterSyncer(host, link)


@pytest.fixture
def namespace() -> Iterator[str]:
    with own_namespace() as prefix:
        yield prefix + ":app"


def tick_until(syncers: list[ClusterSyncer], done: Callable[[], bool],
               timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        for each in syncers:
            each.tick()
        time.sleep(0.02)


def test_a_local_trip_is_published_and_adopted_with_the_time_left(namespace: str) -> None:
    a, sa = syncer(namespace, "a")
    b, sb = syncer(namespace, "b")
    sa.tick(), sb.tick()
    assert a.managed and b.managed and sa.answering
    a.trip(30, "failure rate")
    sa.tick()
    record = sa.link.read().record
    assert (record.state, record.origin, record.generation) == (OPEN, "a", 1)
    sb.tick()
    view = b.view()
    assert view.state is BreakerState.OPEN and view.origin == "remote"
    assert 28 < (view.seconds_left or 0) <= 30
    sa.tick(), sb.tick()  # nothing new: no write, a does not adopt its own trip
    assert sa.link.read().record.version == record.version
    assert a.view().origin == "local" and a.version == 1


def test_two_hosts_tripping_at_once_make_one_open_period(namespace: str) -> None:
    a, sa = syncer(namespace, "a")
    b, sb = syncer(namespace, "b")
    sa.tick(), sb.tick()
    a.trip(30), b.trip(20)
    sa.tick(), sb.tick(), sa.tick(), sb.tick()
    record = sa.link.read().record
    assert record.generation == 1 and record.version == 1 and record.origin == "a"
    assert (b.view().seconds_left or 0) > 25  # b took the longer, cluster-wide period


def test_one_probe_per_open_period_for_the_cluster_and_its_verdict_travels(namespace: str
                                                                            ) -> None:
    hosts = [syncer(namespace, name) for name in ("a", "b", "c")]
    syncers = [each for _, each in hosts]
    tick_until(syncers, lambda: True)
    hosts[0][0].trip(0.5)
    tick_until(syncers, lambda: all(h.state is BreakerState.OPEN for h, _ in hosts))
    probes: list[FakeHost] = []
    deadline = time.monotonic() + 10
    while not probes:  # every host gets a request each round; only the lease holder probes
        assert time.monotonic() < deadline
        for each in syncers:
            each.tick()
        probes = [h for h, _ in hosts if h.try_probe()]
        time.sleep(0.02)
    assert len(probes) == 1
    for _ in range(10):  # while the probe runs, nobody else probes (they hold open)
        for each in syncers:
            each.tick()
        assert not any(h.try_probe() for h, _ in hosts)
        time.sleep(0.02)
    probes[0].probe_done(ok=False, seconds=2)  # failed: a new period for the whole cluster
    tick_until(syncers, lambda: syncers[0].link.read().record.generation == 2)
    tick_until(syncers, lambda: all(h.state is BreakerState.OPEN
                                    and (h.view().seconds_left or 0) > 1 for h, _ in hosts))
    assert syncers[0].link.read().lease_holder is None  # given back once the verdict went out
    second: list[FakeHost] = []
    deadline = time.monotonic() + 10
    while not second:
        assert time.monotonic() < deadline
        for each in syncers:
            each.tick()
        second = [h for h, _ in hosts if h.try_probe()]
        time.sleep(0.02)
    assert len(second) == 1
    second[0].probe_done(ok=True)
    tick_until(syncers, lambda: all(h.state is BreakerState.CLOSED for h, _ in hosts))
    assert syncers[0].link.read().record.state == CLOSED


def test_a_cluster_override_is_mirrored_with_its_time_left_and_cleared(namespace: str
                                                                        ) -> None:
    a, sa = syncer(namespace, "a")
    sa.tick()
    sa.link.set_override("open", 30, "incident 7")
    sa.tick()
    kind, left, reason = a.forced
    assert kind == "open" and reason == "incident 7" and 29 < (left or 0) <= 30
    sa.link.reset("all clear")
    sa.tick()
    assert a.forced == (None, None, None)


def test_redis_lost_means_host_scope_logged_once_and_back_means_cluster_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dashboard.breaker")
    with redis_server(tmp_path / "redis") as server:
        a, sa = syncer("t:app", "a", server.url)
        b, sb = syncer("t:app", "b", server.url)
        sa.tick(), sb.tick()
        assert a.managed
        server.stop()
        sa.tick()  # one failed tick is a slow answer, not an outage yet
        assert a.managed and sa.answering is True
        for _ in range(4):
            sa.tick()
        assert not a.managed and sa.answering is False
        a.trip(0.2)  # host scope: its own trip takes effect, its own probe decides
        time.sleep(0.25)
        assert a.try_probe()
        a.probe_done(ok=False, seconds=30)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "host scope" in warnings[0].getMessage()
        server.start()
        sa.tick()
        assert a.managed and sa.answering is True
        infos = [r for r in caplog.records if "answers again" in r.getMessage()]
        assert len(infos) == 1
        sb.tick()  # b was never told while Redis was down: now it is
        assert b.state is BreakerState.OPEN and 25 < (b.view().seconds_left or 0) <= 30


def test_a_restarted_empty_redis_is_no_verdict_and_closes_nobody(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as server:
        a, sa = syncer("t:app", "a", server.url)
        b, sb = syncer("t:app", "b", server.url)
        sa.tick(), sb.tick()
        a.trip(30)
        sa.tick(), sb.tick()
        assert b.state is BreakerState.OPEN
        server.stop()
        server.start()  # in memory only: the record is gone, versions count from 0 again
        for _ in range(3):
            sa.tick(), sb.tick()
        assert a.state is BreakerState.OPEN and b.state is BreakerState.OPEN
        record = sa.link.read().record
        assert record.state == OPEN and record.origin == "a"  # a's trip, published again
