"""Adopt every SQLAlchemy engine the hosted app creates in a worker (see docs/host-your-own-app.md).

An app hosted with no change to it makes its own engines: at import (a plain ``create_engine``),
in its factory (Flask-SQLAlchemy's ``init_app``, binds included) or later, lazily (a library).
Each gets ``[database]``'s bounds, timeouts and the host's observation, through public
SQLAlchemy mechanisms only:

* **Found.** SQLAlchemy has no event for an engine's creation, and its ``CreateEnginePlugin``
  runs only for engines whose URL or arguments name it (the app would have to change). So the
  serving worker scans the process's objects (``gc.get_objects()``) for ``Engine`` instances
  right after the app factory returns: that finds every engine made at import or in the
  factory before it hands out a bounded connection. An engine made later is adopted at its
  first connection in one of the app's requests (the class-level ``engine_connect`` event, the
  earliest public one that names the engine); that first connection came from the original
  pool without the bounds, so it is invalidated and reopens, bounded, on its next use. An
  in-process host (tests) adopts every engine that way: the scan is the worker's, whose
  process holds nothing but the app.
* **Bounded.** The pool is rebuilt with the bounds (:mod:`dashboard.db.boundedpool`); the
  connect timeout and the statement timeout go into the connect parameters of every new
  connection (the engine's ``do_connect`` event, public for exactly this) or onto each new
  connection (:mod:`dashboard.db.timeouts`), as for the host's own engine.
* **Observed.** ``dashboard_engine_created`` is called for it like for the host's engine, so
  plugins attach their gates; its statements and pool waits are measured; a failure raised by
  its ``connect()`` (pool exhausted, breaker refusal, connection refused) is recorded in the
  request's context the moment it is raised, like the ones its ``handle_error`` classifies
  (:mod:`dashboard.db.engine`), so a framework's own 5xx page cannot hide it.

Engines the host built for itself (its own, health probes, the recovery store) are never
adopted. ``[database] adopt = false`` turns all of this off.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashboard.context import record_db_failure, serving_host
from dashboard.db.boundedpool import bound_pool
from dashboard.db.engine import (
    DbOutcome,
    Fault,
    NoHostDatabase,
    classify,
    is_host_built,
    report_outcome,
)
from dashboard.db.metrics import instrument_engine
from dashboard.db.timeouts import connect_params, install_statement_timeout
from dashboard.hooks import calls as hookcalls
from dashboard.metrics.series import DEFAULT_ENGINE
from dashboard.once import once

if TYPE_CHECKING:
    from dashboard.types import Host

logger = logging.getLogger("dashboard.db")

_SEEN = "_dashboard_adoption_seen"
#: Drivers whose connect parameters :func:`connect_params` names (others keep their own).
_KNOWN_DRIVERS = {"postgresql": {"psycopg", "psycopg2"}, "mysql": {"pymysql", "mysqldb"},
                  "mariadb": {"pymysql", "mysqldb"}, "sqlite": {"pysqlite"},
                  "oracle": {"oracledb", "cx_oracle"}}


@dataclass
class AdoptedEngine:
    """One engine of the app, as the host sees it."""

    name: str
    engine: weakref.ref[Engine]
    pool_bounded: bool
    timeouts: bool
    #: The connect parameters set on its last new connection (the bounds' ones only).
    connect_params: dict[str, Any] = field(default_factory=dict)


class _Adoption:
    """Who adopts in this process (the host whose app is loaded last) and what it adopted."""

    def __init__(self) -> None:
        self.host: Host | None = None
        self.engines: list[AdoptedEngine] = []
        self.lock = threading.RLock()


_adoption = _Adoption()


def start_adoption(host: Host) -> None:
    """Adopt, for ``host``, every engine its app creates from now on (before the factory runs);
    nothing when ``[database] adopt = false``."""
    if not host.settings.database.adopt:
        stop_adoption(_adoption.host)
        return
    _adoption.host = host
    _listen_for_late_engines()


def stop_adoption(host: Host | None) -> None:
    """``host`` adopts no more engines (it closed, or another host's app was loaded)."""
    with _adoption.lock:
        if host is not None and _adoption.host is host:
            _adoption.host = None
            _adoption.engines.clear()


def adopt_existing(host: Host) -> list[AdoptedEngine]:
    """Adopt every engine alive now (after the app factory returned); the ones adopted."""
    if not host.settings.database.adopt:
        return []
    found: dict[int, Engine] = {}
    for obj in gc.get_objects():
        if isinstance(obj, Engine):
            pool = obj.pool  # an execution_options() copy shares its parent's pool
            if id(pool) not in found or type(obj) is Engine:
                found[id(pool)] = obj
    return [entry for engine in found.values() if (entry := adopt(engine, host)) is not None]


def adopted_engines(host: Host) -> list[tuple[AdoptedEngine, Engine]]:
    """The engines adopted for ``host`` that are still alive, in adoption order."""
    if _adoption.host is not host:
        return []
    alive = []
    for entry in list(_adoption.engines):
        engine = entry.engine()
        if engine is not None:
            alive.append((entry, engine))
    return alive


def database_engines(host: Host) -> list[tuple[str, Engine]]:
    """Every engine ``host``'s app uses, as ``(name, engine)``: what health probes and shows,
    system-status lists and the metrics label ``engine=`` (see docs/host-your-own-app.md).

    The host's own engine comes first, named ``"default"``, when it builds one (``[database].url``,
    or the demo's SQLite default; built here if it was not yet); then each adopted engine still
    alive, in adoption order, under :func:`engine_name`'s name. ``[]`` when the host builds no
    engine and the app made none (yet), or made them with ``[database] adopt = false``.
    """
    engines: list[tuple[str, Engine]] = []
    with contextlib.suppress(NoHostDatabase):  # raised before anything is built
        engines.append((DEFAULT_ENGINE, host.engine))
    engines += [(entry.name, engine) for entry, engine in adopted_engines(host)]
    return engines


def engine_name(host: Host, engine: Engine) -> str:
    """The name ``engine`` goes by in health, system-status and the metrics: its adoption name
    (``<backend>:<database>``, ``#2``, ``#3``... for a second engine on the same database, e.g.
    a Flask-SQLAlchemy bind), or ``"default"`` for the host's own (and any engine not adopted)."""
    for entry, alive in adopted_engines(host):
        if alive is engine or alive.pool is engine.pool:
            return entry.name
    return DEFAULT_ENGINE


def adoption_record(host: Host, engine: Engine) -> AdoptedEngine | None:
    """What adoption did to ``engine`` (pool bounded, timeouts set), ``None`` if not adopted."""
    for entry, alive in adopted_engines(host):
        if alive is engine:
            return entry
    return None


def adopt(engine: Engine, host: Host) -> AdoptedEngine | None:
    """Bound and observe ``engine`` for ``host`` (once); ``None`` for the host's own."""
    with _adoption.lock:
        if getattr(engine.pool, _SEEN, False) or is_host_built(engine):
            setattr(engine.pool, _SEEN, True)
            return None
        for entry in _adoption.engines:
            if entry.engine() is engine:
                return entry
        database = host.settings.database
        bounded = bound_pool(engine, database)
        entry = AdoptedEngine(_name_for(engine), weakref.ref(engine), bounded,
                              _bound_connects(engine, host))
        _adoption.engines.append(entry)
        setattr(engine.pool, _SEEN, True)
    instrument_engine(engine)  # statement and pool-wait histograms
    for name in host.plugin_names:
        hookcalls.call_plugin(host, name, "dashboard_engine_created", host=host, engine=engine)
    _record_connect_failures(engine)

    @event.listens_for(engine, "engine_disposed")
    def _still_seen(_engine: Engine) -> None:
        setattr(engine.pool, _SEEN, True)

    logger.info("adopted the app's engine %s (%s): pool %s", entry.name,
                engine.url.render_as_string(hide_password=True),
                "bounded" if bounded else f"{type(engine.pool).__name__} kept")
    return entry


def _name_for(engine: Engine) -> str:
    url = engine.url
    base = f"{url.get_backend_name()}:{url.database or ''}"
    taken = {entry.name for entry in _adoption.engines}
    name, number = base, 2
    while name in taken:
        name, number = f"{base}#{number}", number + 1
    return name


def _bound_connects(engine: Engine, host: Host) -> bool:
    """Connect and statement timeouts on every new connection; ``False`` for a driver whose
    connect parameters the host does not know (its pool is still bounded and observed)."""
    url = engine.url
    backend = url.get_backend_name()
    if url.get_driver_name() not in _KNOWN_DRIVERS.get(backend, ()):
        return False
    database = host.settings.database
    entry_ref = engine  # kept by the listener below only weakly, through the registry

    def bounded_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]
                        ) -> None:
        params = connect_params(backend, database.connect_timeout, database.call_timeout_ms,
                                cparams)
        cparams.update(params)
        for entry in _adoption.engines:
            if entry.engine() is entry_ref:
                entry.connect_params = params
                break

    event.listen(engine, "do_connect", bounded_connect)
    install_statement_timeout(engine, backend, database.call_timeout_ms)
    return True


def _record_connect_failures(engine: Engine) -> None:
    """Record what ``engine.connect()`` raises in the request's context (outermost, after the
    plugins' gates): a pool timeout has no engine event, a refusal is no database error."""
    inner = engine.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        try:
            return inner(*args, **kwargs)
        except Exception as exc:
            note_failure(exc)
            raise

    engine.connect = connect  # type: ignore[method-assign]


def note_failure(exc: BaseException) -> None:
    """``exc`` came out of an adopted engine during a request: count a pool timeout (nothing
    else sees one the app catches) and record it for the mapper."""
    host = serving_host()
    if host is None:
        return
    if classify(exc) is Fault.POOL_EXHAUSTED:
        report_outcome(host, DbOutcome(Fault.POOL_EXHAUSTED, exc))
    record_db_failure(exc)


@once
def _listen_for_late_engines() -> None:
    event.listen(Engine, "engine_connect", _on_engine_connect)


def _on_engine_connect(conn: Any) -> None:
    """An engine made after the factory returned, at its first connection."""
    if getattr(conn.engine.pool, _SEEN, False):  # every other connection: one attribute read
        return
    host = _adoption.host
    if host is None or serving_host() is not host:  # only the app's own, in its requests
        return
    original = conn.engine.pool
    entry = adopt(conn.engine, host)
    if entry is not None and conn.engine.pool is not original:
        conn.invalidate()  # opened by the original pool: the next use reopens it, bounded
