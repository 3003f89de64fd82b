"""ClusterScope: an operator's override written to Redis reaches another host; without Redis it
says so (False) instead of raising; the scope label follows the block's heartbeat."""

from __future__ import annotations

from pathlib import Path

from dashboard.plugins.breaker.cluster.scope import CLUSTER, FALLEN_BACK, ClusterScope
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.settings import BreakerSettings
from tests.support.redisserver import redis_server


def test_control_reaches_another_host_and_fails_soft_without_redis(tmp_path: Path) -> None:
    with redis_server(tmp_path / "redis") as server:
        settings = BreakerSettings(scope="cluster", redis_url=server.url,
                                   redis_key_prefix="t:scope")
        a = HostBreaker(tmp_path / "a" / "breaker")
        b = HostBreaker(tmp_path / "b" / "breaker")
        scope_a = ClusterScope(a.cluster, settings, tmp_path / "a", "tests.app:create")
        scope_b = ClusterScope(b.cluster, settings, tmp_path / "b", "tests.app:create")
        try:
            assert scope_a.link.host_id != scope_b.link.host_id
            assert scope_b.label == FALLEN_BACK  # no syncer has ticked yet
            scope_b.syncer.tick()
            assert scope_b.label == CLUSTER
            assert scope_a.control("force_open", 60, "incident 9")
            scope_b.syncer.tick()
            view = b.cluster.view()
            assert view.forced == "open" and view.forced_reason == "incident 9"
            assert 55 < (view.forced_seconds_left or 0) <= 60
            assert scope_a.control("reset", None, "all clear")
            scope_b.syncer.tick()
            assert b.cluster.view().forced is None
            server.stop()
            assert scope_a.control("disable", 60, "maintenance") is False
        finally:
            a.close(), b.close()
