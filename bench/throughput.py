"""Benchmark: requests per second under gunicorn, the full stack against bare gunicorn.

Both servers run the same Werkzeug JSON app (``overhead.ping_app``) with 2 gthread workers x 4
threads and write an access log; ``wrk`` (Debian package ``wrk``) loads each with 16 connections.
Runs alternate between the two servers so machine noise hits both; the figure is the median of
the paired runs' ratios (each full run against the bare run just before it). Beside it, the CPU
time the server's processes (master and workers, from ``/proc``) spent per request served: on a
shared machine a neighbour's burst moves the request rates of a run, while the CPU a request costs
moves far less, so that ratio says what the stack costs a gunicorn request.

    python bench/throughput.py [--seconds 10] [--runs 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from dashboard.config.sections import BUILTIN_PLUGINS  # noqa: E402
from tests.support.server import free_port  # noqa: E402


def wait_until_serving(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Server:
    """A running server: its URL and the CPU seconds its process tree has used so far."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(stat.parent.name)
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if pid == self.pid or int(fields[1]) == self.pid:  # fields[1]: the parent's pid
                    total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / ticks


@contextlib.contextmanager
def serving(argv: list[str], port: int, **popen: Any) -> Iterator[Server]:
    """Run ``argv`` (output discarded) until its ``/ping`` on ``port`` answers."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               **popen)
    try:
        url = f"http://127.0.0.1:{port}/ping"
        wait_until_serving(url)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(30)


def bare_gunicorn(workers: int, threads: int) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    return serving(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(workers), "--threads",
         str(threads), "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "--chdir", str(BENCH),
         "overhead:ping_app()"], port)


def dashboard_serve(workers: int, threads: int, tmp: Path
                    ) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    plugins = ", ".join(f'"{name}"' for name in BUILTIN_PLUGINS)
    config = tmp / "throughput.toml"
    config.write_text(f'[dashboard]\nplugins = [{plugins}]\napp_factory = "overhead:ping_app"\n'
                      f'runtime_dir = "{tmp / "run"}"\n[server]\nbind = "127.0.0.1:{port}"\n'
                      f"workers = {workers}\nthreads = {threads}\n"
                      f'[database]\nurl = "sqlite:///{tmp / "db.sqlite"}"\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(REPO)])}
    return serving([sys.executable, "-m", "dashboard", "serve", "--config", str(config)], port,
                   cwd=tmp, env=env)


def wrk(server: Server, seconds: int, connections: int) -> tuple[float, int, float]:
    """Requests per second, the count of non-2xx/3xx answers, and the server's CPU
    microseconds per request."""
    cpu = server.cpu_seconds()
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", server.url],
                            capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    served = int(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(bad[1]) if bad else 0, cpu / served * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package 'wrk')")
    bare_runs: list[tuple[float, int, float]] = []
    full_runs: list[tuple[float, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name, \
            bare_gunicorn(args.workers, args.threads) as bare_server, \
            dashboard_serve(args.workers, args.threads, Path(tmp_name)) as full_server:
        for _ in range(2):  # warm both, past the start-up of the other server's workers
            wrk(bare_server, 3, args.connections)
            wrk(full_server, 3, args.connections)
        for _ in range(args.runs):
            bare_runs.append(wrk(bare_server, args.seconds, args.connections))
            full_runs.append(wrk(full_server, args.seconds, args.connections))
    print(f"{args.workers} gthread workers x {args.threads} threads, wrk {args.connections} "
          f"connections, {args.seconds} s x {args.runs} runs (median)")
    print(f"plugins: {', '.join(BUILTIN_PLUGINS)}")
    for name, runs in (("bare gunicorn", bare_runs), ("dashboard serve", full_runs)):
        print(f"{name:<16} {statistics.median(r[0] for r in runs):10.0f} req/s   runs: "
              f"{[round(r[0]) for r in runs]}   non-2xx: {sum(r[1] for r in runs)}   "
              f"server CPU {statistics.median(r[2] for r in runs):6.1f} us/req "
              f"{[round(r[2]) for r in runs]}")
    ratios = [f[0] / b[0] for f, b in zip(full_runs, bare_runs, strict=True)]
    medians = statistics.median(r[0] for r in full_runs) / statistics.median(
        r[0] for r in bare_runs)
    print(f"ratio full / bare {statistics.median(ratios):9.2f}   (median of the paired runs: "
          f"{[round(r, 2) for r in ratios]}; ratio of the medians {medians:.2f})")
    cpu = statistics.median(b[2] / f[2] for f, b in zip(full_runs, bare_runs, strict=True))
    print(f"CPU per request, bare / full {cpu:5.2f}   (what the stack leaves of a gunicorn "
          "request's capacity; median of the paired runs)")


if __name__ == "__main__":
    main()
