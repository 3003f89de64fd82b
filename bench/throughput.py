"""Benchmark: requests per second under gunicorn, the full stack against bare gunicorn.

Both servers run the same Werkzeug JSON app (``overhead.ping_app``) with 2 gthread workers x 4
threads and write an access log; ``wrk`` (Debian package ``wrk``) loads each with 16 connections.
Runs alternate between the two servers so machine noise hits both; the figure is the median of
the paired runs' ratios (each full run against the bare run just before it).

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

from dashboard.sections import BUILTIN_PLUGINS  # noqa: E402
from tests.support.server import free_port  # noqa: E402


def wait_until_serving(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def serving(argv: list[str], port: int, **popen: Any) -> Iterator[str]:
    """Run ``argv`` (output discarded) until its ``/ping`` on ``port`` answers; yield that URL."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               **popen)
    try:
        url = f"http://127.0.0.1:{port}/ping"
        wait_until_serving(url)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def bare_gunicorn(workers: int, threads: int) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    return serving(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", str(workers), "--threads",
         str(threads), "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "--chdir", str(BENCH),
         "overhead:ping_app()"], port)


def dashboard_serve(workers: int, threads: int, tmp: Path
                    ) -> contextlib.AbstractContextManager[str]:
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


def wrk(url: str, seconds: int, connections: int) -> tuple[float, int]:
    """Requests per second and the count of non-2xx/3xx answers."""
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url],
                            capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(bad[1]) if bad else 0


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
    bare_rates, full_rates, bare_bad, full_bad = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp_name, \
            bare_gunicorn(args.workers, args.threads) as bare_url, \
            dashboard_serve(args.workers, args.threads, Path(tmp_name)) as full_url:
        for _ in range(2):  # warm both, past the start-up of the other server's workers
            wrk(bare_url, 3, args.connections)
            wrk(full_url, 3, args.connections)
        for _ in range(args.runs):
            rate, bad = wrk(bare_url, args.seconds, args.connections)
            bare_rates.append(rate)
            bare_bad += bad
            rate, bad = wrk(full_url, args.seconds, args.connections)
            full_rates.append(rate)
            full_bad += bad
    bare, full = statistics.median(bare_rates), statistics.median(full_rates)
    print(f"{args.workers} gthread workers x {args.threads} threads, wrk {args.connections} "
          f"connections, {args.seconds} s x {args.runs} runs (median)")
    print(f"plugins: {', '.join(BUILTIN_PLUGINS)}")
    print(f"bare gunicorn    {bare:10.0f} req/s   runs: {[round(r) for r in bare_rates]}   "
          f"non-2xx: {bare_bad}")
    print(f"dashboard serve  {full:10.0f} req/s   runs: {[round(r) for r in full_rates]}   "
          f"non-2xx: {full_bad}")
    ratios = [f / b for f, b in zip(full_rates, bare_rates, strict=True)]
    print(f"ratio full / bare {statistics.median(ratios):9.2f}   (median of the paired runs: "
          f"{[round(r, 2) for r in ratios]}; ratio of the medians {full / bare:.2f})")


if __name__ == "__main__":
    main()
