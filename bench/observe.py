"""Per-request cost of the host's outermost layer with its request histogram, in multiprocess mode.

Measures, in one run, a trivial WSGI app called bare and behind
:class:`dashboard.pipeline.catcher.LastResortCatcher` with a
:class:`dashboard.pipeline.observe.RequestMeter` (request id, one ``perf_counter`` pair, one
histogram ``observe`` written to the multiprocess mmap files, as under gunicorn), and prints the
cost per request in microseconds and the ratio.

    python bench/observe.py [--requests N]

Absolute figures depend on the machine (and its load); compare them with a real request's time
(``python bench/overhead.py``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bench-observe-")

from types import SimpleNamespace

from dashboard.pipeline.catcher import LastResortCatcher  # after the multiprocess choice
from dashboard.pipeline.observe import RequestMeter


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def run(wsgi: Any, requests: int) -> float:
    def start_response(*_args: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(requests):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}
        body = wsgi(environ, start_response)
        for _chunk in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args()
    observed = LastResortCatcher(app, SimpleNamespace(), RequestMeter())
    run(observed, 1000)  # warm up: label child and mmap files created
    bare = min(run(app, args.requests) for _ in range(3))
    wrapped = min(run(observed, args.requests) for _ in range(3))
    print(f"bare app:            {bare:8.2f} us/request")
    print(f"outer layer + meter:{wrapped:8.2f} us/request")
    print(f"observer cost:       {wrapped - bare:8.2f} us/request (ratio {wrapped / bare:.1f}x "
          "of a no-op app)")


if __name__ == "__main__":
    main()
