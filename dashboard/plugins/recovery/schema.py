"""What the restart-history store holds: its tables, and the records read from them.

The tables and the records that mirror them change together (a column is added to both), so
they live together, apart from how the store connects (:mod:`.storeengine`) and what it does
(:mod:`.store`). Every time is UTC-aware on the way in and out, on every dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.types import TypeDecorator

#: Earlier than any time the store holds: ``since=EPOCH`` reads everything.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every dialect (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the recovery store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

restarts = Table(
    "recovery_restarts", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("host_key", String(200), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime(), nullable=True),
    Column("source", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("override", Boolean, nullable=False, default=False),
)

heartbeats = Table(
    "recovery_heartbeats", metadata,
    Column("host_key", String(200), primary_key=True),
    Column("pid", Integer, primary_key=True, autoincrement=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("last_heartbeat", UTCDateTime(), nullable=False),
    Column("breaker_state", String(16), nullable=True),
    Column("recommendation", String(16), nullable=True),
    Column("recover_since", UTCDateTime(), nullable=True),
)

decision_lock = Table(
    "recovery_lock", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
)


@dataclass(frozen=True)
class RestartRecord:
    """One entry of the restart history (docs/api/admin.md ``restart_history``)."""

    id: str
    host_key: str
    requested_at: datetime
    completed_at: datetime | None
    source: str
    actor: str
    reason: str
    decision: str
    override: bool


@dataclass(frozen=True)
class Heartbeat:
    """What one worker last said about itself."""

    host_key: str
    pid: int
    started_at: datetime
    last_heartbeat: datetime
    breaker_state: str | None
    recommendation: str | None
    recover_since: datetime | None
