"""The kept answers of one host: one file per key in ``runtime_dir``, written atomically.

Why files and not SQLite: the only operations are "replace the answer for this key" (one writer
thread per worker, off the request path) and "read the answer for this key" (only when the answer
is already degraded). A file per key does both with one ``os.replace`` or one ``read``, shares
across the workers of a host for free (same directory), needs no locking (``os.replace`` is
atomic: a reader sees the old or the new answer, never half of one), and a corrupt entry damages
only itself. Recency is the file's mtime: writing an answer or standing in with it touches it, and
eviction drops the least recently touched first. The file format is
:mod:`dashboard.plugins.fallback.entries`.

Two bounds: ``max_entries`` for the host, and ``max_entries_per_path`` for the entries of one
path (its query strings and the ``Accept*`` values its answers vary on). A path at its bound
takes a *new* key only when that key is offered a second time (a doorkeeper, as in TinyLFU), and
then drops the path's least recently used entry: a flood of made-up query strings, each seen
once, neither fills the host's store nor pushes the path's real answers out.

The store is private (docs/plugins/fallback.md): its directory is ``0700`` and its files
``0600`` whatever the umask, since kept answers are the app's data.

Reads are asked for on every degraded answer of a covered path, which during an outage is every
request. So each process trusts what it last read for a key, or did not find, for
``recent_seconds`` (:data:`RECENT_SECONDS`): a flood of refused requests costs a dict lookup
each, not a file system call. What this process writes is seen at once; what another worker
writes, at most ``recent_seconds`` later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dashboard.plugins.fallback.entries import (
    GROUP_CHARS,
    SUFFIX,
    KeptAnswer,
    decode,
    encode,
    file_name,
    read_header,
)
from dashboard.plugins.fallback.private import private_directory, write_new_private

logger = logging.getLogger("dashboard.fallback")

__all__ = ["MAX_BODY_BYTES", "AnswerStore", "KeptAnswer", "StoreStats"]

MAX_BODY_BYTES = 1024 * 1024          # bodies over 1 MiB are not kept
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # the whole store, per host
RESCAN_SECONDS = 2.0                  # how stale the writer's view of the directory may get
STATS_SECONDS = 1.0
TEMP_MAX_AGE_SECONDS = 60.0           # a temp file older than this was left by a dead writer
RECENT_SECONDS = 1.0                  # how long a process trusts what it read for a key
_MAX_RECENT = 1024
_MAX_KNOCKS = 8192                    # new keys seen once at a full path, remembered


@dataclass(frozen=True)
class StoreStats:
    entries: int
    bytes: int
    oldest_stored_at: float | None


@dataclass
class _Entry:
    size: int
    used_at: float  # mtime: last write or stand-in


def _group(name: str) -> str:
    return name[:GROUP_CHARS + 1]


class AnswerStore:
    """Reads (any thread) and writes (one writer thread per process) the host's kept answers.

    Never raises into a request: a missing, corrupt or unreadable entry or directory reads as
    "nothing kept", and the first such problem of each kind is logged once per store.
    """

    def __init__(self, directory: Path, *, max_entries: int, max_per_path: int | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 recent_seconds: float = RECENT_SECONDS) -> None:
        self.directory = Path(directory)
        self.max_entries = max_entries
        self.max_per_path = max_per_path or max_entries
        self.max_bytes = max_bytes
        self.recent_seconds = recent_seconds
        self._recent: dict[str, tuple[float, KeptAnswer | None]] = {}
        self._index: dict[str, _Entry] = {}
        self._groups: dict[str, set[str]] = {}
        self._knocks: dict[str, None] = {}
        self._scanned_at = float("-inf")
        self._made_private = False
        self._stats: StoreStats | None = None
        self._stats_at = float("-inf")
        self._stats_lock = threading.Lock()
        self._logged: set[str] = set()

    # ---- names -----------------------------------------------------------------------------

    file_name = staticmethod(file_name)

    def path_for(self, key: str) -> Path:
        return self.directory / file_name(key)

    # ---- reading (request threads, only for degraded answers) ------------------------------

    def get(self, key: str) -> KeptAnswer | None:
        """The kept answer for ``key``, or ``None``, as read at most ``recent_seconds`` ago."""
        now = time.monotonic()
        recent = self._recent.get(key)
        if recent is not None and now - recent[0] < self.recent_seconds:
            return recent[1]
        answer = self.read(key)
        if len(self._recent) >= _MAX_RECENT:
            self._recent.clear()
        self._recent[key] = (now, answer)
        return answer

    def read(self, key: str) -> KeptAnswer | None:
        """The kept answer for ``key`` in its file, or ``None``; marks it used (LRU)."""
        path = self.path_for(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            self._log_once("unreadable", "fallback store unreadable (%s); treated as empty",
                           type(error).__name__)
            return None
        answer = decode(raw)
        if answer is None or answer.key != key:
            self._log_once("corrupt", "fallback store: a corrupt entry was ignored (%s)",
                           path.name)
            return None
        with contextlib.suppress(OSError):  # recency is best effort; the answer is fine
            os.utime(path)
        return answer

    # ---- writing (the writer thread) -------------------------------------------------------

    def put(self, answer: KeptAnswer) -> bool:
        """Replace the answer for its key atomically, then evict down to the bounds; ``False``
        when it was not written (too big, a new key at a full path seen once, or an error)."""
        encoded = encode(answer)
        if len(answer.body) > MAX_BODY_BYTES or len(encoded) > self.max_bytes:
            return False
        name = file_name(answer.key)
        self._refresh_index()
        if not self._admitted(name):
            return False
        temp = self.directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            if not self._made_private:
                private_directory(self.directory)
                self._made_private = True
            write_new_private(temp, encoded)
            os.replace(temp, self.directory / name)
            self._recent.pop(answer.key, None)
        except OSError as error:
            self._log_once("unwritable", "fallback store cannot be written (%s); answers are "
                           "not kept", type(error).__name__)
            _unlink(temp)
            return False
        self._add(name, _Entry(len(encoded), time.time()))
        self._evict(keep=name)
        return True

    def _admitted(self, name: str) -> bool:
        """A key already kept, or one its path has room for, is written; a new key at a full
        path only at its second offer (then the path's least recently used entry goes)."""
        if name in self._index:
            return True
        members = self._groups.get(_group(name))
        if members is None or len(members) < self.max_per_path:
            return True
        if name in self._knocks:  # its second offer
            del self._knocks[name]
            return True
        if len(self._knocks) >= _MAX_KNOCKS:
            self._knocks.clear()
        self._knocks[name] = None
        return False

    def _add(self, name: str, entry: _Entry) -> None:
        self._index[name] = entry
        self._groups.setdefault(_group(name), set()).add(name)

    def _drop(self, name: str) -> int:
        entry = self._index.pop(name)
        members = self._groups.get(_group(name))
        if members is not None:
            members.discard(name)
            if not members:
                del self._groups[_group(name)]
        _unlink(self.directory / name)
        return entry.size

    def _refresh_index(self) -> None:
        """Re-read the directory when the view is old: the other workers write here too."""
        now = time.monotonic()
        if now - self._scanned_at < RESCAN_SECONDS:
            return
        self._scanned_at = now
        index: dict[str, _Entry] = {}
        wall = time.time()
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    try:
                        info = entry.stat()
                    except OSError:
                        continue
                    if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                        index[entry.name] = _Entry(info.st_size, info.st_mtime)
                    elif entry.name.endswith(".tmp") and wall - info.st_mtime > \
                            TEMP_MAX_AGE_SECONDS:
                        _unlink(Path(entry.path))
        except OSError:
            return
        self._index = {}
        self._groups = {}
        for name, found in index.items():
            self._add(name, found)

    def _evict(self, keep: str) -> None:
        members = self._groups.get(_group(keep), set())
        if len(members) > self.max_per_path:
            by_use = sorted(members - {keep}, key=lambda n: self._index[n].used_at)
            for name in by_use[:len(members) - self.max_per_path]:
                self._drop(name)
        total = sum(entry.size for entry in self._index.values())
        if len(self._index) <= self.max_entries and total <= self.max_bytes:
            return
        for name in sorted(self._index, key=lambda n: self._index[n].used_at):
            if len(self._index) <= self.max_entries and total <= self.max_bytes:
                break
            if name == keep:
                continue
            total -= self._drop(name)

    # ---- health ----------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        """Entries, bytes and the oldest kept time, re-read at most once per ``STATS_SECONDS``."""
        with self._stats_lock:
            now = time.monotonic()
            if self._stats is None or now - self._stats_at >= STATS_SECONDS:
                self._stats = self._read_stats()
                self._stats_at = now
            return self._stats

    def _read_stats(self) -> StoreStats:
        entries = size = 0
        oldest: float | None = None
        try:
            with os.scandir(self.directory) as listing:
                for entry in listing:
                    if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
                        continue
                    try:
                        with open(entry.path, "rb") as handle:
                            head = handle.read(8192)
                        size += entry.stat().st_size
                    except OSError:
                        continue
                    header = read_header(head)
                    if header is None or file_name(header[0]) != entry.name:
                        continue
                    stored_at = header[1]
                    entries += 1
                    oldest = stored_at if oldest is None else min(oldest, stored_at)
        except FileNotFoundError:
            pass
        except OSError as error:
            self._log_once("unreadable", "fallback store unreadable (%s); treated as empty",
                           type(error).__name__)
        return StoreStats(entries, size, oldest)

    def _log_once(self, kind: str, message: str, *args: object) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            logger.warning(message, *args)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
