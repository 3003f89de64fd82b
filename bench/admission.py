"""What admission costs per request, and how its adaptive limit moves with latency.

Two parts, both in one process:

* ``cost``: the ``ping`` and ``report`` workloads of ``bench/overhead.py`` through the default
  stack with ``admission`` and through the same stack without it, WSGI calls (no sockets),
  median of 5 rounds; the ratio is what admission adds.
* ``simulation``: a busy worker (every slot filled each round) on a manual clock while latency
  is steady, then rises 25% a round, then drops back: the gradient rule's limit per round.

Run: ``python bench/admission.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from overhead import bench_host, per_request_us  # the same measurement as bench/overhead.py

from dashboard.clock import ManualClock
from dashboard.config.sections import BUILTIN_PLUGINS
from dashboard.plugins.admission.limiter import Limiter
from dashboard.plugins.admission.limits import GradientLimit


def cost(requests: int) -> None:
    with_admission = list(BUILTIN_PLUGINS)
    without = [name for name in with_admission if name != "admission"]
    print(f"cost: {requests} requests x 5 rounds, median; stacks: {', '.join(with_admission)} "
          "vs the same without admission")
    print(f"{'workload':<10}{'without us':>12}{'with us':>10}{'added us':>10}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for workload, factory, path in [
            ("ping", "overhead:ping_app", "/ping"),
            ("report", "dashboard.reports:create_app", "/api/reports/daily-output"),
        ]:
            timings = []
            for label, plugins in (("without", without), ("with", with_admission)):
                host = bench_host(Path(tmp) / f"{workload}-{label}", plugins, factory,
                                  f'[database]\nurl = "sqlite:///{tmp}/{workload}.db"\n')
                timings.append(per_request_us(host.build_app(), path, requests))
                host.close()
            bare, full = timings
            print(f"{workload:<10}{bare:>12.1f}{full:>10.1f}{full - bare:>10.1f}"
                  f"{full / bare:>7.3f}x")


def simulation() -> None:
    clock = ManualClock()
    policy = GradientLimit(1, 8)
    limiter = Limiter(policy, clock)
    print("\nsimulation: min_concurrent 1, max_concurrent 8, every slot busy each round")
    print(f"{'round':>5}{'latency ms':>12}{'baseline ms':>13}{'limit':>7}")
    latency = 0.020
    for round_ in range(70):
        if 10 <= round_ < 35:
            latency *= 1.25
        elif round_ == 35:
            latency = 0.020
        permits = [limiter.try_acquire(0) for _ in range(limiter.limit)]
        clock.advance(latency)
        for permit in permits:
            if permit is not None:
                limiter.release(permit)
        if round_ % 5 == 0 or round_ in (11, 12, 36, 37):
            print(f"{round_:>5}{latency * 1000:>12.0f}{policy.baseline * 1000:>13.0f}"
                  f"{limiter.limit:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    cost(args.requests)
    simulation()


if __name__ == "__main__":
    main()
