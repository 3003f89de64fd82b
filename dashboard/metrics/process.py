"""Per-process readings for the master and every worker, and the build info, read at scrape.

``prometheus_client``'s ``ProcessCollector`` reports only the process that answers, and in
multiprocess mode it is not used at all: a host of N workers would show no CPU, memory or open
files for any of them. Every process of a host runs as the same user on the same machine, so the
worker that answers a scrape reads each one's ``/proc/<pid>`` itself: the master (its pid is in
:data:`dashboard.context.MASTER_PID_ENV`), itself, and every live worker (the processes that
have live-gauge files in the multiprocess directory: a dead worker's are removed when the master
reaps it). No process has to publish anything between scrapes, and the readings are as fresh as
the scrape. Each series carries a ``pid`` label, which multiprocess mode needs (several
processes, one scrape); in single-process mode the library's own collector is used unchanged.

Series, named as the Prometheus client libraries name them: ``process_cpu_seconds_total``,
``process_resident_memory_bytes``, ``process_virtual_memory_bytes``, ``process_open_fds``,
``process_max_fds``, ``process_start_time_seconds``; and ``dashboard_build_info{version}`` (1).
A process that exits between listing and reading is skipped, never an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

_LIVE_FILE = re.compile(r"^gauge_live\w+_(\d+)\.db$")
_MASTER_PID_ENV = "DASHBOARD_MASTER_PID"  # dashboard.context.MASTER_PID_ENV (a leaf: no import)


@cache
def version() -> str:
    try:
        return metadata.version("dashboard")
    except metadata.PackageNotFoundError:
        return "unknown"


@cache
def _clock() -> tuple[float, float]:
    """Clock ticks per second and the boot time (epoch seconds), both fixed for the machine."""
    ticks = float(os.sysconf("SC_CLK_TCK"))
    boot = 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            boot = float(line.split()[1])
    return ticks, boot


def host_pids(directory: Path | None) -> list[int]:
    """The master, this process, and every process with live gauges in ``directory``."""
    pids = {os.getpid()}
    master = os.environ.get(_MASTER_PID_ENV, "")
    if master.isdigit():
        pids.add(int(master))
    if directory is not None:
        try:
            names = os.listdir(directory)
        except OSError:
            names = []
        for name in names:
            match = _LIVE_FILE.match(name)
            if match:
                pids.add(int(match.group(1)))
    return sorted(pids)


def read_process(pid: int) -> dict[str, float] | None:
    """``/proc/<pid>`` readings, or ``None`` when the process is gone (or not readable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        ticks, boot = _clock()
        readings = {
            "cpu": (float(fields[11]) + float(fields[12])) / ticks,  # utime + stime
            "start": boot + float(fields[19]) / ticks,
            "vsize": float(fields[20]),
            "rss": float(fields[21]) * os.sysconf("SC_PAGE_SIZE"),
        }
        readings["fds"] = float(len(os.listdir(f"/proc/{pid}/fd")))
        readings["max_fds"] = _max_fds(pid)
    except (OSError, ValueError, IndexError):
        return None
    return readings


def _max_fds(pid: int) -> float:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            value = line.split()[3]
            return float(value) if value.isdigit() else float("inf")
    return float("nan")


class HostProcessCollector:
    """Scrape-time collector: every host process's readings (``pid`` labelled) and build info."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield build_info()
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "cpu": CounterMetricFamily("process_cpu_seconds_total",
                                       "User and system CPU time of the process, in seconds.",
                                       labels=["pid"]),
            "rss": GaugeMetricFamily("process_resident_memory_bytes",
                                     "Resident memory of the process, in bytes.", labels=["pid"]),
            "vsize": GaugeMetricFamily("process_virtual_memory_bytes",
                                       "Virtual memory of the process, in bytes.", labels=["pid"]),
            "fds": GaugeMetricFamily("process_open_fds", "Open file descriptors of the process.",
                                     labels=["pid"]),
            "max_fds": GaugeMetricFamily("process_max_fds",
                                         "Open file descriptor limit of the process.",
                                         labels=["pid"]),
            "start": GaugeMetricFamily("process_start_time_seconds",
                                       "Start time of the process since the epoch, in seconds.",
                                       labels=["pid"]),
        }
        for pid in host_pids(self._directory):
            readings = read_process(pid)
            if readings is None:
                continue
            for key, family in families.items():
                family.add_metric([str(pid)], readings[key])
        yield from families.values()


class BuildInfoCollector:
    """``dashboard_build_info`` alone (single-process mode: the library reports the process)."""

    def collect(self) -> Iterable[Any]:
        return [build_info()]


def build_info() -> Any:
    from prometheus_client.core import GaugeMetricFamily

    family = GaugeMetricFamily("dashboard_build_info",
                               "Always 1: the version of dashboard this host runs.",
                               labels=["version"])
    family.add_metric([version()], 1.0)
    return family
