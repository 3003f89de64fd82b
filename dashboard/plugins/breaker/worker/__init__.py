"""``scope = "worker"`` (the default): one breaker per worker process.

The breaker itself is the core's state machine
(:class:`dashboard.plugins.breaker.core.machine.CircuitBreaker`), kept in the worker's memory: a
guarded call costs an attribute read. What the scope adds is :mod:`.relay`: an operator's
override is meant for the host, not for the one worker that answered the admin call, so it is
written to a small block in ``runtime_dir`` that every worker polls and applies to its own
breaker.
"""
