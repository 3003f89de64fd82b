"""The audit log: one JSON line per restart request (accepted or refused), per automatic or
crash restart, and per operator override of the circuit breaker (``breaker_*`` events).

Several processes append to the same file (every worker, the gunicorn master's watchdog and crash
observer). Each record is written with a single ``write`` on a descriptor opened with
``O_APPEND``, under an exclusive ``flock``: lines never interleave, even for records longer than
the pipe-atomicity size or on file systems where ``O_APPEND`` alone is not enough. Nothing secret
goes in: the record has a fixed set of fields and the admin token is never one of them.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from dashboard import open_private, private_dir, utc_timestamp


@dataclass(frozen=True)
class AuditRecord:
    """The fields docs/api/admin.md names, in that order."""

    timestamp: datetime
    event: str
    actor: str
    remote_addr: str | None
    reason: str | None
    override: bool
    acknowledge: bool
    policy_state: str
    decision: str
    restart_id: str | None

    def line(self) -> bytes:
        fields = asdict(self)
        fields["timestamp"] = utc_timestamp(self.timestamp)
        return (json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


@dataclass(frozen=True)
class BreakerAuditRecord(AuditRecord):
    """A ``breaker_force_open`` / ``breaker_disable`` / ``breaker_reset`` line: the restart
    record's fields (``override`` false, ``restart_id`` null), then what the override did."""

    duration_seconds: int | None = None
    scope: str | None = None
    expires_at: str | None = None  # RFC 3339 UTC, as the admin answer gives it


class AuditLog:
    """Appends :class:`AuditRecord` lines to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: AuditRecord) -> None:
        private_dir(self.path.parent)
        data = record.line()
        descriptor = open_private(self.path, os.O_WRONLY | os.O_APPEND)  # owner-only
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                written = os.write(descriptor, data)
                if written != len(data):  # a short write would break the one-line promise
                    raise OSError(f"short write to the audit log ({written}/{len(data)} bytes)")
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def records(self) -> list[dict[str, object]]:
        """Every record so far (operators and tests)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
