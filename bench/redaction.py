"""Logging throughput with the redaction filter against without it, and hostile input, in one run.

    python bench/redaction.py [--records N] [--rounds R] [--skip-hostile]

Each workload logs N records through a real ``StreamHandler`` with a gunicorn-like formatter
writing to ``os.devnull``: once with redaction uninstalled (the baseline) and once installed,
alternating for R rounds and keeping each side's best round, so a noisy neighbour on a shared
machine hurts both sides alike. Printed per workload: records per second without and with the
filter, and the ratio (with / without; 1.00 means free).

Workloads: gunicorn access-log lines (dict args, a Referer URL), ordinary application messages,
messages that do carry credentials (the slow path: regexes run and mask), and exceptions with
tracebacks (rendered once by the filter instead of by the formatter).

Then hostile input (issue 13): for each 16 KiB shape of
``tests/dashboard/plugins/redaction/hostile.py`` (the openings of every leak form, repeated), the
time to redact it divided by the time to redact a benign 16 KiB access line, with the patterns
before issue 13 (``bench/redaction_quadratic.py``, timed once per text: the quadratic ones take
about a second) and with the current ones, measured in the same run. A linear redactor stays near 1;
the old one reached the hundreds.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redaction_quadratic

from dashboard.plugins.redaction.install import install, uninstall
from dashboard.plugins.redaction.literals import literal_forms
from dashboard.plugins.redaction.redactor import Redactor
from tests.dashboard.plugins.redaction.hostile import BENIGN, SHAPES, cost_ratio

ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
ACCESS_ATOMS = {"h": "127.0.0.1", "l": "-", "u": "-", "t": "[28/Nov/2026:10:00:00 +0000]",
                "r": "GET /api/reports/wip-by-workcenter HTTP/1.1", "s": "200", "b": "1834",
                "f": "http://dashboard.example:8000/reports/wip-by-workcenter",
                "a": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}
DSN = "postgresql+psycopg://mes:S3cr%40t-pw@db.example:5432/mes"


def _access(logger: logging.Logger, i: int) -> None:
    logger.info(ACCESS_FORMAT, ACCESS_ATOMS)


def _application(logger: logging.Logger, i: int) -> None:
    logger.info("report %s served %d rows in %.1f ms", "wip-by-workcenter", i % 500, 12.5)


def _secrets(logger: logging.Logger, i: int) -> None:
    logger.warning("reconnecting to %s after password=%s was rejected", DSN, "hunter22")


def _traceback(logger: logging.Logger, i: int) -> None:
    try:
        raise ConnectionError("connection to server at 127.0.0.1, port 1 failed")
    except ConnectionError:
        logger.exception("database connection_failed in GET /api/reports/wip-by-workcenter")


WORKLOADS: dict[str, Callable[[logging.Logger, int], None]] = {
    "access log": _access,
    "application": _application,
    "with secrets": _secrets,
    "tracebacks": _traceback,
}


def _logger(devnull: object) -> logging.Logger:
    logger = logging.getLogger("bench.redaction")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(devnull)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter(
        "%(asctime)s [%(process)d] [%(levelname)s] %(message)s", "[%Y-%m-%d %H:%M:%S %z]"))
    logger.addHandler(handler)
    return logger


def _rate(logger: logging.Logger, emit: Callable[[logging.Logger, int], None],
          records: int) -> float:
    start = time.perf_counter()
    for i in range(records):
        emit(logger, i)
    return records / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-hostile", action="store_true",
                        help="only the throughput part (the old patterns take ~10 s)")
    args = parser.parse_args()
    redactor = Redactor("***", literal_forms(["S3cr@t-pw", "adm-token-0123456789"]))
    print(f"{'workload':<14} {'without/s':>11} {'with/s':>11} {'ratio':>6}")
    ratios = []
    with open(os.devnull, "w") as devnull:
        for name, emit in WORKLOADS.items():
            best_without = best_with = 0.0
            for _ in range(args.rounds):
                uninstall()
                best_without = max(best_without, _rate(_logger(devnull), emit, args.records))
                install(redactor)
                best_with = max(best_with, _rate(_logger(devnull), emit, args.records))
            uninstall()
            ratio = best_with / best_without
            ratios.append(ratio)
            print(f"{name:<14} {best_without:>11,.0f} {best_with:>11,.0f} {ratio:>6.2f}")
    print(f"ratio with/without, access log (the hot path): {ratios[0]:.2f}")
    if not args.skip_hostile:
        _hostile(redactor)


def _hostile(redactor: Redactor) -> None:
    """Hostile/benign cost ratios, old patterns against new, over every shape."""
    print()
    print(f"{'hostile 16 KiB shape':<26} {'old':>9} {'new':>6}   (time / time of a benign line)")
    worst_old = worst_new = (0.0, "")
    for name, text in SHAPES.items():
        old = cost_ratio(redaction_quadratic.redact, text, BENIGN, rounds=1)
        new = cost_ratio(redactor.redact, text, BENIGN, rounds=5)
        worst_old, worst_new = max(worst_old, (old, name)), max(worst_new, (new, name))
        print(f"{name:<26} {old:>8.1f}x {new:>5.1f}x")
    print(f"worst hostile/benign ratio: old {worst_old[0]:.0f}x ({worst_old[1]}), "
          f"new {worst_new[0]:.1f}x ({worst_new[1]})")


if __name__ == "__main__":
    main()
