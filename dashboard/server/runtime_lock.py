"""One runtime directory, one host: the gunicorn master holds a lock on ``runtime_dir``.

Two hosts sharing ``runtime_dir`` would share what must be one host's alone: the second one wipes
the Prometheus multiprocess files of the first (whose ``/metrics`` then reports the other's
counters) and takes over its ``gunicorn.ctl``. So the master takes an exclusive ``flock`` on
``runtime_dir/host.lock`` before it touches anything there, and writes its pid in the file for
the operator. The kernel drops the lock when the holder is gone (its workers inherit the open
file, so it lasts until the last of them exits), so a lock file left by a dead host holds nothing
and is simply taken over.

The same check refuses a directory the host could not use: one that cannot be created or
written (read-only mount, a path through a regular file, no permission) or that has less than
:data:`MIN_FREE_BYTES` free. The last one matters because the metrics files are memory-mapped:
on a full filesystem a write to a mapped page is not an error but ``SIGBUS``, and a worker that
dies of it is respawned only to die again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from pathlib import Path

from dashboard.private_files import open_private, private_dir

LOCK_NAME = "host.lock"
#: Free space ``runtime_dir`` must have at start: metrics files (64 KiB each, a few per worker
#: and series type), the restart-history SQLite file and its WAL, spools.
MIN_FREE_BYTES = 4 * 1024 * 1024


class RuntimeDirError(Exception):
    """``runtime_dir`` cannot be used by this host; ``str()`` is the one line to print."""


def hold_runtime_dir(directory: Path, min_free_bytes: int = MIN_FREE_BYTES) -> int:
    """Lock ``directory`` for this process (and the workers it forks); return the lock's fd.

    Raises :class:`RuntimeDirError` naming the directory, and the holder's pid when another
    live host has it.
    """
    directory = directory.absolute()
    where = f"dashboard.runtime_dir: {directory}"
    try:
        private_dir(directory)
        fd = open_private(directory / LOCK_NAME)
    except OSError as error:
        raise RuntimeDirError(f"{where} cannot be created or written "
                              f"({_reason(error)})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = _read_pid(fd)
        os.close(fd)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise RuntimeDirError(f"{where} cannot be locked ({_reason(error)})") from None
        raise RuntimeDirError(
            f"{where} is in use by another dashboard host (pid {holder or 'unknown'}); "
            "give each host its own runtime_dir") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        free = _free_bytes(directory)
    except OSError as error:
        os.close(fd)
        raise RuntimeDirError(f"{where} cannot be written ({_reason(error)})") from None
    if free < min_free_bytes:
        os.close(fd)
        raise RuntimeDirError(_too_full(where, free, min_free_bytes))
    return fd


def check_runtime_dir(directory: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """What ``dashboard check`` asks: could a host use ``directory``? (No lock is taken: a host
    running there is no reason for ``check`` to fail.) Raises :class:`RuntimeDirError`."""
    directory = directory.absolute()
    where = f"dashboard.runtime_dir: {directory}"
    try:
        private_dir(directory)
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b"x")
            probe.flush()
        free = _free_bytes(directory)
    except OSError as error:
        raise RuntimeDirError(f"{where} cannot be created or written "
                              f"({_reason(error)})") from None
    if free < min_free_bytes:
        raise RuntimeDirError(_too_full(where, free, min_free_bytes))


def _too_full(where: str, free: int, min_free_bytes: int) -> str:
    return (f"{where} has {free // 1024} KiB free; the host needs at least "
            f"{min_free_bytes // 1024} KiB there (its metrics files are memory-mapped: a full "
            "disk would kill workers with SIGBUS)")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def _reason(error: OSError) -> str:
    name = errno.errorcode.get(error.errno or 0, type(error).__name__)
    return f"{name}: {error.strerror}" if error.strerror else name
