"""The limit rules: how many app requests a worker lets in at once.

Two small policies with one interface (:class:`LimitPolicy`), fed one latency sample per finished
request by the :class:`~dashboard.plugins.admission.limiter.Limiter`:

* :class:`FixedLimit` (``adaptive = false``): always ``max_concurrent``.
* :class:`GradientLimit` (``adaptive = true``): the *gradient* rule, after Netflix
  concurrency-limits' ``Gradient2Limit``. It compares each request's latency (the short-term
  signal) with a slow exponential average of latency (the long-term baseline)::

      long    <- long + (rtt - long) * 2 / (LONG_WINDOW + 1)   (a plain mean for the first
                                                                 WARMUP samples)
      if long / rtt > 2:  long <- long * 0.95                  (latency fell far below the
                                                                 baseline: re-baseline faster)
      g       =  clamp(TOLERANCE * long / rtt, 0.5, 1)         (1: no queueing seen;
                                                                 < 1: latency grew past the
                                                                 tolerated 1.5x of the baseline)
      target  =  L * g + (QUEUE if g == 1 else 0)              (grow by a queue allowance only
                                                                 while latency is fine)
      L       <- clamp(L * (1 - SMOOTHING) + target * SMOOTHING, min_concurrent, max_concurrent)

  As in Gradient2, ``L`` is left alone while the worker is *app-limited*: a request that ends
  with fewer than ``L / 2`` requests in flight says nothing about capacity (a lightly loaded
  worker on a noisy machine would otherwise shrink its limit from jitter alone); the baseline
  still learns from it.

  Steady latency keeps ``g = 1``, so ``L`` climbs to (and stays at) ``max_concurrent``.
  Latency that keeps rising (a database slowing down under a lock) keeps ``g < 1`` and
  shrinks ``L`` geometrically, by up to ``SMOOTHING * (1 - 0.5) = 10%`` a sample, down to
  ``min_concurrent``. When latency settles, either back to the old level or at a new one
  the baseline has caught up with, ``g`` returns to 1 and ``L`` grows back by
  ``SMOOTHING * QUEUE = 0.2`` a sample. Unlike Gradient2, the queue allowance is granted only
  while ``g = 1``: Gradient2 adds it to every update, which at the small limits of a threaded
  worker (3 or 4) would keep ``L`` from ever shrinking (its fixed point ``QUEUE / (1 - g)`` is
  above the ceiling).

The requests admitted are ``min(L, ceiling)`` rounded to the nearest whole number (``floor``,
as Gradient2 does, would take a whole slot of 3 away for the first 1% dip). ``set_ceiling``
lowers the ceiling (the ``throttle`` recommendation halves it) and restores it to
``max_concurrent``; ``L`` keeps learning underneath, so lifting the ceiling gives back at once
whatever latency allows. The limit never leaves ``[min_concurrent, ceiling]``.
"""

from __future__ import annotations

import math
from typing import Protocol

TOLERANCE = 1.5
SMOOTHING = 0.2
QUEUE = 1.0
LONG_WINDOW = 100
WARMUP = 10
MIN_GRADIENT = 0.5
DRIFT_RATIO = 2.0
DRIFT_FACTOR = 0.95
_TINY = 1e-6  # a zero latency (a clock that did not move) still divides
_INF = math.inf
_LONG_FACTOR = 2.0 / (LONG_WINDOW + 1)


class LimitPolicy(Protocol):
    """A limit rule: read ``limit``; feed ``update`` one latency (seconds) per finished request,
    with the number of requests that were in flight when it finished (itself included)."""

    name: str
    limit: int  #: the requests admitted now (read on every request: a plain attribute)

    def update(self, latency: float, in_flight: int) -> None: ...

    def set_ceiling(self, ceiling: int) -> None: ...


class FixedLimit:
    """``max_concurrent`` and nothing else: latency and throttling do not move it."""

    name = "fixed"

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit

    def update(self, latency: float, in_flight: int) -> None:
        return None

    def set_ceiling(self, ceiling: int) -> None:
        return None


class GradientLimit:
    """The gradient rule of the module docstring; not thread-safe (the limiter holds a lock)."""

    name = "gradient"

    def __init__(self, min_limit: int, max_limit: int) -> None:
        if not 1 <= min_limit <= max_limit:
            raise ValueError(f"need 1 <= min_limit <= max_limit (got {min_limit}, {max_limit})")
        self.min_limit = min_limit
        self.max_limit = max_limit
        self.ceiling = max_limit
        self.estimate = float(max_limit)
        self.limit = max_limit
        self._samples = 0
        self._long = 0.0  # the baseline: a plain mean of the first WARMUP samples, then the EMA

    def _settle(self) -> None:
        self.limit = max(self.min_limit, math.floor(min(self.estimate, self.ceiling) + 0.5))

    @property
    def baseline(self) -> float:
        """The long-term latency average (seconds)."""
        return self._long

    def update(self, latency: float, in_flight: int) -> None:
        # max(latency, _TINY) for a finite latency, as comparisons: no call per request
        if _TINY < latency < _INF:
            rtt = latency
        elif -_INF < latency <= _TINY:
            rtt = _TINY
        else:
            return  # NaN or infinite: not a sample
        samples = self._samples = self._samples + 1
        long = self._long  # inline, not an average object's method: this runs on every request
        long += (rtt - long) / samples if samples <= WARMUP else (rtt - long) * _LONG_FACTOR
        self._long = long * DRIFT_FACTOR if long / rtt > DRIFT_RATIO else long
        if in_flight < self.estimate / 2:  # app-limited: no evidence about capacity
            return
        gradient = min(1.0, max(MIN_GRADIENT, TOLERANCE * long / rtt))
        target = self.estimate * gradient + (QUEUE if gradient >= 1.0 else 0.0)
        smoothed = self.estimate * (1 - SMOOTHING) + target * SMOOTHING
        self.estimate = min(float(self.max_limit), max(float(self.min_limit), smoothed))
        self._settle()

    def set_ceiling(self, ceiling: int) -> None:
        """Cap the limit at ``ceiling`` (within ``[min, max]``); the rule keeps learning below."""
        self.ceiling = min(self.max_limit, max(self.min_limit, ceiling))
        self._settle()
