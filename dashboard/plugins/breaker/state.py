"""What the breaker keeps per host: the breaker of its scope, its gate, its transition notifier,
with ``slow_call_ms`` set the slow-call watch, and the operator's overrides (:meth:`control`).

``scope = "worker"`` keeps a :class:`~dashboard.plugins.breaker.machine.CircuitBreaker` per worker;
``"host"`` (and ``"cluster"``, whose syncer drives the same block) a
:class:`~dashboard.plugins.breaker.hostscope.HostBreaker` over the block in ``runtime_dir/breaker/``. Both
have one interface, so the gate, the watch, health and metrics do not know which they hold.
Only the host breaker has :attr:`BreakerState.attempts`, the host-wide connection-attempt
reservations (:mod:`dashboard.plugins.breaker.attempts`); the worker scope keeps none (``None``).

Plugins are modules shared by every host of a process; one host's breaker lives on that host
under :data:`BREAKER` (``host.state``), made at ``dashboard_configure``. Threads (the host
breaker's sync, the worker scope's override relay) start where requests are served
(:meth:`start_sync`, :meth:`start_relay`): a forking master would not hand them to its workers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dashboard.clock import Clock
from dashboard.plugins.breaker.attempts import AttemptReservations
from dashboard.plugins.breaker.block import BlockError
from dashboard.plugins.breaker.clusterscope import ClusterScope
from dashboard.plugins.breaker.gate import BreakerGate
from dashboard.plugins.breaker.hostscope import HostBreaker
from dashboard.plugins.breaker.machine import CircuitBreaker, State, Transition
from dashboard.plugins.breaker.metrics import count_transition, publish_state
from dashboard.plugins.breaker.notify import TransitionNotifier, log_transition
from dashboard.plugins.breaker.overrides import ACTIONS
from dashboard.plugins.breaker.relay import OverrideRelay
from dashboard.plugins.breaker.settings import BreakerSettings
from dashboard.plugins.breaker.slowwatch import SlowCallWatch
from dashboard.types import StateKey

logger = logging.getLogger("dashboard.breaker")
BLOCK_DIR = "breaker"


@dataclass(frozen=True)
class ControlResult:
    """What an operator override did (the admin answer): the scope it reached, the override now
    in force and when it ends (UTC)."""

    action: str
    scope: str
    forced: str | None
    expires_at: datetime | None
    seconds_left: float | None


class BreakerState:
    """The breaker of one host in one process, with its gate and its notifier."""

    def __init__(self, settings: BreakerSettings, clock: Clock,
                 runtime_dir: Path | None = None, lease_seconds: float = 60,
                 app_factory: str = "default", attempt_seconds: float = 60) -> None:
        self.settings = settings
        self.clock = clock
        self.scope = settings.scope
        #: Called with (action, seconds, reason) after an override is applied here (the cluster
        #: syncer publishes it to the other hosts).
        self.control_listeners: list[Callable[[str, float | None, str], None]] = []
        self.notifier = TransitionNotifier([log_transition])
        self.block_dir = runtime_dir / BLOCK_DIR if runtime_dir is not None else None
        self.relay: OverrideRelay | None = None
        common = {"window_size": settings.window_size, "minimum_calls": settings.minimum_calls,
                  "failure_rate_threshold": settings.failure_rate_threshold,
                  "open_seconds": settings.open_seconds,
                  "half_open_max_calls": settings.half_open_max_calls,
                  "slow_call_rate_threshold": settings.slow_call_rate_threshold,
                  "window_seconds": settings.window_seconds,
                  "open_seconds_max": settings.open_seconds_max,
                  "clock": clock, "on_transition": self._on_transition}
        self.breaker: CircuitBreaker | HostBreaker
        self.attempts: AttemptReservations | None = None
        if self.scope == "worker":
            self.breaker = CircuitBreaker(**common)  # type: ignore[arg-type]
            self.relay = self._open_relay()
        else:
            if self.block_dir is None:
                raise ValueError(f"plugins.breaker.scope = {self.scope!r} needs "
                                 "[dashboard].runtime_dir")
            self.breaker = HostBreaker(self.block_dir, lease_seconds=lease_seconds,
                                       on_seen=publish_state, **common)  # type: ignore[arg-type]
            self.attempts = AttemptReservations(self.breaker, attempt_seconds, clock)
            self.breaker.sync_tasks.append(self.attempts.sweep)
        self.watch = (SlowCallWatch(self.breaker, settings.slow_call_ms)  # type: ignore[arg-type]
                      if settings.slow_call_ms > 0 else None)
        self.gate = BreakerGate(self.breaker, self.watch)  # type: ignore[arg-type]
        # scope = "cluster": the syncer seat, the Redis link and the cluster half of control()
        self.cluster: ClusterScope | None = None
        if self.scope == "cluster" and runtime_dir is not None:
            self.cluster = ClusterScope(self.breaker, settings, runtime_dir,  # type: ignore[arg-type]
                                        app_factory)
            self.control_listeners.append(self.cluster.control)
        publish_state(State.CLOSED)

    @property
    def scope_label(self) -> str:
        """``checks.breaker.scope``: the setting, or in cluster scope ``"cluster"`` while a
        syncer of this host reaches Redis and ``"host (redis unreachable)"`` otherwise."""
        return self.cluster.label if self.cluster is not None else self.scope

    def start_cluster(self) -> None:
        """Cluster scope, in a gunicorn worker (never before the fork): compete for the syncer
        seat."""
        if self.cluster is not None:
            self.cluster.start()

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

    def start_sync(self) -> None:
        """Host scope: start this process's sync thread (idempotent)."""
        if isinstance(self.breaker, HostBreaker):
            self.breaker.start_sync()

    def start_relay(self) -> None:
        """Worker scope: start polling the override block (in each gunicorn worker; a single
        process applies its own overrides as it writes them)."""
        if self.relay is not None:
            self.relay.start()

    def describe(self) -> str:
        """One line for the log at worker start: the scope and where its state lives."""
        if isinstance(self.breaker, HostBreaker):
            return (f"circuit breaker scope: {self.scope_label} "
                    f"(shared block {self.breaker.block.path})")
        where = "every worker of this host" if self.relay is not None else "this worker only"
        return f"circuit breaker scope: worker (overrides reach {where})"

    def statement_started(self) -> None:
        watch = self.watch
        if watch is not None:
            if not watch.sweeping:  # lazily, in the worker: a forked master's thread is gone
                watch.ensure_sweeping()
            self.gate.statement_started()

    def control(self, action: str, seconds: float | None, reason: str) -> ControlResult:
        """Apply an operator override to the whole scope (docs/plugins/breaker.md).

        Worker scope: every worker of the host through the relay (``scope`` ``"host"`` in the
        answer), or the answering worker alone without one (``"worker"``). Host and cluster
        scope: the shared block, seen by every worker on its next call and within 25 ms.
        ``ValueError`` for an unknown action or a missing or out-of-range duration.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown breaker action {action!r} (expected one of "
                             f"{', '.join(ACTIONS)})")
        if action != "reset" and seconds is None:
            raise ValueError(f"{action} needs a duration")
        duration = None if action == "reset" else seconds
        reached = self.scope_label
        if self.relay is not None:
            self.relay.publish(action, duration, reason)
            reached = "host"
        elif action == "force_open":
            self.breaker.force_open(duration, reason)  # type: ignore[arg-type]
        elif action == "disable":
            self.breaker.disable(duration, reason)  # type: ignore[arg-type]
        else:
            self.breaker.reset(reason)
        for listener in list(self.control_listeners):
            with contextlib.suppress(Exception):
                listener(action, duration, reason)
        snapshot = self.breaker.snapshot()
        left = snapshot.forced_seconds_left
        expires = self.clock.now() + timedelta(seconds=left) if left is not None else None
        return ControlResult(action, reached, snapshot.forced, expires, left)

    def close(self) -> None:
        """Stop the threads this state started (sweeper, sync, relay)."""
        if self.watch is not None:
            self.watch.close()
        if self.relay is not None:
            self.relay.close()
        if self.cluster is not None:
            self.cluster.close()
        if isinstance(self.breaker, HostBreaker):
            self.breaker.close()

    def _on_transition(self, transition: Transition) -> None:
        """Runs after the breaker's lock is released: the series now, the rest in the
        background."""
        publish_state(transition.after)
        count_transition(transition)
        self.gate.failure_rate.publish()
        self.notifier(transition)


BREAKER = StateKey[BreakerState]("breaker")

__all__ = ["BREAKER", "BreakerState", "ControlResult", "publish_state"]
