"""Per-request cost of the host with every plugin listed, against the bare app, in one run.

Two workloads, each measured bare and through the full pipeline in the same process:

* ``ping``: a Werkzeug app answering a tiny JSON envelope (no database): the host's pure overhead.
* ``report``: the demo's ``/api/reports/daily-output`` on SQLite: the overhead as a share of a
  realistic request.

Requests are WSGI calls (no sockets), so the figure is the host's cost, not the network's. Bare
and host rounds alternate and each is the process's CPU time (see :func:`per_request_us`).
Run: ``python bench/overhead.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from dashboard.config.sections import BUILTIN_PLUGINS
from dashboard.testing import build_host


def ping_app(host: Any = None) -> Any:
    """The bare Werkzeug app of the ``ping`` workload (also the factory the host wraps)."""

    @Request.application
    def app(request: Request) -> Response:
        return Response('{"success":true,"data":{"pong":true}}', content_type="application/json")

    return app


def bench_host(base: Path, plugins: Iterable[str], factory: str, extra: str = "") -> Any:
    """A production-mode host with ``plugins`` (in that order) around ``factory``'s app, its
    files under ``base``; ``extra`` is TOML appended to the config (e.g. a plugin's table)."""
    names = ", ".join(f'"{name}"' for name in plugins)
    return build_host(f'[dashboard]\nplugins = [{names}]\napp_factory = "{factory}"\n'
                      f'environment = "production"\n{extra}', base_dir=base)


def call(app: Any, environ_template: dict[str, Any]) -> str:
    """One WSGI request through ``app``, body read and closed; the status line it answered."""
    environ = dict(environ_template)
    status: list[str] = []
    body = app(environ, lambda line, headers, exc_info=None: status.append(line))
    for _ in body:
        pass
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return status[-1]


def per_request_us(app: Any, path: str, requests: int, rounds: int = 5) -> float:
    """Median CPU microseconds per request of ``rounds`` rounds.

    CPU time of the whole process (``time.process_time``): it counts what the request costs in
    every thread (the fallback's writer and the metrics flusher included) and not the time
    another process had the core, which on a shared machine is most of the noise.
    """
    template = EnvironBuilder(path=path).get_environ()
    for _ in range(min(200, requests)):
        call(app, template)
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            call(app, template)
        samples.append((time.process_time() - started) / requests * 1e6)
    return statistics.median(samples)


def alternating(apps: list[Any], path: str | list[str], requests: int,
                rounds: int = 7) -> list[float]:
    """Median us/request of each app, measured in alternating rounds (load drifts cancel)."""
    paths = path if isinstance(path, list) else [path] * len(apps)
    samples: list[list[float]] = [[] for _ in apps]
    for _ in range(rounds):
        for index, app in enumerate(apps):
            samples[index].append(per_request_us(app, paths[index], requests, rounds=1))
    return [statistics.median(values) for values in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"plugins: {', '.join(BUILTIN_PLUGINS)}; {args.requests} requests x 7 alternating "
              "rounds, median CPU time")
        print(f"{'workload':<10}{'bare us/req':>14}{'host us/req':>14}{'added us':>11}"
              f"{'ratio':>8}")
        for workload, factory, path in [
            ("ping", "__main__:ping_app", "/ping"),
            ("report", "dashboard.reports:create_app", "/api/reports/daily-output"),
        ]:
            host = bench_host(base / workload, BUILTIN_PLUGINS, factory)
            pipeline = host.build_app()
            bare = ping_app() if workload == "ping" else host._make_app()
            bare_us, host_us = alternating([bare, pipeline], path, args.requests)
            print(f"{workload:<10}{bare_us:>14.1f}{host_us:>14.1f}{host_us - bare_us:>11.1f}"
                  f"{host_us / bare_us:>7.2f}x")
            host.close()


if __name__ == "__main__":
    main()
