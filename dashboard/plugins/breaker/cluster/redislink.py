"""The cluster breaker's link to Redis: one record, one probe lease, one override, all advisory.

Keys live under ``<redis_key_prefix>:<cluster>`` (the cluster is the app the hosts run), so two
fleets, or a test, share one Redis without meeting:

* ``...:record`` (hash): ``state`` (``OPEN`` | ``CLOSED``), ``version`` (bumped by every write),
  ``generation`` (bumped by every OPEN: one open period), ``open_until_ms`` (Redis server time),
  ``reason`` and ``origin`` (the host id that wrote it). Absent = CLOSED, version 0.
* ``...:probe`` (string): the probe lease, ``SET NX PX``: the id of the one host allowed to probe.
* ``...:override`` (hash, expiring with the override): ``kind`` (``open`` | ``disabled``),
  ``until_ms`` (Redis server time), ``reason``, ``version``.

Every write is a Lua script (``register_script``: EVALSHA, reloaded by the client after a Redis
restart), so it is atomic on the server, and every period is timed by the server's ``TIME``:
hosts' wall clocks never meet. A record write names the version it was decided against and is
refused if another host wrote in between (fencing); the writer re-reads and adopts what is there.

How this avoids what goes wrong in pybreaker's Redis storage:

* counts reset on creation: nothing is written when a link (or a host) starts; the record exists
  only once a host trips, and no per-call counter lives in Redis at all (each host's window is its
  own; only its verdicts are shared);
* a lock that does not hold across processes: the only mutual exclusion is the probe lease, a
  Redis key with a TTL taken by ``SET NX PX`` and released by compare-and-delete, which holds
  across processes and hosts and frees itself when its holder dies;
* no namespace: every key is under the prefix and the cluster name.

Timeouts are bounded (``redis_timeout_ms`` for connect and for each read) and the client's own
retries are off: one failed round trip raises :class:`redis.RedisError` (or ``OSError``) at
once, and the caller falls back to host scope rather than wait.

What is read is checked (:mod:`.records`): a malformed record, override or lease (a field that is
not a number, a field missing, a key of the wrong type) reads as absent with one WARNING line,
never as Redis down, and the scripts that write over it read its counts by the same rule, so the
next write replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from dashboard.plugins.breaker.cluster.records import (
    CLOSED,
    COUNT_LUA,
    OPEN,
    ClusterRecord,
    Malformed,
    MalformedNotes,
    Override,
    count,
    fields_of,
    override_of,
    record_of,
    text,
)

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
# A key of another type than the one written here is malformed: read as absent, then replaced.
_TYPED = """local function typed(key, kind)
  local found = redis.call('TYPE', key)['ok']
  if found ~= kind and found ~= 'none' then return found end
  return nil
end
local function hash(key) return typed(key, 'hash') or redis.call('HGETALL', key) end
local function clear(key, kind) if typed(key, kind) then redis.call('DEL', key) end end
"""

# The lease's holder is '' when the key is not a string (malformed), with its type as its ttl.
_READ = _NOW + _TYPED + """
local other = typed(KEYS[3], 'string')
local holder, ttl = false, redis.call('PTTL', KEYS[3])
if other then holder, ttl = '', other else holder = redis.call('GET', KEYS[3]) end
return {now, hash(KEYS[1]), hash(KEYS[2]), holder, ttl}
"""
# ARGV: expected version ('' = an operator's unfenced reset), state, open ms, reason, origin
_WRITE_RECORD = _NOW + _TYPED + COUNT_LUA + """
clear(KEYS[1], 'hash')
local version = count(redis.call('HGET', KEYS[1], 'version'))
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= version then return {0, version} end
local generation = count(redis.call('HGET', KEYS[1], 'generation'))
local open_until = 0
if ARGV[2] == 'OPEN' then
  generation = generation + 1
  open_until = now + tonumber(ARGV[3])
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'version', version + 1, 'generation', generation,
           'open_until_ms', open_until, 'reason', ARGV[4], 'origin', ARGV[5])
return {1, version + 1}
"""
# ARGV: kind, duration ms, reason
_SET_OVERRIDE = _NOW + _TYPED + COUNT_LUA + """
clear(KEYS[1], 'hash')
local version = count(redis.call('HGET', KEYS[1], 'version')) + 1
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'kind', ARGV[1], 'until_ms', now + tonumber(ARGV[2]),
           'reason', ARGV[3], 'version', version)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {now, version}
"""
# ARGV: host id, ttl ms. A lease key that is not a string, or never expires, is malformed.
_TAKE_LEASE = _TYPED + """
clear(KEYS[1], 'string')
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('DEL', KEYS[1]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RENEW_LEASE = _TYPED + """
if not typed(KEYS[1], 'string') and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LEASE = _TYPED + """
if not typed(KEYS[1], 'string') and redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Reading:
    """Everything a syncer tick needs, read in one round trip at one server instant."""

    now_ms: int
    record: ClusterRecord
    override: Override | None
    lease_holder: str | None
    lease_ms_left: int

    @property
    def open_seconds_left(self) -> float:
        """Time left in the cluster's open period (0 when CLOSED or over), in server time."""
        if self.record.state != OPEN:
            return 0.0
        return max(0.0, (self.record.open_until_ms - self.now_ms) / 1000)

    @property
    def override_seconds_left(self) -> float | None:
        if self.override is None:
            return None
        return max(0.0, (self.override.until_ms - self.now_ms) / 1000)


class RedisLink:
    """The breaker's few Redis operations, each one bounded round trip; see the module text.

    Thread-safe (the client's connection pool is), and fork-safe (the pool reconnects in a child).
    """

    def __init__(self, url: str, *, namespace: str, host_id: str, timeout_ms: int) -> None:
        seconds = timeout_ms / 1000
        self.host_id = host_id
        self.namespace = namespace
        self.client = redis.Redis.from_url(
            url, socket_timeout=seconds, socket_connect_timeout=seconds,
            retry=Retry(NoBackoff(), 0), retry_on_timeout=False, health_check_interval=0)
        self.keys = [f"{namespace}:record", f"{namespace}:override", f"{namespace}:probe"]
        register = self.client.register_script
        self._read, self._write = register(_READ), register(_WRITE_RECORD)
        self._set_override = register(_SET_OVERRIDE)
        self._renew, self._release = register(_RENEW_LEASE), register(_RELEASE_LEASE)
        self._take = register(_TAKE_LEASE)
        self._notes = MalformedNotes()

    def read(self) -> Reading:
        """The record, the override and the lease at one server instant; what is malformed
        reads as absent (one WARNING per malformed content: :mod:`.records`)."""
        now, record, override, holder, pttl = self._read(keys=self.keys)
        now = int(now)
        return Reading(now, self._record(record), self._override(override, now),
                       *self._lease(text(holder), pttl))

    def _record(self, raw: object) -> ClusterRecord:
        key = self.keys[0]
        try:
            found = record_of(fields := fields_of(raw))
        except Malformed as problem:
            self._notes.malformed(key, raw, problem)
            version = fields.get("version") if isinstance(raw, list) else None
            return ClusterRecord(version=count(version))  # the scripts read it so: replaceable
        self._notes.well_formed(key)
        return found

    def _override(self, raw: object, now_ms: int) -> Override | None:
        try:
            found = override_of(fields_of(raw), now_ms)
        except Malformed as problem:
            self._notes.malformed(self.keys[1], raw, problem)
            return None
        self._notes.well_formed(self.keys[1])
        return found

    def _lease(self, holder: str | None, pttl: object) -> tuple[str | None, int]:
        problem = None
        if not isinstance(pttl, int):  # the script's sign of a key of another type
            problem = Malformed(f"a {text(pttl)} where a string belongs")  # type: ignore[arg-type]
        elif holder is not None and pttl < 0:
            problem = Malformed("a lease that never expires")
        if problem is not None:
            self._notes.malformed(self.keys[2], holder, problem)
            return None, 0  # take_lease replaces it
        self._notes.well_formed(self.keys[2])
        return holder, pttl if isinstance(pttl, int) and pttl > 0 else 0

    def write_record(self, expected_version: int | None, state: str, *,
                     open_seconds: float = 0.0, reason: str = "") -> bool:
        """Write the cluster verdict if the record is still at ``expected_version`` (``None``:
        an operator's reset, unfenced). Returns False when another host wrote first."""
        done, _version = self._write(keys=self.keys[:1], args=[
            "" if expected_version is None else expected_version, state,
            max(1, round(open_seconds * 1000)), reason, self.host_id])
        return bool(done)

    def take_lease(self, ttl_ms: int) -> bool:
        """The probe lease for this host, if nobody holds it (``SET NX PX``; a malformed lease
        is nobody's)."""
        return bool(self._take(keys=self.keys[2:], args=[self.host_id, ttl_ms]))

    def renew_lease(self, ttl_ms: int) -> bool:
        """Extend the lease while this host's probe runs; False if it is no longer ours."""
        return bool(self._renew(keys=self.keys[2:], args=[self.host_id, ttl_ms]))

    def release_lease(self) -> bool:
        """Give the lease back (only if it is still ours: never another host's)."""
        return bool(self._release(keys=self.keys[2:], args=[self.host_id]))

    def set_override(self, kind: str, seconds: float, reason: str) -> float:
        """A cluster-wide force_open / disable for ``seconds`` of server time; returns the
        server's time (epoch seconds) it was set at, for the expiry the operator is shown."""
        now_ms, _version = self._set_override(keys=self.keys[1:2], args=[
            kind, max(1, round(seconds * 1000)), reason])
        return int(now_ms) / 1000

    def reset(self, reason: str) -> None:
        """Clear the override and close the record for every host (an operator's word)."""
        self.client.delete(self.keys[1], self.keys[2])
        self.write_record(None, CLOSED, reason=reason)

    def close(self) -> None:
        self.client.close()


__all__ = ["CLOSED", "OPEN", "ClusterRecord", "Override", "Reading", "RedisLink"]
