"""Test app factories that expose what only a running worker knows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import text
from werkzeug.wrappers import Request

from dashboard import contract
from dashboard.host import Host


def pool_probe_app(host: Host) -> Any:
    """``/pool`` reports the live engine's pool settings; ``/sleep?ms=`` runs a long statement."""
    engine = host.engine

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/pool":
            pool = engine.pool
            data = {
                "pid": os.getpid(),
                "pool_class": type(pool).__name__,
                "pool_size": pool.size(),
                "max_overflow": pool._max_overflow,  # no public accessor in SQLAlchemy
                "pool_timeout": pool.timeout(),
                "pool_recycle": pool._recycle,
                "pool_pre_ping": pool._pre_ping,
                "connect_timeout": _connect_timeout(engine),
                "statement_timeout": _statement_timeout(engine),
            }
            response = contract.success_response(environ, data)
        elif request.path == "/sleep":
            ms = int(request.args.get("ms", "0"))
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_sleep(:s)"), {"s": ms / 1000})
                else:
                    connection.execute(text(_SQLITE_BUSY_LOOP), {"n": ms * 20000})
            response = contract.success_response(environ, {"slept_ms": ms})
        else:
            response = contract.error_response(environ, "NOT_FOUND")
        return response(environ, start_response)

    return app


_SQLITE_BUSY_LOOP = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) "
    "SELECT count(*) FROM c"
)


def _connect_timeout(engine: Any) -> Any:
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            return int(raw.info.get_parameters().get("connect_timeout", 0))
    return None


def _statement_timeout(engine: Any) -> Any:
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        return connection.execute(text("SHOW statement_timeout")).scalar_one()


class ClosingBody:
    """A body that records whether the server closed it."""

    instances: ClassVar[list[ClosingBody]] = []

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = False
        self.produced = 0
        self.finished = False  # the app's code after its last chunk ran
        ClosingBody.instances.append(self)

    def __iter__(self) -> Any:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise RuntimeError("failed while streaming")
            self.produced += 1
            yield chunk
        self.finished = True

    def close(self) -> None:
        self.closed = True


def _started_at_first_chunk(start_response: Any) -> Iterator[bytes]:
    """A body that calls ``start_response`` only when its first chunk is asked for (PEP 3333
    allows it), declaring that chunk's length."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    yield b"whole"


def scripted_app(host: Host) -> Any:
    """Behaves as its path says: ``/ok``, ``/boom``, ``/db-error``, ``/stream``, ..."""
    from sqlalchemy.exc import OperationalError

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if path == "/boom":
            raise ValueError("secret internals: postgresql://app:pw@db/x")
        if path == "/db-error":
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        if path == "/whole-started-lazily":
            return _started_at_first_chunk(start_response)
        if path in ("/whole", "/whole-then-fails", "/longer-than-declared"):
            # The first chunk is as long as the declared Content-Length; what follows differs.
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
            if path == "/whole":
                return ClosingBody([b"whole"])
            if path == "/whole-then-fails":
                return ClosingBody([b"whole", b"never"], fail_at=1)
            return ClosingBody([b"whole", b",more"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        if path == "/stream":
            return ClosingBody([b"one,", b"two,", b"three"])
        if path == "/stream-fails-first":
            return ClosingBody([b"never"], fail_at=0)
        if path == "/stream-fails-later":
            return ClosingBody([b"one,", b"two"], fail_at=1)
        return [b"ok"]

    return app
