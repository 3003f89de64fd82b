"""Restart decisions: manual (admin API), automatic (watchdog) and crash (a worker died).

Every path does the same three things in the same order: decide under the store's exclusive lock
(so two requests on two workers cannot both pass the policy), record the decision in the history,
then act (signal the master) and append the audit line. Refused requests are recorded with
``decision = "refused"`` and never count as restarts.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dashboard.clock import Clock
from dashboard.context import MASTER_PID_ENV
from plugins.recovery.audit import AuditLog, AuditRecord
from plugins.recovery.policy import PolicyVerdict, RestartPolicy
from plugins.recovery.store import RestartRecord, RestartStore

logger = logging.getLogger("dashboard.recovery")

Reloader = Callable[[], None]
#: The problems of the config on disk, one value-free line each (``[]``: valid).
ConfigCheck = Callable[[], list[str]]

REFUSAL_CODES = {"cooling_down": "RESTART_COOLDOWN", "blocked": "RESTART_POLICY_BLOCKED"}


def master_pid() -> int | None:
    """The gunicorn master that forked this worker, when it can be asked to reload."""
    value = os.environ.get(MASTER_PID_ENV, "")
    if not value.isdigit():
        return None
    pid = int(value)
    # Only our own parent (or ourselves, in the master): never signal an unrelated process that
    # inherited the variable.
    return pid if pid in (os.getppid(), os.getpid()) else None


def master_reloader() -> Reloader | None:
    """Ask the master for a graceful reload (SIGHUP): new workers, same listening socket."""
    pid = master_pid()
    if pid is None:
        return None
    return lambda: os.kill(pid, signal.SIGHUP)


@dataclass(frozen=True)
class RestartRequest:
    """What an operator asked for, and from where."""

    reason: str
    override: bool = False
    acknowledge: bool = False
    actor: str = "admin"
    remote_addr: str | None = None

    @property
    def overriding(self) -> bool:
        return self.override and self.acknowledge


@dataclass(frozen=True)
class RestartOutcome:
    """The decision on one request; ``error_code`` is the contract code when not executed."""

    restart_id: str
    decision: str
    policy_before: PolicyVerdict
    error_code: str | None = None
    message: str | None = None


class Restarts:
    """Decides, records, executes and audits restarts for one host."""

    def __init__(self, store: RestartStore, policy: RestartPolicy, audit: AuditLog, clock: Clock,
                 host_key: str, config_problems: ConfigCheck | None = None) -> None:
        """``config_problems`` lists what is wrong with the config a reload would read (key path,
        message and source; no values); ``None`` when there is no config on disk to check."""
        self.store = store
        self.policy = policy
        self.audit = audit
        self.clock = clock
        self.host_key = host_key
        self.config_problems = config_problems

    def verdict(self) -> PolicyVerdict:
        now = self.clock.now()
        return self.policy.evaluate(self.store.executed_since(now - self.policy.lookback), now)

    def request(self, request: RestartRequest, reloader: Reloader | None, *,
                source: str = "manual", event: str = "manual_restart") -> RestartOutcome:
        """Decide on ``request``; when allowed (or overridden), ask ``reloader`` to reload."""
        restart_id = uuid.uuid4().hex
        # Before anything reloads: a broken config would stop the master (or every new worker).
        problems = (self.config_problems() if reloader is not None
                    and self.config_problems is not None else [])
        with self.store.exclusive() as connection:
            now = self.clock.now()  # read under the lock: a decision made before ours is past
            times = self.store.executed_since(now - self.policy.lookback, connection)
            verdict = self.policy.evaluate(times, now)
            if reloader is None:
                decision, code = "failed", "RESTART_UNAVAILABLE"
            elif problems:
                decision, code = "refused", "CONFIG_INVALID"
            elif verdict.allowed or request.overriding:
                decision, code = "executed", None
            else:
                decision, code = "refused", REFUSAL_CODES[verdict.state]
            self.store.add_restart(connection, self._record(restart_id, now, source, request,
                                                            decision))
        if decision == "executed":
            assert reloader is not None
            try:
                reloader()
            except OSError as error:
                logger.error("restart %s: cannot signal the master (%s)", restart_id,
                             type(error).__name__)
                self.store.set_decision(restart_id, "failed")
                decision, code = "failed", "RESTART_UNAVAILABLE"
            else:
                count_restart(source)
        self._audit(now, event, request, verdict, decision, restart_id)
        if problems:
            for problem in problems:
                logger.error("restart %s (%s) refused, config invalid: %s", restart_id, source,
                             problem)
            return RestartOutcome(restart_id, decision, verdict, code,
                                  "The config on disk is invalid; nothing was reloaded: "
                                  + "; ".join(problems))
        logger.info("restart %s (%s) %s: policy %s", restart_id, source, decision, verdict.state)
        return RestartOutcome(restart_id, decision, verdict, code)

    def audit_invalid(self, problem: str, remote_addr: str | None) -> None:
        """An authenticated restart request with an unusable body: refused, and audited."""
        request = RestartRequest(reason=f"invalid request: {problem}", remote_addr=remote_addr)
        self._audit(self.clock.now(), "manual_restart", request, self.verdict(), "refused", None)

    def record_crash(self, pid: int, description: str) -> str:
        """A worker died without being asked to: that is a restart (gunicorn respawns it)."""
        restart_id = uuid.uuid4().hex
        request = RestartRequest(reason=f"worker {pid} {description}", actor="gunicorn-master")
        with self.store.exclusive() as connection:
            now = self.clock.now()
            times = self.store.executed_since(now - self.policy.lookback, connection)
            verdict = self.policy.evaluate(times, now)
            self.store.add_restart(connection, self._record(restart_id, now, "crash", request,
                                                            "executed"))
        count_restart("crash")
        self._audit(now, "crash_restart", request, verdict, "executed", restart_id)
        logger.warning("worker %s %s: recorded as crash restart %s", pid, description, restart_id)
        return restart_id

    def _record(self, restart_id: str, now: datetime, source: str, request: RestartRequest,
                decision: str) -> RestartRecord:
        return RestartRecord(id=restart_id, host_key=self.host_key, requested_at=now,
                             completed_at=None, source=source, actor=request.actor,
                             reason=request.reason[:500], decision=decision,
                             override=request.overriding)

    def _audit(self, now: datetime, event: str, request: RestartRequest, verdict: PolicyVerdict,
               decision: str, restart_id: str | None) -> None:
        record = AuditRecord(
            timestamp=now, event=event, actor=request.actor, remote_addr=request.remote_addr,
            reason=request.reason, override=request.override, acknowledge=request.acknowledge,
            policy_state=verdict.state, decision=decision, restart_id=restart_id)
        try:
            self.audit.append(record)
        except OSError as error:  # the decision stands (and is in the history); say so loudly
            logger.error("audit log not written for restart %s (%s)", restart_id,
                         type(error).__name__)


def count_restart(source: str) -> None:
    """``dashboard_worker_restarts_total{source}``; metrics must never break a restart."""
    try:
        from dashboard.metrics import series

        series().worker_restarts.labels(source=source).inc()
    except Exception:  # pragma: no cover - defensive
        logger.debug("restart metric not updated", exc_info=True)
