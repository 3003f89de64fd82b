"""The cluster syncer: one per host, it carries the host breaker's verdicts to Redis and back.

The host's workers share one breaker in ``runtime_dir`` (``HostBreaker``); one worker per
host (the one holding :class:`~.seat.SyncerSeat`) runs :meth:`tick` every
~50 ms on a background thread. Nothing on the request path talks to Redis: a guarded call reads
the host block only, and the syncer changes the block through the calls below.

Each tick reads everything in one round trip (:meth:`RedisLink.read`) and then:

* ``manage(heartbeat)``: while the heartbeat is fresh the block needs the cluster's permission
  (``grant_probe``) before it probes; a dead syncer or a silent Redis lets it lapse to host scope;
* overrides: a cluster-wide force_open / disable is mirrored with its time left in server time;
* a local verdict (``origin == "local"``) is published with a fenced write: a trip when the
  cluster is not already open (or our own probe failed), a close when our probe succeeded; a
  refused write (another host wrote first) is decided again on the next tick with fresh data;
* a remote verdict is adopted: an OPEN with the time left by the Redis clock, a CLOSED;
* the probe lease: when the open period is about to end, the host that takes the lease
  (``SET NX PX``) is granted its probe; the others hold open while the lease lives. The holder
  renews it while its probe runs and gives it back once the verdict is published, so there is one
  probe per cluster per open period. (A holder that gets no traffic before the lease expires lets
  another host take it; if traffic then arrives at both, that period sees two probes.)

Why polling, not pub/sub: the syncer must round-trip to Redis every tick anyway (the heartbeat,
the lease, the override), so reading the record in the same script costs nothing more, adopts a
trip within one tick (~50 ms), and survives a reconnect without a missed message; pub/sub would
need a second connection and a blocking reader thread and would still need this read after every
reconnect. The cost is one small script call per host per tick.

When Redis does not answer (a bounded timeout, no retries; three ticks in a row, so that one slow
answer on a loaded host is not an outage): ``unmanage()``, one WARNING line, and
the scope reads "host (redis unreachable)"; when it answers again, one INFO line and cluster scope
resumes on that tick. Redis is trusted for advisory state only: a host always acts on its own
trips, and a lost Redis costs the fleet-wide sharing, never an answer.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import redis

from dashboard.plugins.breaker.cluster.redislink import (
    CLOSED,
    OPEN,
    ClusterRecord,
    Reading,
    RedisLink,
)
from dashboard.plugins.breaker.core.model import BreakerState

logger = logging.getLogger("dashboard.breaker")

TICK_SECONDS = 0.05
HEARTBEAT_SECONDS = 1.0  # the block stops waiting for the cluster this long after a last tick
LEASE_TTL_MS = 3000  # renewed every tick while the probe runs; a dead holder frees it this soon
LEASE_MARGIN_SECONDS = 2 * TICK_SECONDS  # ask for the lease this close to the period's end
HOLD_SECONDS = 0.5  # a host waiting for another's probe holds open this long at a time
#: A slow tick on a loaded host is not an outage: fall back after this many failed ticks in a row
#: (~150 ms when Redis refuses; 3 x redis_timeout_ms when it hangs).
FAILURES_BEFORE_FALLBACK = 3
REDIS_ERRORS = (redis.RedisError, OSError, ValueError)


class Drivable(Protocol):
    """What the syncer drives: the host breaker's levers
    (:class:`dashboard.plugins.breaker.host.levers.ClusterLevers`, ``HostBreaker.cluster``)
    (docs/plugins/breaker-cluster.md)."""

    def view(self) -> Any: ...
    def adopt_open(self, seconds_left: float, reason: str) -> bool: ...
    def adopt_closed(self) -> bool: ...
    def hold_open(self, seconds: float) -> None: ...
    def apply_forced(self, kind: str | None, seconds_left: float | None,
                     reason: str | None) -> None: ...
    def manage(self, heartbeat_seconds: float) -> None: ...
    def unmanage(self) -> None: ...
    def grant_probe(self) -> None: ...
    @property
    def managed(self) -> bool: ...


class ClusterSyncer:
    """One host's exchange with the cluster; :meth:`tick` is its whole life (see the module)."""

    def __init__(self, breaker: Drivable, link: RedisLink, *,
                 heartbeat_seconds: float = HEARTBEAT_SECONDS,
                 lease_ttl_ms: int = LEASE_TTL_MS) -> None:
        self.breaker = breaker
        self.link = link
        self.me = link.host_id
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_ttl_ms = lease_ttl_ms
        self.answering: bool | None = None  # None until the first tick
        self._failures = 0  # failed ticks in a row
        self._local_version: int | None = None  # the last local view acted on
        self._last_record: ClusterRecord | None = None  # the last cluster record acted on
        self._override_key: tuple[str, int, int] | None = None

    def tick(self) -> None:
        """One exchange; never raises for Redis (it falls back to host scope instead)."""
        try:
            reading = self.link.read()
        except REDIS_ERRORS as error:
            self._lost(error)
            return
        if self.answering is False:
            logger.info("breaker: Redis answers again; cluster scope resumes")
        self.answering, self._failures = True, 0
        self.breaker.manage(self.heartbeat_seconds)
        try:
            self._sync(reading)
        except REDIS_ERRORS as error:
            self._lost(error)

    def stop(self) -> None:
        """The syncer's worker is leaving: the block goes back to plain host scope at once."""
        self.breaker.unmanage()

    def _lost(self, error: BaseException) -> None:
        self._failures += 1
        if self._failures < FAILURES_BEFORE_FALLBACK and self.answering:
            return  # one slow answer: the heartbeat still covers it
        self.breaker.unmanage()
        if self.answering is not False:
            logger.warning("breaker: Redis does not answer (%s); this host falls back to host "
                           "scope until it does", type(error).__name__)
        self.answering = False

    def _sync(self, reading: Reading) -> None:
        self._mirror_override(reading)
        view = self.breaker.view()
        # a Redis that forgot
        lost = reading.record.origin is None and view.state is BreakerState.OPEN
        if view.version != self._local_version or lost:
            if view.origin == "local" and view.forced is None:
                written = self._publish(view, reading)
                if written is not None:  # this reading is older than the write: next tick
                    if written:  # (lost: another host wrote first; decide again on fresh data)
                        self._local_version = view.version
                    return
            self._local_version = view.version
        record = reading.record
        if record != self._last_record:  # the whole record: a restarted Redis counts from 0
            self._last_record = record
            if record.origin not in (None, self.me):  # None: no host wrote it (absent)
                self._adopt(reading)
        self._lease(reading)

    def _publish(self, view: Any, reading: Reading) -> bool | None:
        """Write a local verdict the cluster does not know yet: True written, False the write
        lost to another host's, None nothing to write."""
        record, ours = reading.record, reading.lease_holder == self.me
        if view.state is BreakerState.OPEN:
            if not ours and reading.open_seconds_left > 0:
                return None  # the cluster is already open: this trip is part of that outage
            if (view.seconds_left or 0.0) <= LEASE_MARGIN_SECONDS:
                return None  # an open period that is over (e.g. a forced open ended): no news
            written = self.link.write_record(record.version, OPEN,
                                             open_seconds=view.seconds_left or 0.0,
                                             reason=view.reason or "")
        elif view.state is BreakerState.CLOSED:
            fresh = record == self._last_record or reading.open_seconds_left <= 0
            if not ours and not (record.state == OPEN and fresh):
                return None  # nothing to tell, or a newer remote verdict to adopt instead
            written = self.link.write_record(record.version, CLOSED, reason=view.reason or "")
        else:
            return None  # HALF_OPEN: the probe has not decided yet
        if written and ours:
            self.link.release_lease()
        return written

    def _adopt(self, reading: Reading) -> None:
        record = reading.record
        if record.state == OPEN and reading.open_seconds_left > 0:
            changed = self.breaker.adopt_open(reading.open_seconds_left,
                                              record.reason or "tripped on another host")
        elif record.state == CLOSED:
            changed = self.breaker.adopt_closed()
        else:
            return
        if changed:
            view = self.breaker.view()
            if view.origin == "remote":  # not a local transition that raced in: that one goes out
                self._local_version = view.version

    def _lease(self, reading: Reading) -> None:
        view = self.breaker.view()
        if view.forced is not None:
            return
        holder = reading.lease_holder
        if view.state is BreakerState.HALF_OPEN:
            if holder == self.me:
                self.link.renew_lease(self.lease_ttl_ms)  # our probe is running
            return
        if view.state is not BreakerState.OPEN:
            if holder == self.me:  # closed by a remote verdict or a reset while we held it
                self.link.release_lease()
            return
        if (view.seconds_left or 0.0) > LEASE_MARGIN_SECONDS:
            return
        if holder == self.me or (holder is None and self.link.take_lease(self.lease_ttl_ms)):
            self.breaker.grant_probe()
        else:  # another host probes for the cluster: wait for its verdict or its lease's end
            ms_left = reading.lease_ms_left if holder is not None else self.lease_ttl_ms
            self.breaker.hold_open(min(max(ms_left / 1000, TICK_SECONDS), HOLD_SECONDS))

    def _mirror_override(self, reading: Reading) -> None:
        override = reading.override
        key = (override.kind, override.until_ms, override.version) if override else None
        if key == self._override_key:
            return
        if override is not None:
            self.breaker.apply_forced(override.kind, reading.override_seconds_left,
                                      override.reason)
        else:
            self.breaker.apply_forced(None, None, None)
        self._override_key = key


__all__ = ["TICK_SECONDS", "ClusterSyncer", "Drivable"]
