"""How full a connection pool is, read from the pool itself without touching the database.

``saturation = checked_out / max_capacity`` with ``max_capacity = pool_size + max_overflow``.
Health's ``pool`` check and admin system-status both report these figures (docs/api/health.md,
docs/api/admin.md), so they are computed once, here.
"""

from __future__ import annotations

from typing import Any

from dashboard.checks import CheckStatus


def pool_figures(pool: Any, max_overflow: int) -> dict[str, Any]:
    """``size``, ``checked_out``, ``overflow``, ``max_capacity``, ``saturation`` of ``pool``.

    SQLAlchemy's ``QueuePool.overflow()`` starts at ``-pool_size`` and counts connections opened
    beyond the pool size; the contract reports only the part above zero. Pools without these
    methods (``NullPool``, ``StaticPool``) report zeros rather than failing.
    """
    size = _call_int(pool, "size")
    checked_out = _call_int(pool, "checkedout")
    overflow = max(0, _call_int(pool, "overflow"))
    max_capacity = size + max(0, max_overflow)
    saturation = checked_out / max_capacity if max_capacity > 0 else 0.0
    return {
        "size": size,
        "checked_out": checked_out,
        "overflow": overflow,
        "max_capacity": max_capacity,
        "saturation": round(saturation, 4),
    }


def _call_int(pool: Any, method: str) -> int:
    function = getattr(pool, method, None)
    if function is None:
        return 0
    value = function()
    return value if isinstance(value, int) else 0


def saturation_status(saturation: float, warning: float, critical: float) -> CheckStatus:
    if saturation >= critical:
        return "fail"
    if saturation >= warning:
        return "warn"
    return "pass"
