"""Shared state is bounded: what another process wrote is adopted only within the limits this
host's own settings would have allowed (docs/plugins/breaker.md, "Shared state is bounded").

A breaker open period or operator override read from Redis (cluster scope) or from the host
block in ``runtime_dir`` (host scope) may have been written by another version, another
configuration, a bug or anyone who can write there. Adopted as it is, ``open_until_ms`` = now + 10
years answered ``Retry-After: 315359999`` and outlived every Redis key and reloads. So at the
point of adoption:

* a trip lasts at most :attr:`Rules.open_seconds_max` (``open_seconds_max``, or
  ``open_seconds`` when that is 0): the longest this host would ever open by itself;
* an override lasts at most :data:`OVERRIDE_MAX_SECONDS` (86,400 s, the admin API's own limit);
* a time that is not a finite number is malformed: the record is ignored, with one WARNING.

A value cut down is logged once (WARNING) where it is adopted; values within bounds cost a
comparison.
"""

from __future__ import annotations

import logging
import math

#: The longest override, whoever wrote it: the admin API refuses longer durations too.
OVERRIDE_MAX_SECONDS = 86_400.0
logger = logging.getLogger("dashboard.breaker")


def bounded(seconds: float, limit: float, what: str, source: str) -> float | None:
    """``seconds`` cut to ``limit``; ``None`` when it is not a finite number (malformed: the
    caller ignores the record). ``what`` and ``source`` name it in the WARNING line."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        logger.warning("breaker: ignored a malformed %s from %s (not a finite time)", what,
                       source)
        return None
    if value > limit:
        logger.warning("breaker: %s %s of %.0f s from %s cut to %.0f s (the longest allowed)",
                       "an" if what[:1] in "aeiou" else "a", what, value, source, limit)
        return limit
    return value


def bounded_trip(seconds: float, open_seconds_max: float, source: str) -> float | None:
    return bounded(seconds, open_seconds_max, "trip", source)


def bounded_override(seconds: float, source: str) -> float | None:
    return bounded(seconds, OVERRIDE_MAX_SECONDS, "override", source)
