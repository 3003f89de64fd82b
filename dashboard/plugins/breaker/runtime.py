"""What the breaker plugin keeps per host: :class:`BreakerRuntime`.

One runtime holds the breaker of the configured scope (a
:class:`~dashboard.plugins.breaker.core.protocol.ScopeBreaker`: the core's
:class:`~dashboard.plugins.breaker.core.machine.CircuitBreaker` per worker for ``scope =
"worker"``, a :class:`~dashboard.plugins.breaker.host.breaker.HostBreaker` over the block in
``runtime_dir/breaker/`` for ``"host"`` and ``"cluster"``), its gate, its transition notifier,
with ``slow_call_ms`` set the slow-call watch, and what only one scope has: the worker scope's
override relay (:mod:`.worker.relay`), the host scope's connection-attempt reservations
(:mod:`.host.attempts`), the cluster scope's Redis side (:mod:`.cluster.scope`, driving the host
breaker's levers). The gate, the watch, health, metrics and the operator control
(:mod:`.control`, which works on a runtime) use the protocol only.

Plugins are modules shared by every host of a process; one host's runtime lives on that host
under :data:`BREAKER` (``host.state``), made at ``dashboard_configure``. Threads (the host
breaker's sync, the worker scope's override relay, the cluster runner) start where requests are
served (:meth:`start_sync`, :meth:`start_relay`, :meth:`start_cluster`): a forking master would
not hand them to its workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from dashboard import Clock, StateKey
from dashboard.plugins.breaker.cluster.scope import ClusterScope
from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import BreakerState, Transition
from dashboard.plugins.breaker.core.protocol import ScopeBreaker
from dashboard.plugins.breaker.gate import BreakerGate
from dashboard.plugins.breaker.host.attempts import AttemptReservations
from dashboard.plugins.breaker.host.block import BlockError
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.metrics import count_transition, publish_state
from dashboard.plugins.breaker.notify import TransitionNotifier, log_transition
from dashboard.plugins.breaker.settings import BreakerSettings
from dashboard.plugins.breaker.slowwatch import SlowCallWatch
from dashboard.plugins.breaker.worker.relay import OverrideRelay

logger = logging.getLogger("dashboard.breaker")
BLOCK_DIR = "breaker"


class BreakerRuntime:
    """The breaker plugin's parts for one host in one process; see the module docstring."""

    def __init__(self, settings: BreakerSettings, clock: Clock,
                 runtime_dir: Path | None = None, lease_seconds: float = 60,
                 app_factory: str = "default", attempt_seconds: float = 60) -> None:
        self.settings = settings
        self.clock = clock
        self.scope = settings.scope
        #: Called with (action, seconds, reason) after an override is applied here (the cluster
        #: scope publishes it to the other hosts).
        self.control_listeners: list[Callable[[str, float | None, str], object]] = []
        self.notifier = TransitionNotifier([log_transition])
        self.block_dir = runtime_dir / BLOCK_DIR if runtime_dir is not None else None
        rules = {"window_size": settings.window_size, "minimum_calls": settings.minimum_calls,
                 "failure_rate_threshold": settings.failure_rate_threshold,
                 "open_seconds": settings.open_seconds,
                 "half_open_max_calls": settings.half_open_max_calls,
                 "slow_call_rate_threshold": settings.slow_call_rate_threshold,
                 "window_seconds": settings.window_seconds,
                 "open_seconds_max": settings.open_seconds_max}
        self.breaker: ScopeBreaker
        self.host_breaker: HostBreaker | None = None  # host and cluster scope
        self.relay: OverrideRelay | None = None  # worker scope
        self.attempts: AttemptReservations | None = None  # host and cluster scope
        self.cluster: ClusterScope | None = None  # cluster scope
        if self.scope == "worker":
            self.breaker = CircuitBreaker(clock=clock, on_transition=self._on_transition,
                                          **rules)  # type: ignore[arg-type]
            self.relay = self._open_relay()
        else:
            if self.block_dir is None:
                raise ValueError(f"plugins.breaker.scope = {self.scope!r} needs "
                                 "[dashboard].runtime_dir")
            host_breaker = HostBreaker(self.block_dir, lease_seconds=lease_seconds, clock=clock,
                                       on_transition=self._on_transition, on_seen=publish_state,
                                       **rules)  # type: ignore[arg-type]
            self.breaker = self.host_breaker = host_breaker
            self.attempts = AttemptReservations(host_breaker, attempt_seconds, clock)
            host_breaker.sync_tasks.append(self.attempts.sweep)
            if self.scope == "cluster" and runtime_dir is not None:
                self.cluster = ClusterScope(host_breaker.cluster, settings, runtime_dir,
                                            app_factory)
                self.control_listeners.append(self.cluster.control)
        self.watch = (SlowCallWatch(self.breaker, settings.slow_call_ms)
                      if settings.slow_call_ms > 0 else None)
        self.gate = BreakerGate(self.breaker, self.watch)
        publish_state(BreakerState.CLOSED)

    @property
    def scope_label(self) -> str:
        """``checks.breaker.scope``: the setting, or in cluster scope ``"cluster"`` while a
        syncer of this host reaches Redis and ``"host (redis unreachable)"`` otherwise."""
        return self.cluster.label if self.cluster is not None else self.scope

    def _open_relay(self) -> OverrideRelay | None:
        """Worker scope: the host-wide override block, or ``None`` (overrides then reach only
        the answering worker) when ``runtime_dir`` cannot hold it."""
        if self.block_dir is None:
            return None
        try:
            return OverrideRelay(self.block_dir, self.breaker, self.clock.monotonic)
        except BlockError as error:
            logger.warning("breaker overrides reach one worker only: %s", error)
            return None

    # -- threads, started in the serving process ---------------------------------------------

    def start_sync(self) -> None:
        """Host scope: start this process's sync thread (idempotent)."""
        if self.host_breaker is not None:
            self.host_breaker.start_sync()

    def start_relay(self) -> None:
        """Worker scope: start polling the override block (in each gunicorn worker; a single
        process applies its own overrides as it writes them)."""
        if self.relay is not None:
            self.relay.start()

    def start_cluster(self) -> None:
        """Cluster scope, in a gunicorn worker (never before the fork): compete for the syncer
        seat."""
        if self.cluster is not None:
            self.cluster.start()

    def describe(self) -> str:
        """One line for the log at worker start: the scope and where its state lives."""
        if self.host_breaker is not None:
            return (f"circuit breaker scope: {self.scope_label} "
                    f"(shared block {self.host_breaker.block.path})")
        where = "every worker of this host" if self.relay is not None else "this worker only"
        return f"circuit breaker scope: worker (overrides reach {where})"

    # -- what the hooks ask ------------------------------------------------------------------

    def statement_started(self) -> None:
        watch = self.watch
        if watch is not None:
            if not watch.sweeping:  # lazily, in the worker: a forked master's thread is gone
                watch.ensure_sweeping()
            self.gate.statement_started()

    def close(self) -> None:
        """Stop the threads this runtime started (sweeper, relay, cluster runner, sync)."""
        if self.watch is not None:
            self.watch.close()
        if self.relay is not None:
            self.relay.close()
        if self.cluster is not None:
            self.cluster.close()
        self.breaker.close()

    def _on_transition(self, transition: Transition) -> None:
        """Runs after the breaker's lock is released: the series now, the rest in the
        background."""
        publish_state(transition.after)
        count_transition(transition)
        self.gate.failure_rate.publish()
        self.notifier(transition)


BREAKER = StateKey[BreakerRuntime]("breaker")

__all__ = ["BREAKER", "BreakerRuntime", "publish_state"]
