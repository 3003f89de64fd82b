"""A HALF_OPEN probe permit comes back when a server closes a body it never iterated.

Servers do that (a HEAD request, a client that went away before the first chunk); PEP 3333 only
promises that ``close()`` is called. Before the fix the host's own body wrapper was a generator,
whose ``finally`` never runs when it was never started, so the permit leaked and every later
request was refused with ``CIRCUIT_BREAKER_OPEN``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.test import Client, EnvironBuilder

from dashboard.clock import ManualClock
from dashboard.db.faults import DbOutcome, Fault
from dashboard.host import Host
from dashboard.plugins.breaker.runtime import BREAKER

TOML = """
[dashboard]
plugins = ["breaker", "degradation"]
app_factory = "tests.dashboard.plugins.breaker.test_probe_release:create_app"
[plugins.breaker]
window_size = 4
minimum_calls = 2
failure_rate_threshold = 0.5
open_seconds = 30
half_open_max_calls = 1
"""


def create_app(host: Host) -> Any:
    """``/checkout`` takes a pooled connection (the breaker's gate hands out the probe permit
    there) and answers with a body a server may close unread."""
    engine = host.engine

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        with engine.connect():
            pass
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (chunk for chunk in [b"checked out"])  # a lazy body: its request ends at close

    return app


def test_closing_an_unread_probe_body_gives_the_permit_back(
        dashboard_host: Callable[..., Host], dashboard_clock: ManualClock) -> None:
    host = dashboard_host(TOML, clock=dashboard_clock)
    app = host.build_app()
    for _ in range(2):
        host.hook.dashboard_db_outcome(host=host, outcome=DbOutcome(Fault.CONNECTION_FAILED))
    dashboard_clock.advance(31)
    statuses: list[str] = []
    body = app(EnvironBuilder(path="/checkout").get_environ(),
               lambda status, headers, exc_info=None: statuses.append(status))
    assert statuses == ["200 OK"]
    assert host.find_state(BREAKER).breaker.state.value == "HALF_OPEN"
    body.close()  # what a server does for a client that is gone: no iteration at all

    second = Client(app).get("/checkout")
    assert second.status_code == 200, second.get_data(as_text=True)
