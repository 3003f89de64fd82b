"""Benchmark: instructions per request under callgrind, against the bare app, in one run.

The CPU-time benches (``overhead.py``, ``failfast.py``) move with whatever else the machine
runs; the instructions a request executes do not, so this one says to a few hundred whether a
change made the stack cheaper. Instruction counts are not time (a cache miss or a system call
counts as one), so the ratios here complement the CPU-time ones and do not replace them.

Each workload runs in a ``valgrind --tool=callgrind`` process of its own that counts only inside
the loop of requests (``--toggle-collect=map_next``: the loop is a ``map``), once with ``short``
and once with ``long`` requests: ``(I_long - I_short) / (long - short)`` cancels what happens
once (first-use caches, the warm-up's leftovers). The string hash seed is pinned: with a random
one, dict layouts moved a request's count by up to 3,300 between runs of the same code.
Workloads, as in the other benches:

* ``bare``: ``overhead.ping_app`` alone;
* ``host``: that app inside the host with no plugin (its two layers);
* ``full``: inside the host with every built-in plugin;
* ``refused``: every built-in plugin, the breaker OPEN, an app asking for a connection
  (``failfast.database_app``): the ``CIRCUIT_BREAKER_OPEN`` answer.

    python bench/instructions.py [--requests 1000]     (Debian package ``valgrind``)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

WORKLOADS = ("bare", "host", "full", "refused")
_SHORT = 200


def run_requests(workload: str, requests: int) -> None:
    """The measured process: build ``workload``, warm it, then ``requests`` calls in a map."""
    from overhead import bench_host, call, ping_app
    from werkzeug.test import EnvironBuilder

    from dashboard.config.sections import BUILTIN_PLUGINS

    path = "/ping"
    if workload == "bare":
        app = ping_app()
    else:
        from failfast import open_breaker

        plugins = () if workload == "host" else BUILTIN_PLUGINS
        factory = "failfast:database_app" if workload == "refused" else "overhead:ping_app"
        host = bench_host(Path(tempfile.mkdtemp()), plugins, factory,
                          "[plugins.breaker]\nopen_seconds = 3600\n")
        app = host.build_app()
        if workload == "refused":
            open_breaker(host)
            path = "/db"
    environ = EnvironBuilder(path=path).get_environ()
    expected = call(app, environ)
    for _ in range(500):
        call(app, environ)
    answers = set(map(lambda _: call(app, environ), range(requests)))
    assert answers == {expected}, answers


def instructions(workload: str, requests: int) -> int:
    """Instructions counted inside the request loop of one callgrind run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        "--toggle-collect=map_next", sys.executable, __file__, "--worker",
                        workload, str(requests)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONHASHSEED": "0"})
        found = re.search(r"^summary: (\d+)$", out.read_text(), re.MULTILINE)
        if found is None:
            raise RuntimeError(f"callgrind wrote no summary for {workload}")
        return int(found[1])


def per_request(workload: str, requests: int) -> float:
    short, long = instructions(workload, _SHORT), instructions(workload, _SHORT + requests)
    return (long - short) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "REQUESTS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_requests(args.worker[0], int(args.worker[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package 'valgrind')")
    with ThreadPoolExecutor(max_workers=2) as pool:  # one valgrind per core
        counts = dict(zip(WORKLOADS, pool.map(lambda w: per_request(w, args.requests),
                                              WORKLOADS), strict=True))
    bare = counts["bare"]
    print(f"callgrind, {args.requests} requests (the difference of two runs), instructions "
          "per request")
    for workload in WORKLOADS:
        added = counts[workload] - bare
        print(f"{workload:<8} {counts[workload]:>10,.0f}   added {added:>+9,.0f}   "
              f"ratio {counts[workload] / bare:5.2f}x")


if __name__ == "__main__":
    main()
