"""The multiprocess directory stays bounded across reloads, and no counter ever goes down.

``prometheus_client`` keeps one file per process and metric type (``counter_<pid>.db``,
``histogram_<pid>.db``, ``gauge_livesum_<pid>.db`` ...) and sums them on every scrape. A worker
that exits leaves its counter and histogram files behind: that keeps the totals honest, but every
reload adds a set, so after a few hundred reloads a scrape reads hundreds of files.

When the master reaps a worker (:func:`retire_process`), its counters and histograms are added
into one archive file per type (``counter_archive.db``, ``histogram_archive.db``, in the library's
own mmap format, which ``MultiProcessCollector`` reads like any other), its files are removed and
its live gauges dropped (``mark_process_dead``). The directory then holds the live processes'
files plus at most one archive per type, however many reloads happened.

Why a lock: a scrape must never see the dead worker's samples twice (archive already updated,
worker file not yet removed) or not at all (the other way round); either would make a counter
jump and then fall back. The new archive is written to a temporary file and swapped in with
``os.replace``; the swap and the removal happen under an exclusive ``flock`` that every scrape
holds shared while it reads. The master waits at most :data:`LOCK_WAIT_SECONDS` for it (a scrape
takes milliseconds) so a wedged worker can never stall the arbiter.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from dashboard.metrics.batch import FLUSH_SECONDS, flush_all
from dashboard.metrics.series import MULTIPROC_ENV
from dashboard.private_files import open_private, touch_private

LOCK_NAME = ".merge.lock"
ARCHIVE_PID = "archive"
LOCK_WAIT_SECONDS = 2.0
_ARCHIVED_TYPES = ("counter", "histogram", "summary")
#: How late another worker's buffered observations can reach a scrape: its flusher's beat.
SCRAPE_STALENESS_SECONDS = FLUSH_SECONDS
logger = logging.getLogger("dashboard.metrics")


def directory() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


@contextlib.contextmanager
def _locked(path: Path, operation: int, wait: float | None) -> Iterator[bool]:
    """``flock`` on the directory's lock file; yields whether it was taken (``wait`` bounds it)."""
    handle = open_private(path / LOCK_NAME)
    try:
        taken = False
        deadline = None if wait is None else time.monotonic() + wait
        while not taken:
            try:
                fcntl.flock(handle, operation | (fcntl.LOCK_NB if wait is not None else 0))
                taken = True
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
        yield taken
    finally:
        os.close(handle)  # closing releases the lock


def render_multiprocess() -> bytes:
    """The exposition text of every process's files, read under the shared lock, with every
    host process's readings (:mod:`dashboard.metrics.process`).

    No fixed wait: this process's buffered observations are written first, and the other
    workers write theirs on their own beat, every :data:`dashboard.metrics.batch.FLUSH_SECONDS`.
    So an observation another worker made less than :data:`SCRAPE_STALENESS_SECONDS` (100 ms)
    before the scrape may show in the next scrape instead: counts are never lost or counted
    twice, only that late, which is far below any scrape interval. (The scrape used to sleep
    two beats to be exact, and every scrape took over 200 ms.)
    """
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from dashboard.metrics.process import HostProcessCollector

    flush_all()
    path = directory()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path) if path else None)
    registry.register(HostProcessCollector(path))
    if path is None:
        return generate_latest(registry)
    with _locked(path, fcntl.LOCK_SH, None):
        return generate_latest(registry)


def retire_process(pid: int) -> None:
    """Fold a dead process's counters and histograms into the archives; drop its live gauges."""
    path = directory()
    if path is None or not path.is_dir():
        return
    from prometheus_client.multiprocess import mark_process_dead

    dead = {typ: path / f"{typ}_{pid}.db" for typ in _ARCHIVED_TYPES}
    dead = {typ: file for typ, file in dead.items() if file.exists()}
    staged = {typ: _stage_archive(path, typ, file) for typ, file in dead.items()}
    with _locked(path, fcntl.LOCK_EX, LOCK_WAIT_SECONDS) as taken:
        if not taken:
            logger.warning("metrics: a scrape held the lock for %.0fs; archiving pid %s anyway",
                           LOCK_WAIT_SECONDS, pid)
        for typ, file in dead.items():
            os.replace(staged[typ], path / f"{typ}_{ARCHIVE_PID}.db")
            file.unlink(missing_ok=True)
        mark_process_dead(pid, str(path))


def _stage_archive(path: Path, typ: str, dead_file: Path) -> Path:
    """Write archive + dead file, summed per sample, to a temporary file (not yet visible)."""
    from prometheus_client.mmap_dict import MmapedDict

    totals: dict[str, float] = {}
    for file in (path / f"{typ}_{ARCHIVE_PID}.db", dead_file):
        if not file.exists():
            continue
        for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(file)):
            totals[key] = totals.get(key, 0.0) + value
    staged = path / f".{typ}_{ARCHIVE_PID}.staged"  # no ".db": scrapes do not read it
    staged.unlink(missing_ok=True)
    archive = MmapedDict(str(touch_private(staged)))  # the library keeps an existing file's mode
    try:
        for key, value in totals.items():
            archive.write_value(key, value, 0.0)
    finally:
        archive.close()
    return staged


def process_files() -> list[str]:
    """The ``.db`` files a scrape reads now (tests and diagnostics)."""
    path = directory()
    return sorted(glob.glob(str(path / "*.db"))) if path else []
