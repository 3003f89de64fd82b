"""Database faults -> contract answers (docs/api/responses.md): code, status, retryability and
``Retry-After``.

The classification itself (which driver code means what) lives in :mod:`dashboard.db.faults`, so
that the breaker counting faults and this plugin answering them agree. This module only decides
what a client is told: never a driver's text, only the contract's code and its fixed message.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard import Fault
from dashboard.plugins.degradation.settings import DegradationSettings


@dataclass(frozen=True)
class DegradedAnswer:
    """What to send for one fault: a contract code and, when retrying can help, a hint."""

    code: str
    retryable: bool
    retry_after: int | None = None
    message: str | None = None


AUTH_MESSAGE = ("The database rejected the dashboard's credentials; retrying cannot help until "
                "an operator fixes the configuration.")


def answer_for(fault: Fault, settings: DegradationSettings) -> DegradedAnswer:
    """The contract answer for ``fault`` with the configured retry hints."""
    if fault is Fault.POOL_EXHAUSTED:
        return DegradedAnswer("DB_POOL_EXHAUSTED", True, settings.pool_exhausted_retry_after)
    if fault is Fault.QUERY_TIMEOUT:
        return DegradedAnswer("DB_QUERY_TIMEOUT", True, settings.query_timeout_retry_after)
    if fault is Fault.CONNECTION_FAILED:
        return DegradedAnswer("DB_CONNECTION_FAILED", True, settings.connection_failed_retry_after)
    if fault is Fault.CONFLICT:
        return DegradedAnswer("DB_CONFLICT", True, settings.conflict_retry_after)
    if fault is Fault.AUTH_FAILED:
        return DegradedAnswer("DB_CONNECTION_FAILED", False, None, AUTH_MESSAGE)
    return DegradedAnswer("DB_QUERY_ERROR", False)
