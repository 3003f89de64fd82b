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
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

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
            if hashed < MAX_HASHED_BYTES:
                data = path.read_bytes()
                hashed += len(data)
                digest.update(hashlib.sha256(data).digest())
            else:
                info = path.stat()
                digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:IDENTITY_CHARS]


def source_files(top: str) -> Iterator[tuple[str, Path]]:
    """``(relative name, path)`` of each source file of the top-level module ``top``, sorted;
    nothing when it cannot be found (then the identity is ``app_factory`` alone)."""
    roots = _locations(top)
    files: list[tuple[str, Path]] = []
    for root in roots:
        if root.is_file():
            files.append((root.name, root))
            continue
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = [d for d in subdirectories
                                 if d != "__pycache__" and not d.startswith(".")]
            for name in names:
                if name.endswith(".py"):
                    path = Path(directory, name)
                    files.append((str(path.relative_to(root)), path))
            if len(files) > MAX_FILES:
                break
    return iter(sorted(files)[:MAX_FILES])


def _locations(top: str) -> list[Path]:
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
        return [Path(location) for location in search]
    return [Path(origin)] if origin and origin.endswith(".py") else []
