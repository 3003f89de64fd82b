"""The engine built from ``[database]``, its per-statement timeout, and database events -> hooks.

Two jobs live here because both are about what the database layer does for the host:

* :func:`build_engine` makes the one engine whose pool the contract governs: pool size, overflow,
  wait timeout, recycle, pre-ping and connect timeout are exactly the configured ones, and every
  statement is bounded by ``call_timeout_ms`` on each supported dialect (PostgreSQL
  ``statement_timeout``; SQLite a progress-handler deadline; MySQL ``max_execution_time`` /
  MariaDB ``max_statement_time``; Oracle ``call_timeout``).
* :func:`install_event_fanout` listens on *every* SQLAlchemy engine and pool in the process (also
  the ones an app creates itself) and turns their events into ``dashboard_db_checkout``,
  ``dashboard_db_connect_attempt``, ``dashboard_db_statement_started`` and
  ``dashboard_db_outcome`` calls on the host serving the
  current request, found through a context variable that the host's outermost layer sets
  (:mod:`dashboard.context`).
"""

from __future__ import annotations

import contextlib
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import Pool, QueuePool

from dashboard.config.sections import DatabaseSection
from dashboard.context import record_db_failure, serving_host
from dashboard.db.faults import DbOutcome, Fault, classify
from dashboard.db.timeouts import connect_params, install_statement_timeout
from dashboard.hooks import calls as hookcalls
from dashboard.once import once

if TYPE_CHECKING:
    from dashboard.types import Host


#: The app that ships with the host, and the database it runs on when ``[database].url`` is unset.
DEMO_APP_FACTORY = "dashboard.reports:create_app"
DEMO_DATABASE_URL = "sqlite:///var/dashboard.db"


class NoHostDatabase(LookupError):
    """``[database].url`` is unset: the host has no engine of its own."""


def host_database_url(database: DatabaseSection, app_factory: str) -> str | None:
    """The URL of the host's own engine: ``[database].url``; when unset, the demo's embedded
    SQLite file for the demo app, and no engine at all for any other app (so a working
    directory hosting its own app never gets a database file it did not ask for)."""
    if database.url:
        return database.url
    return DEMO_DATABASE_URL if app_factory == DEMO_APP_FACTORY else None


def build_engine(database: DatabaseSection, **overrides: Any) -> Engine:
    """The engine for ``[database]``; ``overrides`` replace pool arguments (e.g. for a probe).

    Raises :class:`NoHostDatabase` when ``database.url`` is unset."""
    if not database.url:
        raise NoHostDatabase("[database].url is not set: the host builds no engine of its own "
                             "(set it for an app that uses host.engine, such as the demo)")
    url = make_url(database.url)
    backend = url.get_backend_name()
    connect_args = connect_params(backend, database.connect_timeout, database.call_timeout_ms,
                                  {"options": url.query.get("options")})
    if "options" in connect_args:  # the URL's options are merged into the connect argument
        url = url.difference_update_query(["options"])
    if backend == "sqlite":
        connect_args["check_same_thread"] = False
        _ensure_sqlite_directory(url.database)
    options: dict[str, Any] = {
        "poolclass": QueuePool,
        "pool_size": database.pool_size,
        "max_overflow": database.max_overflow,
        "pool_timeout": database.pool_timeout,
        "pool_recycle": database.pool_recycle,
        "pool_pre_ping": database.pool_pre_ping,
        "connect_args": connect_args,
        # Bound parameters never reach an error message or a log line (they may be secrets).
        "hide_parameters": True,
    }
    options.update(overrides)
    engine = create_engine(url, **options)
    install_statement_timeout(engine, backend, database.call_timeout_ms)
    mark_host_built(engine)
    return engine


def _ensure_sqlite_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


#: Engines the host built for itself (its own, probes, stores): never adopted as the app's.
_host_built: weakref.WeakSet[Engine] = weakref.WeakSet()


def mark_host_built(engine: Engine) -> Engine:
    _host_built.add(engine)
    return engine


def is_host_built(engine: Engine) -> bool:
    return engine in _host_built or engine.pool in _unobserved_pools


def socket_fileno(dbapi_connection: Any) -> int | None:
    """The OS socket of a DBAPI connection (psycopg 3, psycopg2, drivers with ``fileno()``).

    ``None`` for connections without one (SQLite). Watchdogs that must unblock a connection
    stuck on a silent server shut this socket down.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    with contextlib.suppress(Exception):
        if pgconn is not None:
            return int(pgconn.socket)
        fileno = getattr(dbapi_connection, "fileno", None)
        if fileno is not None:
            return int(fileno())
    return None


# -- events of every engine in the process -> hooks of the host serving the request ------------

_unobserved_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def exclude_from_observation(engine: Engine) -> Engine:
    """Keep ``engine`` out of the hooks: its calls are neither gated nor counted (health probes);
    nor is it adopted as one of the app's."""
    _unobserved_pools.add(engine.pool)
    _host_built.add(engine)
    return engine


@once
def install_event_fanout() -> None:
    """Listen once per process on all engines and pools; idempotent."""
    event.listen(Engine, "do_connect", _on_connect_attempt)
    event.listen(Pool, "checkout", _on_checkout)
    event.listen(Engine, "before_cursor_execute", _on_statement_started)
    event.listen(Engine, "after_cursor_execute", _on_statement_done)
    event.listen(Engine, "handle_error", _on_error)


def _observing(pool: Pool | None) -> Host | None:
    host = serving_host()
    if host is None or (pool is not None and pool in _unobserved_pools):
        return None
    return host


def _pool_of(record: Any) -> Pool | None:
    return getattr(record, "_ConnectionRecord__pool", None)


def _on_connect_attempt(_dialect: Any, record: Any, _cargs: Any, _cparams: Any) -> None:
    """Before a new DBAPI connection: the checkout gate, then the connect-attempt gate (which
    only new connections pass through; its end is the next checkout or outcome here)."""
    host = _observing(_pool_of(record))
    if host is not None:
        hookcalls.gate(host, "dashboard_db_checkout", host=host)
        hookcalls.gate(host, "dashboard_db_connect_attempt", host=host)


def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    host = _observing(_pool_of(record))
    if host is not None:
        hookcalls.gate(host, "dashboard_db_checkout", host=host)


def _on_statement_started(conn: Any, *_args: Any) -> None:
    host = _observing(conn.engine.pool)
    if host is not None:
        hookcalls.notify_each(host, "dashboard_db_statement_started", host=host)


def _on_statement_done(conn: Any, *_args: Any) -> None:
    host = _observing(conn.engine.pool)
    if host is not None:
        report_outcome(host, DbOutcome(None))


def report_outcome(host: Host, outcome: DbOutcome) -> None:
    """Tell the plugins of ``host`` how one database call went (never raises)."""
    hookcalls.notify_each(host, "dashboard_db_outcome", host=host, outcome=outcome)


def _on_error(context: Any) -> None:
    engine = context.engine
    host = _observing(engine.pool if engine is not None else None)
    if host is None:
        return
    exc = context.sqlalchemy_exception or context.original_exception
    fault = classify(exc)
    if context.is_disconnect and fault is not Fault.QUERY_TIMEOUT:
        fault = Fault.CONNECTION_FAILED
    if fault is not None:
        record_db_failure(exc)  # a framework that answers 5xx itself is overruled (mapper)
        report_outcome(host, DbOutcome(fault, exc))
