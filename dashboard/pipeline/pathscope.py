"""Wrappers that act on a few paths only, and how the host passes every other request by them.

Some wrappers act on their own paths and nothing else: health answers ``/health`` and its
probes, the admin API ``/admin/api/``, the fallback keeps and stands in for the report paths it
is given. For every other request each still costs a call and a look at ``PATH_INFO``, which on
a request that only pings the app is a large share of what the whole stack adds.

Such a wrapper may say so with a ``path_prefixes`` attribute: a tuple of prefixes that covers
every path it acts on (more is harmless: those requests simply reach it). It promises that a
request on any other path is passed to the app it wrapped untouched: the same ``environ`` and
``start_response``, and that app's body returned as it is.

The host builds the pipeline inside out. The run of such wrappers at the top of the pipeline
(outermost, right under the host's own layer) is known once it is built: a request whose path
starts with none of their prefixes goes straight to the layer below that run, one
``str.startswith`` instead of a call per wrapper. A wrapper below an unscoped one is called as
any other (its caller is fixed), so the shipped order lists the scoped plugins first.
"""

from __future__ import annotations

from typing import Any

from dashboard.types import WSGIApp

ATTRIBUTE = "path_prefixes"


def declared_prefixes(layer: Any) -> tuple[str, ...] | None:
    """The prefixes ``layer`` declares it acts on, or ``None`` for a wrapper that may act on
    any request. A declaration that is not a tuple of strings counts as none (the safe side)."""
    prefixes = getattr(layer, ATTRIBUTE, None)
    if type(prefixes) is not tuple or not all(type(p) is str for p in prefixes):
        return None
    return prefixes


class ScopedRun:
    """The run of scoped wrappers at the top of a pipeline being built inside out.

    :meth:`add` is given each layer as it is wrapped around the pipeline so far, and the
    pipeline it wrapped. Once the outermost is added, :attr:`prefixes` covers every path a
    wrapper of the top run acts on, and :attr:`below` is what a request on any other path is
    handed to.
    """

    def __init__(self, innermost: WSGIApp) -> None:
        self.below: WSGIApp = innermost
        self._run: list[tuple[str, ...]] = []  # each wrapper's prefixes, innermost first

    def add(self, layer: WSGIApp, wrapped: WSGIApp) -> None:
        if layer is wrapped:
            return  # the plugin added no layer
        prefixes = declared_prefixes(layer)
        if prefixes is None:  # an unscoped layer: the run starts again above it
            self.below = layer
            self._run = []
        else:
            self._run.append(prefixes)

    @property
    def prefixes(self) -> tuple[str, ...] | None:
        """Every top-run wrapper's prefixes, or ``None`` when the top layer is unscoped (there
        is nothing to pass by)."""
        if not self._run:
            return None
        return tuple(dict.fromkeys(prefix for prefixes in self._run for prefix in prefixes))
