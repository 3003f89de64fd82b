"""``scope = "cluster"``: the pieces one worker keeps around its host breaker.

:class:`~dashboard.plugins.breaker.runtime.BreakerRuntime` builds the host-scope breaker as for
``scope = "host"`` and adds a :class:`ClusterScope` over the breaker's levers
(``HostBreaker.cluster``): the Redis link, the syncer seat and the per-worker runner thread
(started in the worker by ``dashboard_worker_started``, never in the master), the scope label
health shows, and the cluster half of the operator controls.

The key namespace is ``<redis_key_prefix>:<app_factory>``: hosts running the same app share one
breaker; a second fleet of the same app on the same Redis needs its own prefix. The host id (the
lease holder, a record's origin) is the machine's name plus a digest of the resolved
``runtime_dir``, so two hosts on one machine differ and a new syncer worker of the same host is
the same host.
"""

from __future__ import annotations

import hashlib
import logging
import socket
from pathlib import Path

from dashboard.plugins.breaker.cluster.redislink import RedisLink
from dashboard.plugins.breaker.cluster.seat import SyncerRunner, SyncerSeat
from dashboard.plugins.breaker.cluster.syncer import (
    HEARTBEAT_SECONDS,
    REDIS_ERRORS,
    ClusterSyncer,
    Drivable,
)
from dashboard.plugins.breaker.settings import BreakerSettings

logger = logging.getLogger("dashboard.breaker")

CLUSTER, FALLEN_BACK = "cluster", "host (redis unreachable)"


def host_id(runtime_dir: Path) -> str:
    digest = hashlib.sha256(str(runtime_dir.resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}:{digest}"


def namespace(settings: BreakerSettings, app_factory: str) -> str:
    return f"{settings.redis_key_prefix}:{app_factory}"


class ClusterScope:
    """The cluster side of one worker's breaker; see the module docstring."""

    def __init__(self, breaker: Drivable, settings: BreakerSettings, runtime_dir: Path,
                 app_factory: str) -> None:
        self.breaker = breaker
        self.link = RedisLink(settings.redis_url, namespace=namespace(settings, app_factory),
                              host_id=host_id(runtime_dir), timeout_ms=settings.redis_timeout_ms)
        # a tick makes up to three round trips: the heartbeat outlives the slowest one
        heartbeat = HEARTBEAT_SECONDS + 3 * settings.redis_timeout_ms / 1000
        self.syncer = ClusterSyncer(breaker, self.link, heartbeat_seconds=heartbeat)
        self.runner = SyncerRunner(SyncerSeat(runtime_dir / "breaker" / "syncer.lock"),
                                   self.syncer)

    def start(self) -> None:
        """In the worker, after the fork: compete for the seat every tick from now on."""
        self.runner.start()

    def close(self) -> None:
        self.runner.stop()

    @property
    def label(self) -> str:
        """Read by any worker: a live syncer keeps the block managed only while Redis answers."""
        return CLUSTER if self.breaker.managed else FALLEN_BACK

    def control(self, action: str, seconds: float | None, reason: str) -> bool:
        """Write an operator's override to Redis for every host; False when Redis does not
        answer (the caller then applies it host-wide only). This is an admin call, never a
        guarded one, and bounded by ``redis_timeout_ms``."""
        try:
            if action == "reset":
                self.link.reset(reason)
            else:
                kind = "open" if action == "force_open" else "disabled"
                self.link.set_override(kind, float(seconds or 0), reason)
        except REDIS_ERRORS as error:
            logger.warning("breaker: %s reached this host only: Redis does not answer (%s)",
                           action, type(error).__name__)
            return False
        return True


__all__ = ["CLUSTER", "FALLEN_BACK", "ClusterScope", "host_id", "namespace"]
