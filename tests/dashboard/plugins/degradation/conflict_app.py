"""A test app whose two requests deadlock for real: each updates its first row, waits until the
other holds its own, then updates the other's.

``/swap?first=A&second=B`` runs in one transaction on ``host.engine``; the events in
:data:`HELD` (one per row id, made by the test) say "the request that updates this row first
holds it now", so two concurrent requests lock the rows in opposite order with no sleep. The
table is :data:`TABLE` with rows 1 and 2.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text
from werkzeug.wrappers import Request, Response

from dashboard import contract

TABLE = "conflict_rows"
HELD: dict[int, threading.Event] = {}
WAIT_SECONDS = 20.0


def create_app(host: Any) -> Any:
    engine = host.engine

    @Request.application
    def app(request: Request) -> Response:
        first, second = int(request.args["first"]), int(request.args["second"])
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {TABLE} SET n = n + 1 WHERE id = :id"),
                               {"id": first})
            HELD[first].set()
            if not HELD[second].wait(WAIT_SECONDS):
                raise RuntimeError("the other request never held its row")
            connection.execute(text(f"UPDATE {TABLE} SET n = n + 1 WHERE id = :id"),
                               {"id": second})
        return contract.success_response(request.environ, {"swapped": [first, second]})

    return app
