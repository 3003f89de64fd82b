"""The app behind the live Prometheus test: one database round trip, then a known think time.

``/api/work/<n>`` and ``/api/live/<n>`` run ``SELECT 1`` on the host's engine (so an outage
reaches the breaker and the fallback), give the connection back, then sleep uniformly between
:data:`LOW` and :data:`HIGH` seconds: the request histogram's ``(0.1, 0.25]`` bucket, whose
interpolation is exact for a uniform spread, so the panel's p95 can be held against the clients'
own p95. The fallback covers ``/api/work/*`` only: in an outage its clients get stale stand-ins
and ``/api/live/*``'s get the degraded codes.
"""

from __future__ import annotations

import random
import time
from typing import Any

from sqlalchemy import text

from dashboard import contract

LOW, HIGH = 0.1, 0.24


def create_app(host: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(("/api/work/", "/api/live/")):
            return contract.error_response(environ, "NOT_FOUND")(environ, start_response)
        with host.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar()
        time.sleep(random.uniform(LOW, HIGH))
        response = contract.success_response(environ, {"path": path})
        return response(environ, start_response)

    return app
