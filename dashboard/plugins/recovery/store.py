"""The restart-history store's operations: restarts and worker heartbeats, shared by every
worker of a host (and, with ``store_url``, by every host).

Decisions that must not race (two operators pressing "restart" on two workers at once) run inside
:meth:`RestartStore.exclusive`: ``BEGIN IMMEDIATE`` on SQLite, a row lock on a one-row table
elsewhere. What is stored is :mod:`.schema`; how the store connects, and the bound on every
operation, is :mod:`.storeengine`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from dashboard import exclude_from_observation
from dashboard.plugins.recovery.schema import (
    Heartbeat,
    RestartRecord,
    decision_lock,
    heartbeats,
    metadata,
    restarts,
)
from dashboard.plugins.recovery.storeengine import IMMEDIATE_OPTION

#: Rows kept in the restart history; the admin API shows the newest 50 of them.
HISTORY_LIMIT = 500
#: ``create_schema`` tries this often, pausing 0.05 s, 0.1 s, 0.2 s ... (halved at random).
SCHEMA_ATTEMPTS = 6
SCHEMA_BACKOFF_SECONDS = 0.05


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
