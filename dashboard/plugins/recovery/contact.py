"""When the history store last answered, and whether its silence makes the policy ``unknown``.

docs/plugins/recovery.md: when the store has not answered for ``3 * store_timeout_ms``, the restart
policy is ``unknown``. Every part that talks to the store (the refresher, restart decisions,
heartbeats,
the master's watchdog) reports each answer or failure here; readers ask :attr:`unknown` and never
touch the store themselves. Silence is counted from the last answer, or from when this process
started watching when the store has not answered yet (a worker whose store was down at start);
it counts only while the latest attempt failed.
"""

from __future__ import annotations

import threading

from dashboard import Clock

#: The policy is unknown after this many ``store_timeout_ms`` without an answer.
SILENCE_FACTOR = 3


class StoreContact:
    """Answer/failure bookkeeping on the injected monotonic clock; thread-safe."""

    def __init__(self, clock: Clock, timeout_seconds: float) -> None:
        self._clock = clock
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._since = clock.monotonic()
        self._answered_at: float | None = None
        self._failed_at: float | None = None
        self.last_error: str | None = None

    @property
    def silence_limit_seconds(self) -> float:
        return SILENCE_FACTOR * self.timeout_seconds

    def answered(self) -> None:
        with self._lock:
            self._answered_at = self._clock.monotonic()
            self.last_error = None

    def failed(self, error: BaseException | str) -> None:
        with self._lock:
            self._failed_at = self._clock.monotonic()
            self.last_error = error if isinstance(error, str) else type(error).__name__

    def silent_for(self) -> float:
        """Seconds since the last answer (or since watching began, if none yet)."""
        with self._lock:
            last = self._answered_at if self._answered_at is not None else self._since
        return max(0.0, self._clock.monotonic() - last)

    def age_seconds(self) -> float | None:
        """Seconds since the last answer; ``None`` when the store never answered here."""
        with self._lock:
            answered = self._answered_at
        return None if answered is None else max(0.0, self._clock.monotonic() - answered)

    @property
    def unknown(self) -> bool:
        """The store has been silent for ``3 * store_timeout_ms`` (or more) and the latest
        attempt failed. Silence alone, with nobody asking (no refresher in this process, a
        manual clock), proves nothing."""
        with self._lock:
            answered, failed = self._answered_at, self._failed_at
        failing = failed is not None and (answered is None or failed >= answered)
        return failing and self.silent_for() >= self.silence_limit_seconds

    @property
    def failing(self) -> bool:
        """The latest attempt failed (whatever the silence so far)."""
        with self._lock:
            answered, failed = self._answered_at, self._failed_at
        return failed is not None and (answered is None or failed >= answered)

    @property
    def ever_answered(self) -> bool:
        with self._lock:
            return self._answered_at is not None
