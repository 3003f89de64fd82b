"""Restart decisions: manual (admin API), automatic (watchdog) and crash (a worker died).

Every path does the same three things in the same order: decide under the store's exclusive lock
(so two requests on two workers cannot both pass the policy), record the decision in the history,
then act (signal the master: :mod:`.master`) and append the audit line. Refused requests are
recorded with ``decision = "refused"`` and never count as restarts.

When the history store is silent (policy ``unknown``) or fails during the decision, the store is
left out (§9.4): a plain request is refused with ``RESTART_HISTORY_UNAVAILABLE``; an acknowledged
override (or a crash seen by the master) executes, is audited, and goes to the spool
(:mod:`.spool`), which the workers' refreshers replay into the store when it answers again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from dashboard import Clock
from dashboard.plugins.recovery.audit import AuditLog, AuditRecord
from dashboard.plugins.recovery.contact import StoreContact
from dashboard.plugins.recovery.master import Reloader, count_restart, signal_master
from dashboard.plugins.recovery.policy import PolicyVerdict, RestartPolicy, unknown_verdict
from dashboard.plugins.recovery.schema import RestartRecord
from dashboard.plugins.recovery.spool import RestartSpool
from dashboard.plugins.recovery.store import RestartStore

logger = logging.getLogger("dashboard.recovery")

REFUSAL_CODES = {"cooling_down": "RESTART_COOLDOWN", "blocked": "RESTART_POLICY_BLOCKED"}
HISTORY_UNAVAILABLE = "RESTART_HISTORY_UNAVAILABLE"
#: The problems of the config on disk, one value-free line each (``[]``: valid).
ConfigCheck = Callable[[], list[str]]


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
                 host_key: str, *, contact: StoreContact | None = None,
                 spool: RestartSpool | None = None,
                 last_known: Callable[[], PolicyVerdict] | None = None,
                 on_spooled: Callable[[RestartRecord], None] | None = None,
                 config_problems: ConfigCheck | None = None) -> None:
        """``contact``, ``spool`` and ``last_known`` (the refresher's verdict) switch on the
        outage path of §9.4; without them a store error is raised to the caller.
        ``config_problems`` lists what is wrong with the config a reload would read (key path,
        message and source; no values); ``None`` when there is no config on disk to check."""
        self.store = store
        self.policy = policy
        self.audit = audit
        self.clock = clock
        self.host_key = host_key
        self.contact = contact
        self.spool = spool
        self.last_known = last_known
        self.on_spooled = on_spooled
        self.config_problems = config_problems

    @property
    def outage_path(self) -> bool:
        return self.contact is not None and self.spool is not None

    def verdict(self) -> PolicyVerdict:
        now = self.clock.now()
        return self.policy.evaluate(self.store.executed_since(now - self.policy.lookback), now)

    def request(self, request: RestartRequest, reloader: Reloader | None, *,
                source: str = "manual", event: str = "manual_restart") -> RestartOutcome:
        """Decide on ``request``; when allowed (or overridden), ask ``reloader`` to reload.

        With the store silent (policy ``unknown``) or failing right now, the decision is taken
        without it: see :meth:`_without_store`.
        """
        restart_id = uuid.uuid4().hex
        # Before anything reloads: a broken config would stop the master (or every new worker).
        problems = (self.config_problems() if reloader is not None
                    and self.config_problems is not None else [])
        outcome = self._request(restart_id, request, reloader, source, event, problems)
        if not problems:
            return outcome
        for problem in problems:
            logger.error("restart %s (%s) refused, config invalid: %s", restart_id, source,
                         problem)
        return replace(outcome, message="The config on disk is invalid; nothing was reloaded: "
                       + "; ".join(problems))

    def _request(self, restart_id: str, request: RestartRequest, reloader: Reloader | None,
                 source: str, event: str, problems: list[str]) -> RestartOutcome:
        if self.outage_path and self.contact is not None and self.contact.unknown:
            return self._without_store(restart_id, request, reloader, source, event, problems)
        try:
            now, verdict, decision, code = self._decide(restart_id, request, reloader, source,
                                                        problems)
        except SQLAlchemyError as error:
            if not self.outage_path or self.contact is None:
                raise
            self.contact.failed(error)
            logger.warning("restart %s: history store unavailable (%s)", restart_id,
                           type(error).__name__)
            return self._without_store(restart_id, request, reloader, source, event, problems)
        if self.contact is not None:
            self.contact.answered()
        if decision == "executed" and not signal_master(restart_id, reloader, source):
            self.store.set_decision(restart_id, "failed")
            decision, code = "failed", "RESTART_UNAVAILABLE"
        self._audit(now, event, request, verdict, decision, restart_id)
        logger.info("restart %s (%s) %s: policy %s", restart_id, source, decision, verdict.state)
        return RestartOutcome(restart_id, decision, verdict, code)

    def _decide(self, restart_id: str, request: RestartRequest, reloader: Reloader | None,
                source: str, problems: list[str]
                ) -> tuple[datetime, PolicyVerdict, str, str | None]:
        """Decide and record under the store's exclusive lock."""
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
        return now, verdict, decision, code

    def unknown_verdict(self) -> PolicyVerdict:
        """The policy as it stands without the store: ``unknown``, on what is still known."""
        assert self.contact is not None
        known = self.last_known() if self.last_known is not None else None
        if known is not None and known.state == "unknown":
            return known
        if known is None:
            known = replace(self.policy.evaluate([], self.clock.now()), age_seconds=None)
        return unknown_verdict(known, self.contact.silent_for(),
                               self.contact.silence_limit_seconds)

    def _without_store(self, restart_id: str, request: RestartRequest, reloader: Reloader | None,
                       source: str, event: str, problems: list[str]) -> RestartOutcome:
        """§9.4: without override and acknowledge, ``RESTART_HISTORY_UNAVAILABLE``; with both,
        the restart executes, is audited and spooled (replayed into the store later). The
        watchdog never gets here (it is idle while the policy is unknown)."""
        now = self.clock.now()
        verdict = self.unknown_verdict()
        if reloader is None:
            decision, code = "failed", "RESTART_UNAVAILABLE"
        elif problems:
            decision, code = "refused", "CONFIG_INVALID"
        elif request.overriding:
            decision, code = "executed", None
        else:
            decision, code = "refused", HISTORY_UNAVAILABLE
        if decision == "executed":
            if signal_master(restart_id, reloader, source):
                self._spool(self._record(restart_id, now, source, request, "executed"))
            else:
                decision, code = "failed", "RESTART_UNAVAILABLE"
        self._audit(now, event, request, verdict, decision, restart_id)
        logger.warning("restart %s (%s) %s without the history store: policy unknown",
                       restart_id, source, decision)
        return RestartOutcome(restart_id, decision, verdict, code)

    def _spool(self, record: RestartRecord) -> None:
        assert self.spool is not None
        try:
            self.spool.append(record)
        except OSError as error:  # the audit line still records it; say so loudly
            logger.error("restart %s not spooled (%s): it will be missing from the history",
                         record.id, type(error).__name__)
            return
        if self.on_spooled is not None:
            self.on_spooled(record)

    def audit_invalid(self, problem: str, remote_addr: str | None) -> None:
        """An authenticated restart request with an unusable body: refused, and audited."""
        request = RestartRequest(reason=f"invalid request: {problem}", remote_addr=remote_addr)
        self._audit(self.clock.now(), "manual_restart", request, self._known_verdict(), "refused",
                    None)

    def _known_verdict(self) -> PolicyVerdict:
        """The policy without waiting on the store when a refresher can tell (audit only)."""
        if self.last_known is not None:
            return self.last_known()
        return self.verdict()

    def record_crash(self, pid: int, description: str) -> str:
        """A worker died without being asked to: that is a restart (gunicorn respawns it).
        With the store unavailable it is spooled, like an override during an outage."""
        restart_id = uuid.uuid4().hex
        request = RestartRequest(reason=f"worker {pid} {description}", actor="gunicorn-master")
        try:
            with self.store.exclusive() as connection:
                now = self.clock.now()
                times = self.store.executed_since(now - self.policy.lookback, connection)
                verdict = self.policy.evaluate(times, now)
                self.store.add_restart(connection, self._record(restart_id, now, "crash",
                                                                request, "executed"))
        except SQLAlchemyError as error:
            if not self.outage_path or self.contact is None:
                raise
            self.contact.failed(error)
            now, verdict = self.clock.now(), self.unknown_verdict()
            self._spool(self._record(restart_id, now, "crash", request, "executed"))
        else:
            if self.contact is not None:
                self.contact.answered()
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
