"""The restart policy: ``allowed``, ``cooling_down`` or ``blocked`` (docs/api/admin.md), or
``unknown`` while the history store does not answer (§9.4, see :func:`unknown_verdict`).

Small composable rules in the spirit of tenacity's stop/wait objects: each rule looks at the times
of the restarts that were executed (refused requests are never restarts, so they can neither count
nor extend a block) and at "now", and says whether it holds restarts back and until when. The
policy combines them: ``blocked`` (churn) wins over ``cooling_down``. Time is passed in, never read
here, so the logic is tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from dashboard import plain_number, utc_timestamp

if TYPE_CHECKING:
    from dashboard.plugins.recovery.settings import RecoverySettings

PolicyState = Literal["allowed", "cooling_down", "blocked", "unknown"]


def remaining_seconds(delta: timedelta) -> int:
    """Time left as whole seconds rounded up; 0 when nothing is left."""
    seconds = delta.total_seconds()
    if seconds <= 0:
        return 0
    whole = int(seconds)
    return whole if whole == seconds else whole + 1


@dataclass(frozen=True)
class ChurnStatus:
    """``restart_churn``: executed restarts (any source) inside the window."""

    window_seconds: float
    threshold: int
    count: int
    exceeded: bool
    clears_at: datetime | None

    def payload(self) -> dict[str, Any]:
        return {"window_seconds": plain_number(self.window_seconds), "threshold": self.threshold,
                "count": self.count, "exceeded": self.exceeded}


@dataclass(frozen=True)
class ChurnRule:
    """At ``threshold`` restarts within ``window_seconds``, restarts are blocked."""

    window_seconds: float
    threshold: int

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.window_seconds)

    def status(self, restart_times: Sequence[datetime], now: datetime) -> ChurnStatus:
        start = self.window_start(now)
        inside = sorted(t for t in restart_times if start < t <= now)
        exceeded = len(inside) >= self.threshold
        clears_at = None
        if exceeded:
            # The block lifts when so many restarts have left the window that fewer than
            # `threshold` remain: the (count - threshold + 1)-th oldest must age out.
            clears_at = inside[len(inside) - self.threshold] + timedelta(
                seconds=self.window_seconds)
        return ChurnStatus(self.window_seconds, self.threshold, len(inside), exceeded, clears_at)


@dataclass(frozen=True)
class CooldownRule:
    """Within ``cooldown_seconds`` of the last restart, restarts wait."""

    cooldown_seconds: float

    def remaining(self, restart_times: Sequence[datetime], now: datetime) -> timedelta:
        past = [t for t in restart_times if t <= now]
        if not past or self.cooldown_seconds <= 0:
            return timedelta(0)
        left = max(past) + timedelta(seconds=self.cooldown_seconds) - now
        return max(left, timedelta(0))


@dataclass(frozen=True)
class PolicyVerdict:
    """The policy now: its state, how long the cooldown still runs, what an operator can do."""

    state: PolicyState
    cooldown_remaining_seconds: int
    next_action: str
    churn: ChurnStatus
    #: Seconds since the restart history behind this verdict was read (0: read just now).
    age_seconds: float | None = 0.0

    @property
    def allowed(self) -> bool:
        return self.state == "allowed"

    def payload(self) -> dict[str, Any]:
        return {"state": self.state, "cooldown_remaining_seconds": self.cooldown_remaining_seconds,
                "next_action": self.next_action, "age_seconds": (None if self.age_seconds is None
                                                 else round(self.age_seconds, 3))}


@dataclass(frozen=True)
class RestartPolicy:
    """Churn and cooldown combined; blocked wins over cooling down."""

    churn: ChurnRule
    cooldown: CooldownRule

    @classmethod
    def from_settings(cls, settings: RecoverySettings) -> RestartPolicy:
        return cls(ChurnRule(settings.churn_window_seconds, settings.churn_threshold),
                   CooldownRule(settings.cooldown_seconds))

    @property
    def lookback(self) -> timedelta:
        """How far back restarts matter to any rule."""
        return timedelta(seconds=max(self.churn.window_seconds, self.cooldown.cooldown_seconds))

    def evaluate(self, restart_times: Sequence[datetime], now: datetime) -> PolicyVerdict:
        churn = self.churn.status(restart_times, now)
        cooldown_left = remaining_seconds(self.cooldown.remaining(restart_times, now))
        if churn.exceeded:
            assert churn.clears_at is not None
            return PolicyVerdict(
                "blocked", cooldown_left,
                f"restarts blocked: {churn.count} restarts in the last "
                f"{plain_number(churn.window_seconds)}s (threshold {churn.threshold}); "
                "investigate the cause; a restart now needs override and acknowledge; "
                f"unblocks at {utc_timestamp(churn.clears_at)}", churn)
        if cooldown_left > 0:
            return PolicyVerdict(
                "cooling_down", cooldown_left,
                f"wait {cooldown_left}s before restarting, or restart with override and "
                "acknowledge", churn)
        return PolicyVerdict("allowed", 0, "restart allowed if needed", churn)


def unknown_verdict(evaluated: PolicyVerdict, silent_seconds: float,
                    limit_seconds: float) -> PolicyVerdict:
    """The policy while the history store is silent: nobody can tell whether a restart would
    churn. ``evaluated`` is the policy on what is still known (the last history read, plus the
    restarts spooled since); its figures are kept, its state becomes ``unknown`` and
    ``next_action`` says why."""
    if evaluated.age_seconds is None:
        why = ("the restart history store has not answered since this process started "
               f"({silent_seconds:.0f}s ago)")
    else:
        why = (f"the restart history store has not answered for {silent_seconds:.0f}s "
               f"(limit {plain_number(limit_seconds)}s = 3 x store_timeout_ms)")
    return replace(
        evaluated, state="unknown",
        next_action=f"policy unknown: {why}; the watchdog is idle; a restart now needs override "
                    "and acknowledge (it is audited, and replayed into the history when the store "
                    "answers again)")
