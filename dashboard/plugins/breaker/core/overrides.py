"""Operator overrides of the breaker (docs/plugins/breaker.md): forced open, or disabled, for a
while.

An override is what an operator decides during an incident, above what the failure rate says:

* **forced open** (``force_open(seconds, reason)``): OPEN now for ``seconds``; every guarded call
  is refused with ``retry_after`` = the time left, outcomes are ignored (nothing runs), and no
  probe goes out until it ends. Then the normal OPEN -> HALF_OPEN path runs: one probe decides,
  and the open period after a failed probe is the one the breaker had before it was forced.
* **disabled** (``disable(seconds, reason)``): CLOSED now (a window that opened it is cleared)
  and it never opens until the override ends; outcomes are still counted, so health shows the
  rates. Then normal evaluation resumes: the next outcome opens it if the window says so.
* ``reset(reason)`` clears any override: CLOSED, an empty window, the open period back to
  ``open_seconds``.

Each override ends by itself at its deadline (monotonic): the breaker checks it lazily, where it
matters (an opening decision, a refusal whose time is up, a snapshot), so the CLOSED fast path
stays one attribute read. This module holds the bookkeeping (what is in force, until when, why);
the state changes themselves are the machine's (:mod:`dashboard.plugins.breaker.core.machine`, and
the host scope's
:mod:`dashboard.plugins.breaker.host.control`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FORCED_OPEN, DISABLED = "open", "disabled"  # the values of Snapshot.forced / checks.breaker.forced
ACTIONS = ("force_open", "disable", "reset")
#: The ``Transition.reason`` of a state change an override caused.
REASON_FORCED_OPEN, REASON_DISABLED, REASON_RESET = "forced open", "disabled", "reset"
MAX_OVERRIDE_SECONDS = 86_400
MAX_REASON_LENGTH = 500
#: ``dashboard_breaker_forced``: 0 none, 1 forced open, 2 disabled.
GAUGE_VALUES = {None: 0, FORCED_OPEN: 1, DISABLED: 2}


@dataclass(frozen=True)
class Override:
    """One override in force (or just ended): its kind, deadline and reason.

    ``resume_open_for`` is the open period to go back to when it ends (a forced open replaces the
    breaker's open period with its own duration while it lasts).
    """

    kind: str
    until: float
    reason: str
    resume_open_for: float

    def seconds_left(self, now: float) -> float:
        return max(self.until - now, 0.0)

    def active(self, now: float) -> bool:
        return self.until > now


def start(kind: str, seconds: object, reason: str, now: float,
          resume_open_for: float) -> Override:
    """A new override of ``kind`` for ``seconds`` from ``now``; ``ValueError`` for a duration
    that is not a finite number in (0, 86400] (callers validate requests before; this guards
    the machine)."""
    if kind not in (FORCED_OPEN, DISABLED):
        raise ValueError(f"unknown override {kind!r}")
    if not (isinstance(seconds, int | float) and math.isfinite(seconds)
            and 0 < seconds <= MAX_OVERRIDE_SECONDS):
        raise ValueError(f"override duration must be in (0, {MAX_OVERRIDE_SECONDS}] seconds")
    return Override(kind, now + float(seconds), str(reason)[:MAX_REASON_LENGTH],
                    float(resume_open_for))


def in_force(override: Override | None, now: float) -> Override | None:
    """``override`` while it lasts, else ``None``."""
    return override if override is not None and override.until > now else None


def holds_closed(override: Override | None, now: float) -> bool:
    """A disable in force: the breaker must not open."""
    return override is not None and override.kind == DISABLED and override.until > now


def resume_period(override: Override | None, open_for: float) -> float:
    """The open period to keep when a new override replaces ``override``."""
    return override.resume_open_for if override is not None else open_for
