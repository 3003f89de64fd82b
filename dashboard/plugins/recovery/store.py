"""The restart-history store: restarts and worker heartbeats, shared by every worker of a host.

Why a database and not process memory: a restart request lands on one worker, the crash of
another is seen only by the gunicorn master, and the admin status must read the same history
whichever worker answers. SQLite in ``runtime_dir`` (WAL, busy timeout) serves the processes of one
host; any SQLAlchemy URL (PostgreSQL) in ``store_url`` shares one history between hosts.

Decisions that must not race (two operators pressing "restart" on two workers at once) run inside
:meth:`RestartStore.exclusive`: ``BEGIN IMMEDIATE`` on SQLite, a row lock on a one-row table
elsewhere. The store engine is kept out of the host's database hooks, so the circuit breaker never
gates it and its calls never count as the app's database outcomes.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.types import TypeDecorator

from dashboard import exclude_from_observation
from dashboard.plugins.recovery.deadline import StoreDeadlines

#: Rows kept in the restart history; the admin API shows the newest 50 of them.
HISTORY_LIMIT = 500
DEFAULT_STORE_TIMEOUT_MS = 2000
IMMEDIATE_OPTION = "recovery_write_lock"
#: ``create_schema`` tries this often, pausing 0.05 s, 0.1 s, 0.2 s ... (halved at random).
SCHEMA_ATTEMPTS = 6
SCHEMA_BACKOFF_SECONDS = 0.05
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


def store_engine(store_url: str, runtime_dir: Path,
                 timeout_ms: int = DEFAULT_STORE_TIMEOUT_MS) -> Engine:
    """The engine for ``store_url``, or a SQLite file in ``runtime_dir`` when it is empty.

    Every operation is bounded by ``timeout_ms`` (``store_timeout_ms``): the connect timeout
    (PostgreSQL counts whole seconds, at least 2), the statement timeout (PostgreSQL
    ``statement_timeout``; SQLite's busy timeout), the pool wait, and
    :class:`~dashboard.plugins.recovery.deadline.StoreDeadlines`, which cuts a connection held past the
    bound when the network goes silent. Creating the engine never connects.
    """
    seconds = timeout_ms / 1000
    if not store_url:
        runtime_dir.mkdir(parents=True, exist_ok=True)
        store_url = f"sqlite:///{(runtime_dir / 'recovery.sqlite3').resolve()}"
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": seconds,
                                                  "check_same_thread": False})
        _sqlite_wal_and_immediate(engine, timeout_ms)
        return exclude_from_observation(engine)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, math.ceil(seconds))
        options = " ".join(filter(None, [url.query.get("options") or "",  # type: ignore[list-item]
                                         f"-c statement_timeout={timeout_ms}"]))
        connect_args["options"] = options
    # No pre-ping: it would run before the deadline is armed. A connection the server dropped
    # fails one operation, is invalidated, and the next operation reconnects.
    engine = create_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=False,
                           pool_timeout=seconds, pool_recycle=300, connect_args=connect_args)
    StoreDeadlines(seconds).attach(engine)
    return exclude_from_observation(engine)


def _sqlite_wal_and_immediate(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL lets readers and one writer work at once; ``BEGIN IMMEDIATE`` takes the write lock
    up front so a read-then-write decision cannot be overtaken by another process."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class RestartStore:
    """Restart history and heartbeats over SQLAlchemy Core; every time UTC-aware."""

    def __init__(self, engine: Engine, history_limit: int = HISTORY_LIMIT) -> None:
        self.engine = engine
        self.history_limit = history_limit
        self._schema_ready = False

    def create_schema(self) -> None:
        """Create the tables; tolerate other processes creating them at the same moment.

        Every worker of a starting host gets here at once. The check and the ``CREATE`` run in
        one write transaction taken up front (``BEGIN IMMEDIATE`` on SQLite: a deferred one that
        read first cannot wait for the lock and fails with "database is locked" at once), and a
        failure is retried a bounded number of times with a growing, jittered pause.
        """
        if self._schema_ready:
            return
        for attempt in range(SCHEMA_ATTEMPTS):
            try:
                with self.writing() as connection:
                    metadata.create_all(connection, checkfirst=True)
                    if connection.execute(select(decision_lock.c.id)).first() is None:
                        connection.execute(insert(decision_lock).values(id=1))
                self._schema_ready = True
                return
            except (IntegrityError, OperationalError, ProgrammingError):
                if attempt == SCHEMA_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.5, 1.0) * SCHEMA_BACKOFF_SECONDS * 2 ** attempt)

    def after_fork(self) -> None:
        """Forget connections inherited from the parent process (they belong to it)."""
        self.engine.dispose(close=False)
        exclude_from_observation(self.engine)  # dispose() made a new pool: keep it unobserved

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock at ``BEGIN`` (IMMEDIATE): a
        deferred transaction that reads and then writes fails at once with "database is
        locked" when another process wrote in between, whatever the busy timeout."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(**{IMMEDIATE_OPTION: True})
            with connection.begin():
                yield connection

    @contextmanager
    def exclusive(self) -> Iterator[Connection]:
        """A transaction no other decision-maker (worker, master, other host) runs beside."""
        self.create_schema()  # a store that was down at start is set up on first real use
        with self.writing() as connection:
            connection.execute(select(decision_lock.c.id).with_for_update())
            yield connection

    # -- restarts -------------------------------------------------------------------------------

    def add_restart(self, connection: Connection, record: RestartRecord) -> None:
        connection.execute(insert(restarts).values(**record.__dict__))
        newest = connection.execute(select(restarts.c.seq).order_by(restarts.c.seq.desc())
                                    .offset(self.history_limit).limit(1)).scalar()
        if newest is not None:
            connection.execute(delete(restarts).where(restarts.c.seq <= newest))

    def add_missing(self, records: Sequence[RestartRecord]) -> int:
        """Insert the restarts whose id is not stored yet (a spool replay); how many were new."""
        if not records:
            return 0
        with self.exclusive() as connection:
            ids = [record.id for record in records]
            known = set(connection.execute(select(restarts.c.id)
                                           .where(restarts.c.id.in_(ids))).scalars())
            added = 0
            for record in records:
                if record.id not in known:
                    self.add_restart(connection, record)
                    known.add(record.id)
                    added += 1
        return added

    def set_decision(self, restart_id: str, decision: str) -> None:
        with self.writing() as connection:
            connection.execute(update(restarts).where(restarts.c.id == restart_id)
                               .values(decision=decision))

    def complete_pending(self, host_key: str, now: datetime) -> None:
        """Mark executed restarts of ``host_key`` requested before ``now`` as completed."""
        with self.writing() as connection:
            connection.execute(update(restarts).where(and_(
                restarts.c.host_key == host_key, restarts.c.decision == "executed",
                restarts.c.completed_at.is_(None), restarts.c.requested_at <= now,
            )).values(completed_at=now))

    def executed_since(self, since: datetime, connection: Connection | None = None
                       ) -> list[datetime]:
        """Request times of executed restarts (any source, any host) since ``since``."""
        query = (select(restarts.c.requested_at)
                 .where(and_(restarts.c.decision == "executed", restarts.c.requested_at >= since))
                 .order_by(restarts.c.requested_at))
        if connection is not None:
            return list(connection.execute(query).scalars())
        with self.engine.connect() as own:
            return list(own.execute(query).scalars())

    def history(self, limit: int = 50) -> list[RestartRecord]:
        """Newest first."""
        query = select(*[restarts.c[name] for name in RestartRecord.__dataclass_fields__])
        with self.engine.connect() as connection:
            rows = connection.execute(query.order_by(restarts.c.seq.desc()).limit(limit))
            return [RestartRecord(**row._mapping) for row in rows]

    def last_restart(self) -> RestartRecord | None:
        query = select(*[restarts.c[name] for name in RestartRecord.__dataclass_fields__])
        with self.engine.connect() as connection:
            row = connection.execute(query.where(restarts.c.decision == "executed")
                                     .order_by(restarts.c.seq.desc()).limit(1)).first()
        return RestartRecord(**row._mapping) if row is not None else None

    # -- heartbeats -----------------------------------------------------------------------------

    def beat(self, heartbeat: Heartbeat) -> None:
        """Insert or refresh one worker's row."""
        self.create_schema()
        values = heartbeat.__dict__
        key = and_(heartbeats.c.host_key == heartbeat.host_key, heartbeats.c.pid == heartbeat.pid)
        changing = {k: v for k, v in values.items() if k not in ("host_key", "pid", "started_at")}
        with self.writing() as connection:
            if connection.execute(update(heartbeats).where(key).values(**changing)).rowcount == 0:
                connection.execute(insert(heartbeats).values(**values))

    def forget_worker(self, host_key: str, pid: int) -> Heartbeat | None:
        """Remove a worker's row; return what it last said (``None`` if it never beat)."""
        key = and_(heartbeats.c.host_key == host_key, heartbeats.c.pid == pid)
        with self.writing() as connection:
            row = connection.execute(select(heartbeats).where(key)).first()
            connection.execute(delete(heartbeats).where(key))
        return Heartbeat(**row._mapping) if row is not None else None

    def purge_heartbeats(self, before: datetime) -> int:
        """Drop rows no one has refreshed since ``before`` (workers of a master that was killed
        outright never get their exit recorded); returns how many went."""
        with self.writing() as connection:
            return connection.execute(
                delete(heartbeats).where(heartbeats.c.last_heartbeat < before)).rowcount

    def workers(self, host_key: str, alive_since: datetime) -> list[Heartbeat]:
        """Workers of ``host_key`` that beat at or after ``alive_since``, oldest first."""
        query = (select(heartbeats)
                 .where(and_(heartbeats.c.host_key == host_key,
                             heartbeats.c.last_heartbeat >= alive_since))
                 .order_by(heartbeats.c.started_at, heartbeats.c.pid))
        with self.engine.connect() as connection:
            return [Heartbeat(**row._mapping) for row in connection.execute(query)]

    def close(self) -> None:
        self.engine.dispose()
