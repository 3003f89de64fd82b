"""The breaker's windows of recent outcomes: the last N calls, or the calls of the last N seconds.

An outcome is one of three: success, failure, slow. Both windows keep running totals so that a
rate is two divisions, never a scan. Neither is thread-safe: the breaker calls them under its lock.

``add`` returns a *ticket* for the outcome it stored. A slow call is counted while it is still
running; when it later ends in an availability failure, :meth:`upgrade` turns that same outcome
into a failure (if it is still in the window), so each call counts once, as the worst thing known
about it.
"""

from __future__ import annotations

from typing import TypeAlias

#: A window's slots: a list in one worker, a view of the host's shared block in host scope.
Slots: TypeAlias = "list[int] | memoryview[int]"


SUCCESS, FAILURE, SLOW = 0, 1, 2


class CountWindow:
    """The last ``size`` outcomes, in a ring."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ring: Slots = [SUCCESS] * size
        self._next = 0
        self._written = 0  # never reset: a ticket from before a clear can never match again
        self.count = self.failures = self.slow = 0

    def add(self, outcome: int, now: float) -> int:
        if self.count == self.size:
            self._tally(self._ring[self._next], -1)
        else:
            self.count += 1
        self._ring[self._next] = outcome
        self._tally(outcome, 1)
        self._next = (self._next + 1) % self.size
        self._written += 1
        return self._written - 1

    def upgrade(self, ticket: int, now: float) -> bool:
        """Turn the slow outcome stored as ``ticket`` into a failure, if it is still here."""
        if ticket < self._written - self.count:  # overwritten, or cleared since
            return False
        slot = ticket % self.size
        if self._ring[slot] != SLOW:
            return False
        self._ring[slot] = FAILURE
        self.slow -= 1
        self.failures += 1
        return True

    def expire(self, now: float) -> None:
        """Nothing ages out of a count window."""

    @property
    def full(self) -> bool:
        return self.count == self.size

    def clear(self) -> None:
        self._ring = [SUCCESS] * self.size
        self._next = 0
        self.count = self.failures = self.slow = 0

    def _tally(self, outcome: int, step: int) -> None:
        if outcome == FAILURE:
            self.failures += step
        elif outcome == SLOW:
            self.slow += step


class TimeWindow:
    """Outcomes younger than ``seconds``, in one bucket per second of the monotonic clock.

    The window is the current second and the ``seconds - 1`` before it. Buckets that age out are
    dropped lazily, when the clock has moved on since the last look: at most ``seconds`` buckets,
    usually one, so recording stays O(1).

    While the window holds no failure and no slow call (``clean``), a success cannot open the
    breaker; it only adds to its second's bucket, which :meth:`add_success_unlocked` does without
    the breaker's lock (a rare lost increment under contention only shrinks a denominator), and
    ``count`` is summed from the buckets when asked. Once a failure or a slow call arrives the
    running total is taken from the buckets and kept exactly, under the lock, and re-summed each
    second, so an increment that raced the switch cannot linger.
    """

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._second: Slots = [-1] * seconds
        self._total: Slots = [0] * seconds
        self._failures: Slots = [0] * seconds
        self._slow: Slots = [0] * seconds
        self._latest = -1
        self._count = 0  # kept only while not clean
        self.failures = self.slow = 0
        self.clean = True

    full = False  # never the count window's fast path: every success changes how much it holds

    @property
    def count(self) -> int:
        return sum(self._total) if self.clean else self._count

    def add_success_unlocked(self, now: float) -> bool:
        """Count a success without the lock if that is safe now; ``False``: take the lock."""
        second = int(now)
        index = second % self.seconds
        if self.clean and self._second[index] == second:
            self._total[index] += 1
            return True
        return False

    def add(self, outcome: int, now: float) -> int:
        second = int(now)
        if second > self._latest:
            self.expire(now)
        index = second % self.seconds
        if self._second[index] != second:
            self._drop(index)
            self._second[index] = second
        if outcome != SUCCESS and self.clean:
            self._count = sum(self._total)
            self.clean = False
        self._total[index] += 1
        self._count += 1
        if outcome == FAILURE:
            self._failures[index] += 1
            self.failures += 1
        elif outcome == SLOW:
            self._slow[index] += 1
            self.slow += 1
        return second

    def upgrade(self, ticket: int, now: float) -> bool:
        self.expire(now)
        index = ticket % self.seconds
        if self._second[index] != ticket or self._slow[index] == 0:
            return False
        self._slow[index] -= 1
        self.slow -= 1
        self._failures[index] += 1
        self.failures += 1
        return True

    def expire(self, now: float) -> None:
        second = int(now)
        if second <= self._latest:
            return
        if second - self._latest >= self.seconds:
            self.clear()
        else:
            for old in range(self._latest + 1, second + 1):  # the seconds that now reuse a bucket
                index = old % self.seconds
                if self._second[index] != old:
                    self._drop(index)
            if self.failures == 0 and self.slow == 0:
                self.clean = True
            elif not self.clean:
                self._count = sum(self._total)
        self._latest = second

    def clear(self) -> None:
        for index in range(self.seconds):
            self._second[index] = -1
            self._total[index] = self._failures[index] = self._slow[index] = 0
        self._count = self.failures = self.slow = 0
        self.clean = True

    def _drop(self, index: int) -> None:
        if not self.clean:
            self._count -= self._total[index]
        self.failures -= self._failures[index]
        self.slow -= self._slow[index]
        self._second[index] = -1
        self._total[index] = self._failures[index] = self._slow[index] = 0


def failure_rate_unlocked(window: CountWindow | TimeWindow) -> float:
    """The window's failure share read without its lock (for a gauge: a torn read of two ints
    is at worst one outcome stale); without asking for ``count`` while there is no failure (a
    clean time window would sum its buckets)."""
    failures = window.failures
    if not failures:
        return 0.0
    count = window.count
    return failures / count if count else 0.0
