"""Restarts executed while the history store was unreachable, kept until it answers again.

docs/plugins/recovery.md: an acknowledged override still executes during a store outage; it is
written to the audit log and to this spool, one JSON line per restart in ``runtime_dir``, and
replayed into
the store when the store answers again (by the background refresher of any worker).

Several processes share the file. Appends are one ``write`` on an ``O_APPEND`` descriptor under an
exclusive ``flock`` (as the audit log). A replay reads the lines under the lock, releases it while
it writes to the store (so an append never waits on the store), then takes the lock again to drop
exactly the lines it replayed. Replaying the same line twice (two workers at once, or a crash
between the two steps) is harmless: the store inserts a restart id only once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard import open_private, private_dir, utc_timestamp
from dashboard.plugins.recovery.schema import RestartRecord

SPOOL_NAME = "recovery-spool.jsonl"
logger = logging.getLogger("dashboard.recovery")


def record_line(record: RestartRecord) -> str:
    fields: dict[str, Any] = asdict(record)
    for name in ("requested_at", "completed_at"):
        value = fields[name]
        fields[name] = utc_timestamp(value) if value is not None else None
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def parse_line(line: str) -> RestartRecord:
    fields = json.loads(line)
    for name in ("requested_at", "completed_at"):
        value = fields[name]
        fields[name] = datetime.fromisoformat(value) if value is not None else None
    return RestartRecord(**fields)


class RestartSpool:
    """The spool file of one ``runtime_dir``."""

    def __init__(self, runtime_dir: Path) -> None:
        self.path = Path(runtime_dir) / SPOOL_NAME

    @contextmanager
    def _locked(self) -> Iterator[int]:
        private_dir(self.path.parent)
        descriptor = open_private(self.path, os.O_RDWR | os.O_APPEND)  # owner-only
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield descriptor
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def append(self, record: RestartRecord) -> None:
        data = (record_line(record) + "\n").encode()
        with self._locked() as descriptor:
            written = os.write(descriptor, data)
            if written != len(data):
                raise OSError(f"short write to the restart spool ({written}/{len(data)} bytes)")

    def pending(self) -> list[RestartRecord]:
        """Every spooled restart, oldest first; unreadable lines are skipped (and logged)."""
        if not self.path.exists():
            return []
        records = []
        for line in self._lines():
            try:
                records.append(parse_line(line))
            except (ValueError, TypeError, KeyError):
                logger.error("restart spool: a line is not a restart record; skipped")
        return records

    def _lines(self) -> list[str]:
        with self._locked() as descriptor:
            text = _read_all(descriptor)
        return [line for line in text.splitlines() if line.strip()]

    def replay(self, write: Callable[[list[RestartRecord]], object]) -> int:
        """Hand the spooled restarts to ``write`` (the store); on success drop them.

        ``write`` raising leaves the spool as it was. Returns how many records were replayed.
        """
        if not self.path.exists():
            return 0
        lines = self._lines()
        if not lines:
            return 0
        records = []
        for line in lines:
            try:
                records.append(parse_line(line))
            except (ValueError, TypeError, KeyError):
                logger.error("restart spool: a line is not a restart record; dropped")
        write(records)
        done = set(lines)
        with self._locked() as descriptor:  # rewritten in place: an appender may hold this inode
            remaining = [line for line in _read_all(descriptor).splitlines()
                         if line.strip() and line not in done]
            os.ftruncate(descriptor, 0)
            if remaining:
                os.write(descriptor, "".join(f"{line}\n" for line in remaining).encode())
        return len(records)


def _read_all(descriptor: int) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(descriptor, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")
