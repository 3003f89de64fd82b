"""What the fallback costs: per request on the warm path, and a stand-in against a live answer.

In process (WSGI calls, no sockets), one run, medians of 5 rounds:

* ``warm path``: ``/api/reports/wip-by-workcenter`` of the demo app on SQLite through the full
  shipped pipeline, with and without ``fallback`` (every answer is kept: the request thread hands
  it to the writer). Also a tiny JSON app, where the plugin's added microseconds are not hidden
  by the query.
* ``stand-in``: the same report with the database unreachable (the breaker open), answered from
  the kept entry, against the live answer.

Run: ``python bench/fallback.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import alternating, bench_host, call, per_request_us  # the measurement of overhead.py
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from dashboard.config.sections import BUILTIN_PLUGINS
from dashboard.plugins.fallback.state import FALLBACK

REPORT = "/api/reports/wip-by-workcenter"


def ping_app(host: Any = None) -> Any:
    @Request.application
    def app(request: Request) -> Response:
        return Response('{"success":true,"data":{"pong":true},"meta":{}}',
                        content_type="application/json")

    return app


DOWN = {"down": False}


def switched_reports(host: Any) -> Any:
    """The demo report app; while ``DOWN`` it answers as degradation does for a refused database
    (the same envelope), so a stand-in is timed without waiting on a real connect to fail."""
    from dashboard import contract
    from dashboard.reports import create_app

    inner = create_app(host)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if DOWN["down"]:
            return contract.error_response(environ, "DB_CONNECTION_FAILED", retry_after=30)(
                environ, start_response)
        return inner(environ, start_response)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    without = [name for name in BUILTIN_PLUGINS if name != "fallback"]
    print(f"{args.requests} requests x 7 alternating rounds, median; pipeline: "
          f"{', '.join(BUILTIN_PLUGINS)}")
    print(f"{'workload':<22}{'without us':>12}{'with us':>10}{'added us':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for workload, factory in [("ping (no database)", "__main__:ping_app"),
                                  ("report (SQLite)", "dashboard.reports:create_app")]:
            hosts = [bench_host(base / f"{workload[:4]}-{label}", plugins, factory)
                     for label, plugins in (("without", without),
                                            ("with", list(BUILTIN_PLUGINS)))]
            bare, full = alternating([host.build_app() for host in hosts], REPORT,
                                     args.requests)
            state = hosts[1].find_state(FALLBACK)
            assert state is not None
            state.writer.flush()
            print(f"{workload:<22}{bare:>12.1f}{full:>10.1f}{full - bare:>10.1f}"
                  f"{full / bare:>8.3f}   (kept {state.writer.written}, "
                  f"dropped {state.writer.dropped})")
            for host in hosts:
                host.close()

        host = bench_host(base / "standin", list(BUILTIN_PLUGINS), "__main__:switched_reports")
        app = host.build_app()
        state = host.find_state(FALLBACK)
        assert state is not None
        call(app, EnvironBuilder(path=REPORT).get_environ())
        state.writer.flush()

        def timed(down: bool) -> float:
            DOWN["down"] = down
            return per_request_us(app, REPORT, args.requests, rounds=1)

        live_samples, stand_in_samples = [], []
        for _ in range(7):
            live_samples.append(timed(False))
            stand_in_samples.append(timed(True))
        DOWN["down"] = True
        assert call(app, EnvironBuilder(path=REPORT).get_environ()) == "200 OK"
        live, stand_in = statistics.median(live_samples), statistics.median(stand_in_samples)
        print(f"{'live vs stand-in':<22}{live:>12.1f}{stand_in:>10.1f}"
              f"{stand_in - live:>10.1f}{stand_in / live:>8.3f}   (live | stand-in us/req)")
        host.close()


if __name__ == "__main__":
    main()
