"""The fallback's files are owner-only: kept answers are the app's data.

Everything the fallback writes under ``runtime_dir`` is ``0600`` (files) in a ``0700`` directory
whatever the process's umask, through the host's helpers (``dashboard.open_private`` and
``private_dir``, see docs/api/configuration.md). Its own directory is tightened too when an
earlier version left it wider.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from dashboard import open_private, private_dir

DIR_MODE = 0o700


def write_new_private(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist: a temp file) as ``0600`` and write ``data``."""
    descriptor = open_private(path, os.O_WRONLY | os.O_EXCL)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view):]
    finally:
        os.close(descriptor)


def touch_private(path: Path) -> None:
    """Create ``path`` as ``0600`` if it is missing, and set its mtime to now."""
    descriptor = open_private(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.utime(descriptor)
    finally:
        os.close(descriptor)


def private_directory(directory: Path) -> None:
    """Make ``directory`` (and missing parents) ``0700``, and tighten it if it was wider."""
    private_dir(directory)
    with contextlib.suppress(OSError):
        status = directory.stat()
        if stat.S_IMODE(status.st_mode) != DIR_MODE and status.st_uid == os.geteuid():
            directory.chmod(DIR_MODE)
