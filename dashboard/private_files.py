"""Owner-only runtime files: what the host writes under ``runtime_dir`` is ``0600`` (files) and
``0700`` (directories) whatever the process's umask (docs/api/configuration.md).

Kept answers, the restart history, the spool, breaker blocks, metrics samples and locks can hold
users' data, operators' reasons or state another local user could tamper with; the usual umask
(022) would make them world-readable. So every creation site asks for the mode explicitly and
then sets it with ``fchmod``/``chmod``: a mode given to ``open``/``mkdir`` is only ever narrowed by
the umask (a umask of 0277 would leave a file the owner cannot write), never widened, and the
process umask itself is not touched (it is process-wide: changing it, even briefly, would change
the files every other thread creates meanwhile).

Files a library creates itself are made here first, private, and then opened by the library:
SQLite gives its ``-wal``/``-shm``/journal files the database file's own mode, and
``prometheus_client`` opens an existing sample file as it is.

An existing file with any other mode (left by an earlier version) is made ``0600`` when it is
opened here, provided this process owns it; one owned by someone else is left alone.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a directory, made with any missing parents, each ``0700``. Returns ``path``.

    A directory that exists already is left as it is: it may be the operator's (the working
    directory, ``/var/log/...``), and the files the host puts in it are private anyway."""
    directory = Path(path)
    missing = []
    probe = directory
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            created.mkdir(PRIVATE_DIR_MODE)
    for made in missing:
        _tighten(made, PRIVATE_DIR_MODE)
    return directory


def open_private(path: str | os.PathLike[str], flags: int = os.O_RDWR) -> int:
    """``os.open(path, flags | O_CREAT | O_CLOEXEC)`` with the file ``0600`` (made so if it has
    any other mode and this process owns it); the parent directory must exist."""
    fd = os.open(path, flags | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    try:
        status = os.fstat(fd)
        if stat.S_IMODE(status.st_mode) != PRIVATE_FILE_MODE and status.st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def touch_private(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` exist as a private file (its parent private too, when missing) without
    changing its content: for a file a library opens afterwards. Returns ``path``."""
    file = Path(path)
    if not file.parent.is_dir():
        private_dir(file.parent)
    os.close(open_private(file, os.O_WRONLY))
    return file


def write_private(path: str | os.PathLike[str], data: bytes = b"") -> Path:
    """Replace ``path``'s content with ``data``, the file private (markers, small records)."""
    file = Path(path)
    if not file.parent.is_dir():
        private_dir(file.parent)
    fd = open_private(file, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    return file


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        status = path.stat()
        if stat.S_IMODE(status.st_mode) != mode and status.st_uid == os.geteuid():
            path.chmod(mode)
