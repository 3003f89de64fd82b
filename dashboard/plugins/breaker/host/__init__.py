"""``scope = "host"`` (and the host half of ``"cluster"``): one breaker for every worker of a host.

Every worker maps one shared block in ``runtime_dir/breaker/`` (:mod:`.block`: slots, locks, a
seqlock) and keeps the core's rules over it:

* :mod:`.breaker`: :class:`~.breaker.HostBreaker`, the scope's
  :class:`~dashboard.plugins.breaker.core.protocol.ScopeBreaker` (guarded calls and outcomes, the
  background sync); it *holds* the parts below rather than inheriting them;
* :mod:`.transitions`: how the block changes state (shared by every writer below);
* :mod:`.control`: the operator's overrides and the readings for health;
* :mod:`.levers`: what the cluster syncer (:mod:`dashboard.plugins.breaker.cluster`) drives;
* :mod:`.window`: the core's windows with their numbers in the block; :mod:`.leases`: probe
  permits (and connection-attempt reservations) as leases; :mod:`.attempts`: the host's bound
  on new connections during an outage.

The guarded call does no system call. ``acquire`` compares one slot of the block (``VERSION``,
a memory read) with the copy this worker holds and refreshes the copy only when it moved; then
CLOSED returns at once and OPEN refuses with the shared ``OPEN_UNTIL`` (so every worker tells
its clients the same ``Retry-After``). A success is counted in the worker (one addition) and
flushed into the block by a background thread every :data:`SYNC_SECONDS`, and before the next
failure this worker records, so the ring keeps their order. A failure or a slow call is written
to the block at once, under the block's locks: it is rare, and it is what makes the host open
after ``minimum_calls`` failures in all its workers together, not ``minimum_calls`` in each
(the calls already on their way are bounded by :mod:`.attempts`).

HALF_OPEN hands out ``half_open_max_calls`` probe permits for the whole host, each a *lease* in
the block with an expiry (``lease_seconds``) and the pid of the worker that holds it: a worker
killed in the middle of its probe cannot keep the host HALF_OPEN for ever (the sync thread frees
a lease whose holder is gone, and an expired one is handed out again). Every worker sees a
transition on its next guarded call, and within :data:`SYNC_SECONDS` without one."""
