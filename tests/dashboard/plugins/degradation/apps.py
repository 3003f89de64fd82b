"""A test app for database degradation: endpoints that hold, break or skip the database.

``create_app`` is the ``[dashboard].app_factory`` of the breaker and degradation tests:

* ``/query``            one ``SELECT 1`` on ``host.engine``
* ``/hold?seconds=S``   holds a pooled connection for S seconds (``pg_sleep``)
* ``/bad-sql``          a query on a table that does not exist (the app's own bug)
* ``/own-engine``       ``SELECT 1`` on an engine the app created itself (same URL, tiny pool)
* ``/breaker``          this worker's breaker check, as ``/health`` would show it (no database)
* ``/page``             an HTML page that never touches the database
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from werkzeug.wrappers import Request, Response

from dashboard import contract
from dashboard.host import Host


def create_app(host: Host) -> Any:
    engine = host.engine
    own_engine = create_engine(host.settings.database.url, poolclass=NullPool,
                               connect_args={"connect_timeout": 2})

    def query(_request: Request, environ: dict[str, Any]) -> Response:
        with engine.connect() as connection:
            value = connection.execute(text("SELECT 1")).scalar_one()
        return contract.success_response(environ, {"value": value, "pid": os.getpid()})

    def hold(request: Request, environ: dict[str, Any]) -> Response:
        seconds = float(request.args.get("seconds", "1"))
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return contract.success_response(environ, {"held": seconds})

    def bad_sql(_request: Request, environ: dict[str, Any]) -> Response:
        with engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table_here"))
        return contract.success_response(environ, None)

    def own(_request: Request, environ: dict[str, Any]) -> Response:
        with own_engine.connect() as connection:
            value = connection.execute(text("SELECT 2")).scalar_one()
        return contract.success_response(environ, {"value": value})

    def breaker(_request: Request, environ: dict[str, Any]) -> Response:
        checks = [c for group in host.hook.dashboard_health_checks(host=host, deep=False)
                  for c in group if c.name == "breaker"]
        data = {**checks[0].payload(), "pid": os.getpid()} if checks else None
        return contract.success_response(environ, data)

    def page(_request: Request, _environ: dict[str, Any]) -> Response:
        return Response("<!doctype html><title>ok</title><p>no database here</p>",
                        content_type="text/html")

    routes = {"/query": query, "/hold": hold, "/bad-sql": bad_sql, "/own-engine": own,
              "/breaker": breaker, "/page": page}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        handler = routes.get(request.path)
        if handler is None:
            response = contract.error_response(environ, "NOT_FOUND")
        else:
            response = handler(request, environ)
        return response(environ, start_response)

    return app
