"""The operator's pool bounds on an engine the app built, with SQLAlchemy's public API only.

A ``QueuePool`` takes its bounds in its constructor and has no public setter for them, so an
adopted engine gets a new pool: a :class:`BoundedPool` (a ``QueuePool``, constructed through its
public arguments) assigned to the public ``Engine.pool`` attribute, as ``Engine.dispose()``
itself does. The connect arguments the app gave ``create_engine(connect_args=...)`` (SSL
settings, a ``creator``) live only inside the closure ``create_engine`` hands the original pool:
SQLAlchemy keeps no public copy of them (the original pool's creator is the private
``Pool._creator``; ``create_pool_from_url`` builds a new dialect from the URL alone and would
drop them). So the bounded pool opens each new connection *through the original pool*:
``original.connect()`` then the public ``PoolProxiedConnection.detach()``, which gives the
DBAPI connection away and puts the original pool's slot back at once. The app's connect
arguments, its ``do_connect`` and ``connect`` listeners and the dialect's own first-connect
set-up all still run; the original pool holds no connection.

What no public API gives, and so is not carried over (see docs/host-your-own-app.md):
instance-level ``checkout``/``checkin``/``reset`` listeners the app attached to its engine's
pool *before* adoption (a pool's listeners cannot be listed publicly), and a non-default
``pool_reset_on_return``. At most as many connections are opened at once as the original pool
could hold (``pool_size + max_overflow`` of the app's settings, 15 by SQLAlchemy's defaults).

Pools the bounds do not fit (``NullPool``, ``StaticPool``, ``SingletonThreadPool`` for SQLite
in memory, async pools) are kept; they still get the timeouts (:mod:`dashboard.db.adopt`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool, QueuePool

from dashboard.config.sections import DatabaseSection


@dataclass(frozen=True)
class PoolBounds:
    """What a :class:`BoundedPool` was constructed with (QueuePool has no public reader for
    ``max_overflow``, ``recycle`` or ``pre_ping``; ``size()`` and ``timeout()`` are read live)."""

    max_overflow: int
    recycle: int
    pre_ping: bool


class BoundedPool(QueuePool):
    """A ``QueuePool`` that remembers its constructor's bounds (also across ``recreate()``,
    which ``Engine.dispose()`` calls with the same keyword arguments)."""

    def __init__(self, creator: Any, pool_size: int = 5, max_overflow: int = 10,
                 timeout: float = 30.0, **kw: Any) -> None:
        self.bounds = PoolBounds(max_overflow, int(kw.get("recycle", -1)),
                                 bool(kw.get("pre_ping", False)))
        super().__init__(creator, pool_size=pool_size, max_overflow=max_overflow,
                         timeout=timeout, **kw)


def through(original: Pool) -> Callable[[], Any]:
    """A creator that opens a new DBAPI connection through ``original`` and takes it away."""
    def open_connection() -> Any:
        proxied = original.connect()
        proxied.detach()
        return proxied.dbapi_connection
    return open_connection


def fits_bounds(pool: Pool) -> bool:
    """Only a plain ``QueuePool`` can be rebuilt with the bounds (what ``create_engine`` gives
    a server database or a SQLite file)."""
    return type(pool) is QueuePool


def bound_pool(engine: Engine, database: DatabaseSection) -> bool:
    """Give ``engine`` a :class:`BoundedPool` with ``database``'s bounds; ``False`` (and the
    pool kept) when its pool does not fit them."""
    original = engine.pool
    if not fits_bounds(original):
        return isinstance(original, BoundedPool)
    # Connections made before adoption (an app's create_all at start) lack the timeouts:
    # closed now, so every connection the bounded pool hands out is opened after adoption.
    original.dispose()
    engine.pool = BoundedPool(through(original), pool_size=database.pool_size,
                              max_overflow=database.max_overflow, timeout=database.pool_timeout,
                              recycle=database.pool_recycle, pre_ping=database.pool_pre_ping,
                              dialect=engine.dialect)
    return True


def pool_reading(pool: Pool) -> dict[str, Any]:
    """The bounds of ``pool`` read from the live object: what every engine's status shows."""
    reading: dict[str, Any] = {"pool_class": type(pool).__name__}
    size = getattr(pool, "size", None)
    timeout = getattr(pool, "timeout", None)
    if callable(size) and callable(timeout):
        reading["pool_size"] = size()
        reading["pool_timeout"] = timeout()
    bounds = getattr(pool, "bounds", None)
    if isinstance(bounds, PoolBounds):
        reading["max_overflow"] = bounds.max_overflow
        reading["pool_recycle"] = bounds.recycle
        reading["pool_pre_ping"] = bounds.pre_ping
    return reading
