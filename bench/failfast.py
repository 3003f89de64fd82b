"""Benchmark: a request answered ``CIRCUIT_BREAKER_OPEN`` against a bare Werkzeug JSON request.

Failing fast is the layer's way of shedding load, so a refused request must cost no more than
serving a trivial page. In one process, against a baseline measured in the same run:

* ``bare``: the Werkzeug Request/Response app answering a tiny JSON envelope (no host at all);
* ``refused``: the full stack (every built-in plugin) around an app that asks the host's engine
  for a connection while the breaker is OPEN, so the answer is the contract's
  ``CIRCUIT_BREAKER_OPEN`` envelope with ``Retry-After``.

Requests are WSGI calls (no sockets), bare and refused in alternating rounds, CPU time of the
process (as ``overhead.py``). Run: ``python bench/failfast.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import alternating, bench_host, ping_app
from werkzeug.test import EnvironBuilder

from dashboard.config.sections import BUILTIN_PLUGINS
from dashboard.plugins.breaker.runtime import BREAKER


def database_app(host: Any) -> Any:
    """An app whose every request needs a database connection."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        with host.engine.connect():
            pass
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"success":true,"data":{}}']

    return app


def open_breaker(host: Any) -> None:
    breaker = host.find_state(BREAKER).breaker
    for _ in range(breaker.window_size):
        breaker.record_failure(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host = bench_host(Path(tmp), BUILTIN_PLUGINS, "failfast:database_app",
                          "[plugins.breaker]\nopen_seconds = 3600\n")
        pipeline = host.build_app()
        open_breaker(host)
        check = EnvironBuilder(path="/db").get_environ()
        answer: list[str] = []
        body = b"".join(pipeline(check, lambda status, headers, exc=None: answer.append(status)))
        assert answer == ["503 SERVICE UNAVAILABLE"] or answer[0].startswith("503"), answer
        assert json.loads(body)["error"]["code"] == "CIRCUIT_BREAKER_OPEN", body
        bare, refused = [], []
        for _ in range(args.runs):
            b, r = alternating([ping_app(), pipeline], ["/ping", "/db"], args.requests, rounds=5)
            bare.append(b)
            refused.append(r)
        host.close()
    b, r = statistics.median(bare), statistics.median(refused)
    print(f"plugins: {', '.join(BUILTIN_PLUGINS)}; {args.requests} requests x 5 alternating "
          f"rounds, median of {args.runs} runs, CPU time")
    print(f"bare Werkzeug JSON request   {b:8.1f} us")
    print(f"CIRCUIT_BREAKER_OPEN answer  {r:8.1f} us")
    print(f"ratio refused / bare         {r / b:8.2f}x")


if __name__ == "__main__":
    main()
