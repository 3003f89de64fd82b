"""Benchmark: what logging costs a worker during a 10 s database outage under load.

In one process, the full stack (every built-in plugin) serves an app whose every request needs a
database connection, while the database refuses connections (a PostgreSQL URL on a closed local
port: a real driver error, classified ``DB_CONNECTION_FAILED``). ``--threads`` threads send
requests for ``--seconds`` seconds, twice, alternating:

* ``with handler``: the root logger has the host's text handler at INFO, as under gunicorn: our
  formatter, the request-id filter and the redaction plugin's filter, and the writer thread of
  :mod:`dashboard.logs.queue` in front of a file (``--direct``: the file handler alone, every
  request thread writing for itself);
* ``without``: the root logger has a ``NullHandler`` only (records are still created, nothing is
  formatted or written).

Two scenarios: ``breaker`` (the shipped stack: the breaker opens and refuses, probing every
``open_seconds``) and ``no-breaker`` (every request meets the refused connect: the flood of
identical classified failures docs/api/metrics.md says must be one line each).

Two figures of the logging share, medians over ``--runs``: ``in handler`` is the CPU time spent
inside the handlers (filters, formatting, the write: ``time.thread_time``, in the request threads
and the writer thread) over the process CPU time of the run; ``with/none`` is
``1 - (CPU per request without) / (CPU per request with)`` from ``time.process_time``, which
also counts creating the records but is at the mercy of machine noise (prefer ``in handler`` on
a busy machine). Lines written are
counted too.

    python bench/outage_logging.py [--seconds 10] [--threads 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import call
from werkzeug.test import EnvironBuilder

from dashboard.config.sections import BUILTIN_PLUGINS, LoggingSection
from dashboard.logs.queue import QueuedHandler
from dashboard.logs.setup import apply
from dashboard.testing import build_host


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: refused


def load(pipeline: Any, seconds: float, threads: int) -> tuple[int, float, dict[str, int]]:
    """Requests served, process CPU seconds, and the answers' status lines counted."""
    environ = EnvironBuilder(path="/db").get_environ()
    stop = threading.Event()
    counts: list[dict[str, int]] = [{} for _ in range(threads)]

    def worker(seen: dict[str, int]) -> None:
        while not stop.is_set():
            status = call(pipeline, environ)[:3]
            seen[status] = seen.get(status, 0) + 1

    workers = [threading.Thread(target=worker, args=(seen,)) for seen in counts]
    cpu = time.process_time()
    for thread in workers:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in workers:
        thread.join()
    cpu = time.process_time() - cpu
    statuses: dict[str, int] = {}
    for seen in counts:
        for status, count in seen.items():
            statuses[status] = statuses.get(status, 0) + count
    return sum(statuses.values()), cpu, statuses


class _Timed:
    """Adds up the CPU time threads spend in the timed methods (filters, format, write)."""

    cpu_seconds = 0.0
    _cpu_lock = threading.Lock()

    @staticmethod
    def add(started: float) -> None:
        spent = time.thread_time() - started
        with _Timed._cpu_lock:
            _Timed.cpu_seconds += spent


class TimedFileHandler(logging.FileHandler):
    """``--direct``: timed in ``handle`` (filters, the lock, format, write), per request thread."""

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        started = time.thread_time()
        try:
            return bool(super().handle(record))
        finally:
            _Timed.add(started)


class TimedQueuedHandler(QueuedHandler):
    """Timed in ``handle`` (a request thread: filters, render, put) and ``write`` (the writer
    thread: the lock, format, write)."""

    def handle(self, record: logging.LogRecord) -> bool:
        started = time.thread_time()
        try:
            return super().handle(record)
        finally:
            _Timed.add(started)

    def write(self, record: logging.LogRecord) -> None:
        started = time.thread_time()
        try:
            super().write(record)
        finally:
            _Timed.add(started)


def with_handler(log_file: Path, direct: bool) -> logging.Handler:
    """The root logger's handler as under gunicorn, writing ``log_file``."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = TimedFileHandler(log_file)
    apply(LoggingSection(), [file_handler])  # our format and filters, and a root handler ...
    for extra in list(root.handlers):         # ... on stderr, swapped for the file here
        root.removeHandler(extra)
        extra.close()
    handler: logging.Handler = file_handler
    if not direct:
        handler = TimedQueuedHandler(file_handler)
        handler.filters = list(file_handler.filters)  # the request id is read in the caller
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def without_handler() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.INFO)


def scenario(name: str, plugins: list[str], args: argparse.Namespace, tmp: Path) -> None:
    names = ", ".join(f'"{plugin}"' for plugin in plugins)
    config = (f'[dashboard]\nplugins = [{names}]\napp_factory = "failfast:database_app"\n'
              'environment = "production"\n'
              f'[database]\nurl = "postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x"\n')
    if "breaker" in plugins:
        config += "[plugins.breaker]\nopen_seconds = 1\n"
    log_file = (Path(args.keep) if args.keep else tmp) / f"{name}.log"
    handler = with_handler(log_file, args.direct)  # before the host: redaction filters it
    host = build_host(config, base_dir=tmp / name)
    pipeline = host.build_app()
    load(pipeline, 1.0, args.threads)  # warm: the breaker has seen the outage
    shares, direct, lines, rates, statuses_seen = [], [], [], [], {}
    for _ in range(args.runs):
        without_handler()
        served_b, cpu_b, statuses = load(pipeline, args.seconds, args.threads)
        statuses_seen.update(statuses)
        logging.getLogger().handlers[:] = [handler]
        before = log_file.stat().st_size and len(log_file.read_bytes().splitlines())
        _Timed.cpu_seconds = 0.0
        served_a, cpu_a, statuses = load(pipeline, args.seconds, args.threads)
        handler.flush()
        direct.append(_Timed.cpu_seconds / cpu_a)
        statuses_seen.update(statuses)
        lines.append(len(log_file.read_bytes().splitlines()) - before)
        per_a, per_b = cpu_a / served_a, cpu_b / served_b
        shares.append(1 - per_b / per_a)
        rates.append((served_a / args.seconds, served_b / args.seconds))
    host.close()
    without_handler()
    print(f"{name:<11} {statistics.median(r[0] for r in rates):>9.0f} "
          f"{statistics.median(r[1] for r in rates):>10.0f} "
          f"{statistics.median(lines):>10.0f} {statistics.median(direct) * 100:>9.1f}% "
          f"{statistics.median(shares) * 100:>9.1f}%   runs (in handler): "
          f"{[round(s * 100, 1) for s in direct]}  answers: {sorted(statuses_seen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", default=None, help="write the log files to this directory")
    parser.add_argument("--only", choices=["breaker", "no-breaker"], default=None)
    parser.add_argument("--direct", action="store_true",
                        help="no writer thread: each request thread writes its own lines")
    args = parser.parse_args()
    print(f"plugins: {', '.join(BUILTIN_PLUGINS)}; {args.threads} threads, {args.seconds:.0f} s "
          f"outage x {args.runs} runs per case (median)")
    print(f"{'scenario':<11} {'req/s log':>9} {'req/s none':>10} {'lines/run':>10} "
          f"{'in handler':>10} {'with/none':>9}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.only or args.only == "breaker":
            scenario("breaker", list(BUILTIN_PLUGINS), args, tmp)
        if not args.only or args.only == "no-breaker":
            scenario("no-breaker", [p for p in BUILTIN_PLUGINS if p != "breaker"], args, tmp)


if __name__ == "__main__":
    main()
