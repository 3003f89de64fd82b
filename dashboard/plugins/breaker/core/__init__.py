"""The breaker's pure core: what a circuit breaker is, independent of where its state lives.

* :mod:`.model`: the vocabulary every scope speaks (:class:`~.model.BreakerState`, the refusal,
  a transition, a probe permit, a slow-call ticket, a snapshot for health);
* :mod:`.rules`: when a window opens the breaker and how long it stays open;
* :mod:`.window`: the windows of recent outcomes (the last N calls, or the last N seconds);
* :mod:`.overrides`: the bookkeeping of an operator's override;
* :mod:`.probes`: the HALF_OPEN probe permits of one process;
* :mod:`.machine`: :class:`~.machine.CircuitBreaker`, the state machine on those parts, in one
  process's memory (the worker scope's breaker);
* :mod:`.protocol`: :class:`~.protocol.ScopeBreaker`, the one interface every scope implements
  (the worker scope's machine, the host scope's block-backed breaker), so the gate, the slow-call
  watch, health, metrics and the operator control never ask which scope they hold.

Nothing here does I/O, starts a thread or knows the host: the scopes (``worker/``, ``host/``,
``cluster/``) compose these parts with where their state lives.
"""
