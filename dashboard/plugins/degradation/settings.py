"""``[plugins.degradation]``."""

from __future__ import annotations

from pydantic import Field

from dashboard import SectionModel

DAY = 86_400


class DegradationSettings(SectionModel):
    """``Retry-After`` hints (seconds, 1..86400) sent with each degraded answer."""

    pool_exhausted_retry_after: int = Field(5, ge=1, le=DAY, description="For "
                                            "DB_POOL_EXHAUSTED.")
    connection_failed_retry_after: int = Field(30, ge=1, le=DAY, description="For "
                                               "DB_CONNECTION_FAILED.")
    query_timeout_retry_after: int = Field(10, ge=1, le=DAY, description="For DB_QUERY_TIMEOUT.")
    conflict_retry_after: int = Field(1, ge=1, le=DAY, description="For DB_CONFLICT (a deadlock, "
                                      "serialization failure or lock wait timeout).")
