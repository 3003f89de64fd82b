"""The effective bounds of an engine the host serves, read back from the live engine.

What ``/admin/api/system-status`` lists under ``data.database.engines`` (docs/api/admin.md), one
entry per engine of :func:`dashboard.db.adopt.database_engines`: what the pool really does now,
not what the TOML asked for, so an operator sees at once an engine whose pool was kept (a
``NullPool``, SQLite in memory) or whose driver got no timeouts.

* Pool bounds come from the pool object. A :class:`~dashboard.db.boundedpool.BoundedPool` (every
  adopted engine whose pool fits) carries them publicly; SQLAlchemy's ``QueuePool`` has public
  readers only for its size and timeout, so for the host's own engine ``max_overflow``,
  ``pool_recycle`` and ``pool_pre_ping`` are read from the pool's own attributes (``None`` for a
  pool that has no such idea).
* Timeouts: the connect parameters set on the engine's last new connection (the adoption's
  ``do_connect`` listener keeps them), the configured ones for the host's own engine (built with
  them), ``None`` for an adopted engine whose driver the host does not know.
* No URL: system-status identifies an engine by its name and dialect (a SQLite URL is a path
  on the server; docs/api/admin.md). Health, public and read by monitors, lists the URL with
  :func:`masked_url` (password and secret query values as ``***``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard.config.secrets import mask_url
from dashboard.db.adopt import adoption_record
from dashboard.db.boundedpool import BoundedPool
from dashboard.db.timeouts import STATEMENT_TIMEOUT_OPTION

if TYPE_CHECKING:
    from dashboard.types import Host

#: The connect parameter that carries the connect timeout, per backend (dashboard.db.timeouts).
_CONNECT_TIMEOUT_PARAM = {"postgresql": "connect_timeout", "mysql": "connect_timeout",
                          "mariadb": "connect_timeout", "sqlite": "timeout",
                          "oracle": "tcp_connect_timeout"}


def masked_url(engine: Engine) -> str:
    """``engine``'s URL with its password and secret query values masked."""
    return mask_url(engine.url.render_as_string(hide_password=False))


def engine_bounds(host: Host, name: str, engine: Engine) -> dict[str, Any]:
    """``{name, dialect, pool_class, pool_size, max_overflow, pool_timeout, pool_recycle,
    pool_pre_ping, connect_timeout, call_timeout_ms}`` of the live ``engine``."""
    pool: Any = engine.pool
    connect_timeout, call_timeout_ms = _timeouts(host, engine)
    return {
        "name": name,
        "dialect": engine.dialect.name,
        "pool_class": type(pool).__name__,
        **pool_bounds(pool),
        "connect_timeout": connect_timeout,
        "call_timeout_ms": call_timeout_ms,
    }


def pool_bounds(pool: Any) -> dict[str, Any]:
    """``pool_size``, ``max_overflow``, ``pool_timeout``, ``pool_recycle``, ``pool_pre_ping``
    of ``pool`` as it is; ``None`` where the pool has no such bound."""
    if isinstance(pool, BoundedPool):
        bounds = pool.bounds
        max_overflow: Any = bounds.max_overflow
        recycle: Any = bounds.recycle
        pre_ping: Any = bounds.pre_ping
    else:  # no public reader for these on a QueuePool
        max_overflow = getattr(pool, "_max_overflow", None)
        recycle = getattr(pool, "_recycle", None)
        pre_ping = getattr(pool, "_pre_ping", None)
    size = getattr(pool, "size", None)
    timeout = getattr(pool, "timeout", None)
    return {
        "pool_size": size() if callable(size) else None,
        "max_overflow": max_overflow,
        "pool_timeout": timeout() if callable(timeout) else None,
        "pool_recycle": recycle,
        "pool_pre_ping": pre_ping,
    }


def max_overflow_of(pool: Any) -> int:
    """The overflow ``pool`` may open above its size (0 when it has no such bound)."""
    value = pool_bounds(pool)["max_overflow"]
    return value if isinstance(value, int) else 0


def _timeouts(host: Host, engine: Engine) -> tuple[Any, Any]:
    database = host.settings.database
    record = adoption_record(host, engine)
    if record is None:  # the host's own: built with the configured timeouts
        return database.connect_timeout, database.call_timeout_ms
    if not record.timeouts:
        return None, None
    params = record.connect_params
    backend = engine.url.get_backend_name()
    connect_timeout = params.get(_CONNECT_TIMEOUT_PARAM.get(backend, ""),
                                 database.connect_timeout)
    call_timeout_ms: Any = database.call_timeout_ms
    options = params.get("options")
    if isinstance(options, str) and STATEMENT_TIMEOUT_OPTION in options:
        last = options.rsplit(STATEMENT_TIMEOUT_OPTION, 1)[1].split()[0]
        call_timeout_ms = int(last) if last.isdigit() else last
    return connect_timeout, call_timeout_ms
