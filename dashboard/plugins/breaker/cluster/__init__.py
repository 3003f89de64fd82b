"""``scope = "cluster"``: hosts share their breaker's trips and probe lease through Redis.

Each host keeps the host scope's breaker (:mod:`dashboard.plugins.breaker.host`); one worker per
host (the holder of :class:`~.seat.SyncerSeat`) runs the :class:`~.syncer.ClusterSyncer`, which
exchanges that breaker's verdicts with Redis (:mod:`.redislink`) every tick and pulls the host
breaker's levers (:class:`dashboard.plugins.breaker.host.levers.ClusterLevers`, the
:class:`~.syncer.Drivable` it drives). :mod:`.scope` builds these pieces for one worker. Nothing
on the request path talks to Redis, and a Redis that does not answer costs the fleet-wide
sharing, never an answer: the host falls back to host scope.
"""
