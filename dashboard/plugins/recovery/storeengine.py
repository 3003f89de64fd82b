"""How the restart-history store connects: every operation bounded by ``store_timeout_ms``.

Why a database and not process memory: a restart request lands on one worker, the crash of
another is seen only by the gunicorn master, and the admin status must read the same history
whichever worker answers. SQLite in ``runtime_dir`` (WAL, busy timeout) serves the processes of one
host; any SQLAlchemy URL (PostgreSQL) in ``store_url`` shares one history between hosts. The store
engine is kept out of the host's database hooks, so the circuit breaker never gates it and its
calls never count as the app's database outcomes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

from dashboard import exclude_from_observation, private_dir, touch_private
from dashboard.plugins.recovery.deadline import StoreDeadlines

DEFAULT_STORE_TIMEOUT_MS = 2000
#: The execution option that makes a transaction take SQLite's write lock at ``BEGIN``.
IMMEDIATE_OPTION = "recovery_write_lock"


def store_engine(store_url: str, runtime_dir: Path,
                 timeout_ms: int = DEFAULT_STORE_TIMEOUT_MS) -> Engine:
    """The engine for ``store_url``, or a SQLite file in ``runtime_dir`` when it is empty.

    Every operation is bounded by ``timeout_ms`` (``store_timeout_ms``): the connect timeout
    (PostgreSQL counts whole seconds, at least 2), the statement timeout (PostgreSQL
    ``statement_timeout``; SQLite's busy timeout), the pool wait, and
    :class:`~dashboard.plugins.recovery.deadline.StoreDeadlines`, which cuts a connection held
    past the bound when the network goes silent. Creating the engine never connects.
    """
    seconds = timeout_ms / 1000
    if not store_url:
        # Made owner-only before SQLite opens it; its -wal and -shm files take its mode.
        database = touch_private(private_dir(runtime_dir) / "recovery.sqlite3")
        store_url = f"sqlite:///{database.resolve()}"
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
