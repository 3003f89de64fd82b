"""A test app for the operations tests (metrics, logs, sd_notify) through a real gunicorn.

``app_factory = "tests.dashboard.ops_apps:create_app"``:

* ``/ops/db``: one ``SELECT 1`` through the host's engine;
* ``/ops/slow-statement``: a SQLite statement that runs past ``call_timeout_ms`` (a classified
  ``DB_QUERY_TIMEOUT``);
* ``/ops/boom``: an unclassified error (``INTERNAL_ERROR``);
* ``/ops/log?text=``: logs ``text`` at WARNING from inside the request.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from werkzeug.wrappers import Request

from dashboard import contract
from dashboard.host import Host

logger = logging.getLogger("tests.ops")
SLOW_SQL = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "SELECT count(*) FROM n")


def create_app(host: Host) -> Any:
    engine = host.engine

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/ops/db":
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            response = contract.success_response(environ, {"ok": True})
        elif request.path == "/ops/slow-statement":
            with engine.connect() as connection:
                connection.execute(text(SLOW_SQL))
            response = contract.success_response(environ, {"ok": True})
        elif request.path == "/ops/boom":
            raise RuntimeError("boom from the ops test app")
        elif request.path == "/ops/log":
            logger.warning("ops log line: %s", request.args.get("text", ""))
            response = contract.success_response(environ, {"logged": True})
        else:
            response = contract.error_response(environ, "NOT_FOUND")
        return response(environ, start_response)

    return app
