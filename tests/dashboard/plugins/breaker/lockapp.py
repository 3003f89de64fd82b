"""A test app whose one query reads a table, so a second connection's lock can hold it up.

``create_app`` serves:

* ``/items``    ``SELECT count(*) FROM breaker_items`` on ``host.engine``
* ``/breaker``  this worker's breaker check, as ``/health`` would show it (no database)

:func:`create_table` makes the table in a test database beforehand.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, text
from werkzeug.wrappers import Request, Response

from dashboard import contract
from dashboard.host import Host

TABLE = "breaker_items"


def create_table(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {TABLE} (id integer primary key)"))
        connection.execute(text(f"INSERT INTO {TABLE} SELECT generate_series(1, 3)"))
    engine.dispose()


def create_app(host: Host) -> Any:
    engine = host.engine

    def items(environ: dict[str, Any]) -> Response:
        with engine.connect() as connection:
            count = connection.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one()
        return contract.success_response(environ, {"count": count, "pid": os.getpid()})

    def breaker(environ: dict[str, Any]) -> Response:
        checks = [c for group in host.hook.dashboard_health_checks(host=host, deep=False)
                  for c in group if c.name == "breaker"]
        return contract.success_response(environ, checks[0].payload() if checks else None)

    routes = {"/items": items, "/breaker": breaker}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        handler = routes.get(Request(environ).path)
        response = (handler(environ) if handler is not None
                    else contract.error_response(environ, "NOT_FOUND"))
        return response(environ, start_response)

    return app
