"""Which app a kept answer belongs to: ``app_factory`` and a fingerprint of the app's code.

Every key starts with this identity, so after ``app_factory`` names another app, or the app's code
changes, none of the answers kept before is ever found again (they age out of the store like any
unused entry). What counts as the app's code (docs/host-your-own-app.md):

* the app's *top-level* package or module: for ``app_factory = "shop.web:create_app"`` that is
  ``shop``: every ``*.py`` file under the package's directories (``__pycache__`` and hidden
  directories left out), or the one ``shop.py``;
* each file by its path relative to the package and its bytes (past :data:`MAX_HASHED_BYTES` in
  all, the remaining files count by size and modification time instead, so a huge package still
  costs milliseconds);
* nothing else: templates, data files and installed libraries do not count.

It is computed once per worker, when the fallback wraps the app (after the app was imported).
A file's digest is remembered in the process by its path, size and modification time, so a
process that builds many hosts (a test suite) reads each file once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator

IDENTITY_CHARS = 16
MAX_HASHED_BYTES = 32 * 1024 * 1024
MAX_FILES = 20_000


def app_identity(app_factory: str) -> str:
    """A short hex digest of ``app_factory`` and its top-level package's source files."""
    digest = hashlib.sha256(app_factory.encode("utf-8", "surrogatepass") + b"\0")
    hashed = 0
    for relative, path in source_files(app_factory.partition(":")[0].split(".")[0]):
        digest.update(relative.encode("utf-8", "surrogatepass") + b"\0")
        try:
            info = os.stat(path)
            if hashed < MAX_HASHED_BYTES:
                hashed += info.st_size
                digest.update(_content_digest(path, info.st_size, info.st_mtime_ns))
            else:
                digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:IDENTITY_CHARS]


@functools.lru_cache(maxsize=8192)
def _content_digest(path: str, size: int, mtime_ns: int) -> bytes:
    """The SHA-256 of a file's bytes, remembered while its size and mtime stay the same."""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).digest()


def source_files(top: str) -> Iterator[tuple[str, str]]:
    """``(relative name, path)`` of each source file of the top-level module ``top``, sorted;
    nothing when it cannot be found (then the identity is ``app_factory`` alone). Plain strings
    and ``os.walk``: this runs at every worker's start."""
    files: list[tuple[str, str]] = []
    for root in _locations(top):
        if os.path.isfile(root):
            files.append((os.path.basename(root), root))
            continue
        start = len(os.path.join(root, ""))
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = [d for d in subdirectories
                                 if d != "__pycache__" and not d.startswith(".")]
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    files.append((path[start:], path))
            if len(files) > MAX_FILES:
                break
    return iter(sorted(files)[:MAX_FILES])


def _locations(top: str) -> list[str]:
    module = sys.modules.get(top)
    search = getattr(module, "__path__", None) if module is not None else None
    origin = getattr(module, "__file__", None) if module is not None else None
    if module is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return []
        if spec is None:
            return []
        search, origin = spec.submodule_search_locations, spec.origin
    if search is not None:
        return [str(location) for location in search]
    return [origin] if origin and origin.endswith(".py") else []
