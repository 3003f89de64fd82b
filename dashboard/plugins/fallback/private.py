"""Files and directories only their owner can read: kept answers are the app's data.

Everything the fallback writes under ``runtime_dir`` is created ``0600`` (files) in a ``0700``
directory, whatever the process's umask (a umask can only take bits away; the mode is set again
after creation so an unusual one cannot leave the owner without access either).
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) as ``0600`` and write ``data`` to it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def touch_private(path: Path) -> None:
    """Create ``path`` as ``0600`` if it is missing, and set its mtime to now."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
        os.utime(descriptor)
    finally:
        os.close(descriptor)


def private_directory(directory: Path) -> None:
    """Make ``directory`` (and missing parents, also ``0700``) and leave it ``0700``."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o777 != DIR_MODE:
        os.chmod(directory, DIR_MODE)
