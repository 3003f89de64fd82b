"""The least the contract's per-request duties can cost in pure Python, against the bare app.

``overhead.py`` measures the host as built: two layers of its own and one per plugin that acts
on the path. This bench asks what any pure-Python host would pay, however it were built: the
duties are done in one fused layer with nothing else (no plugin seam, no exception mapping, no
end callbacks, no pass-by), each step adding one duty to the one before:

* ``pass-through``: a layer that only calls the app (what a layer costs at all);
* ``+ id``: the request id (``contract.request_id``, as the host makes it) stamped on the
  answer's headers through a ``start_response`` of its own that keeps the status
  (docs/api/responses.md);
* ``+ metric``: the duration observed under its labels (a ``perf_counter`` pair, the label key,
  one ``deque.append``, as the host's buffered histogram does);
* ``+ mark``: the request run in a context of its own with its mark set (log lines carry the
  id; nothing leaks into the server's context);
* ``+ slot``: an admission slot taken and given back under a lock (§9).

Then the host as built, with no plugin and with every built-in one. The last fused row is the
floor for the in-process ratio: what is left above it is the host's shape (layers, seams).
Run: ``python bench/floor.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar, copy_context
from pathlib import Path
from typing import Any

from overhead import alternating, bench_host, ping_app
from werkzeug.test import EnvironBuilder

from dashboard import contract
from dashboard.config.sections import BUILTIN_PLUGINS

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_mark: ContextVar[object] = ContextVar("floor_mark", default=None)


class _Stamp:
    """A ``start_response`` that keeps the status and adds the request id."""

    __slots__ = ("request_id", "start_response", "status")

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = status
        headers.append((contract.REQUEST_ID_HEADER, self.request_id))
        return self.start_response(status, headers, exc_info)


def _finished(body: Iterable[bytes]) -> list[bytes]:
    """The body read whole and closed, as the host hands on an answer produced whole."""
    chunks = list(body)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return chunks


def fused(app: App, *, metric: bool, mark: bool, slot: bool) -> App:
    """One layer doing the id and the duties asked for, and nothing else."""
    durations: dict[tuple[str, str], deque[float]] = {}
    lock = threading.Lock()
    in_flight: dict[int, float] = {}
    tickets = itertools.count()

    def layer(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.perf_counter()
        stamp = _Stamp()
        stamp.request_id = contract.request_id(environ)
        stamp.start_response = start_response
        stamp.status = "500"
        if slot:
            lock.acquire()
            ticket = next(tickets)
            in_flight[ticket] = started
            lock.release()
        if mark:
            context = copy_context()
            context.run(_mark.set, stamp)
            body = context.run(app, environ, stamp)
        else:
            body = app(environ, stamp)
        chunks = _finished(body)
        if slot:
            lock.acquire()
            in_flight.pop(ticket)
            lock.release()
        if metric:
            key = (environ.get("REQUEST_METHOD", ""), stamp.status[:1])
            buffer = durations.get(key)
            if buffer is None:
                buffer = durations[key] = deque(maxlen=100_000)
            buffer.append(time.perf_counter() - started)
        return chunks

    return layer


def answers(app: App) -> tuple[str, dict[str, str]]:
    """One request to ``app``: its status line and headers (every row must answer as the app
    does, the fused ones and the host's with the request id stamped)."""
    environ = EnvironBuilder(path="/ping").get_environ()
    sent: list[Any] = []
    _finished(app(environ, lambda status, headers, exc_info=None: sent.extend((status, headers))))
    return sent[0], dict(sent[1])


def pass_through(app: App) -> App:
    def layer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return app(environ, start_response)

    return layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    bare = ping_app()
    rows: list[tuple[str, Any]] = [
        ("bare", bare),
        ("pass-through", pass_through(bare)),
        ("+ id", fused(bare, metric=False, mark=False, slot=False)),
        ("+ metric", fused(bare, metric=True, mark=False, slot=False)),
        ("+ mark", fused(bare, metric=True, mark=True, slot=False)),
        ("+ slot (floor)", fused(bare, metric=True, mark=True, slot=True)),
    ]
    hosts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, plugins in [("host, no plugin", ()), ("host, every plugin", BUILTIN_PLUGINS)]:
            host = bench_host(Path(tmp) / str(len(hosts)), plugins, "overhead:ping_app")
            hosts.append(host)
            rows.append((name, host.build_app()))
        for name, app in rows:
            status, headers = answers(app)
            stamped = contract.REQUEST_ID_HEADER in headers
            if not status.startswith("200") or stamped != (name not in ("bare", "pass-through")):
                raise SystemExit(f"{name}: answered {status}, request id stamped: {stamped}")
        print(f"ping workload, {args.requests} requests x 7 alternating rounds, median CPU time")
        print(f"{'layer':<22}{'us/req':>9}{'ratio':>8}")
        timings = alternating([app for _, app in rows], "/ping", args.requests)
        for (name, _), us in zip(rows, timings, strict=True):
            print(f"{name:<22}{us:>9.2f}{us / timings[0]:>7.2f}x")
        for host in hosts:
            host.close()


if __name__ == "__main__":
    main()
