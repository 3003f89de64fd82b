"""A test app factory exposing what only a running worker knows, for the health e2e tests.

``app_factory = "tests.dashboard.plugins.health.apps:create_app"``:

* ``/test/probe-count``: ``{"pid", "count"}``, health probe statements this worker sent to the
  database (counted on every engine as it executes, by the probe's statement text);
* ``/test/db``: one ``SELECT 1`` through the host's engine (to feed the breaker);
* ``/test/hold?n=&seconds=``: checks ``n`` connections out of the host's pool and keeps them
  for ``seconds`` in background threads; answers once all ``n`` are held.

With ``HEALTH_TEST_SLOW_CHECK_MS`` set, an extra check that takes that long is registered, so a
health computation is slow enough for concurrent requests to pile up behind it (single flight).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Request

from dashboard import contract, hookimpl
from dashboard.checks import CheckResult
from dashboard.host import Host
from dashboard.plugins.health.probe import PROBE_SQL

SLOW_CHECK_ENV = "HEALTH_TEST_SLOW_CHECK_MS"
_probes = {"count": 0}
_probes_lock = threading.Lock()


def _count_probe(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement == PROBE_SQL:
        with _probes_lock:
            _probes["count"] += 1


class SlowCheck:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    @hookimpl
    def dashboard_health_checks(self) -> list[CheckResult]:
        time.sleep(self.seconds)
        return [CheckResult("slow", "pass", {"seconds": self.seconds})]


def create_app(host: Host) -> Any:
    if not event.contains(Engine, "before_cursor_execute", _count_probe):
        event.listen(Engine, "before_cursor_execute", _count_probe)  # once, however many hosts
    slow_ms = os.environ.get(SLOW_CHECK_ENV)
    if slow_ms:
        host.pm.register(SlowCheck(int(slow_ms) / 1000), name="slowcheck")
    engine = host.engine

    def hold(count: int, seconds: float) -> None:
        held = threading.Barrier(count + 1)

        def keep() -> None:
            with engine.connect():
                held.wait(10)
                time.sleep(seconds)

        for _ in range(count):
            threading.Thread(target=keep, daemon=True).start()
        held.wait(10)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/test/probe-count":
            with _probes_lock:
                data = {"pid": os.getpid(), "count": _probes["count"]}
            response = contract.success_response(environ, data)
        elif request.path == "/test/db":
            with engine.connect() as connection:
                connection.execute(text("SELECT 1")).scalar()
            response = contract.success_response(environ, {"pid": os.getpid()})
        elif request.path == "/test/hold":
            hold(int(request.args["n"]), float(request.args["seconds"]))
            response = contract.success_response(environ, {"pid": os.getpid()})
        else:
            response = contract.error_response(environ, "NOT_FOUND")
        return response(environ, start_response)

    return app
