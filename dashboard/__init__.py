"""dashboard: a plugin-based WSGI host that keeps a database-backed app serving, honestly degraded.

Plugin authors need :data:`hookimpl` and, for per-host state, :class:`StateKey`; the hooks
themselves are documented in :mod:`dashboard.hooks.specs`.
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

from dashboard.types import StateKey

PROJECT_NAME = "dashboard"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

try:
    __version__ = version(PROJECT_NAME)
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["PROJECT_NAME", "StateKey", "__version__", "hookimpl", "hookspec"]
