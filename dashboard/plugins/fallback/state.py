"""The fallback of one host in one process: settings, the shared store, this worker's writer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from dashboard import CheckResult, StateKey, plain_number, series
from dashboard.plugins.fallback.identity import app_identity
from dashboard.plugins.fallback.keeper import Keeper
from dashboard.plugins.fallback.middleware import FallbackMiddleware, RequestFilter, WSGIApp
from dashboard.plugins.fallback.private import touch_private
from dashboard.plugins.fallback.settings import FallbackSettings
from dashboard.plugins.fallback.store import AnswerStore
from dashboard.plugins.fallback.writer import AnswerWriter

SECTION = "fallback"
STORE_DIR = "fallback"
MARKER = "standing-in"         # touched by every stand-in of any worker of the host
WARN_AFTER_STAND_IN_SECONDS = 60.0


class FallbackState:
    """Everything the hooks need; built from plain values so tests need no host.

    ``app_factory`` is the ``[dashboard]`` value naming the app: with a fingerprint of the app's
    code (:mod:`~dashboard.plugins.fallback.identity`, computed when the app is wrapped, once per
    worker) it starts every key, so kept answers are only ever served to the app that made them.
    """

    def __init__(self, settings: FallbackSettings, runtime_dir: Path,
                 wall: Callable[[], float], app_factory: str = "") -> None:
        self.settings = settings
        self.wall = wall
        self.app_factory = app_factory
        self.store = AnswerStore(Path(runtime_dir) / STORE_DIR, max_entries=settings.max_entries,
                                 max_per_path=settings.max_entries_per_path)
        self.keeper = Keeper(self.store, identity="")
        self.writer = AnswerWriter(self.keeper.keep)
        self.requests = RequestFilter(settings.paths)
        self.marker = self.store.directory / MARKER

    def wrap(self, app: WSGIApp) -> FallbackMiddleware:
        self.keeper.identity = app_identity(self.app_factory)
        return FallbackMiddleware(app, self.requests, offer=self.writer.offer,
                                  lookup=self.keeper.lookup,
                                  max_age_seconds=self.settings.max_age_seconds,
                                  wall=self.wall, on_stand_in=self.note_stand_in)

    def note_stand_in(self, code: str) -> None:
        with contextlib.suppress(Exception):  # metrics must never fail a stand-in
            series().stale_responses.labels(code=code).inc()
        with contextlib.suppress(OSError):
            touch_private(self.marker)

    def seconds_since_stand_in(self) -> float | None:
        try:
            return max(0.0, time.time() - self.marker.stat().st_mtime)
        except OSError:
            return None

    def check(self) -> CheckResult:
        stats = self.store.stats()
        now = self.wall()
        since = self.seconds_since_stand_in()
        standing_in = since is not None and since <= WARN_AFTER_STAND_IN_SECONDS
        return CheckResult(
            name=SECTION, status="warn" if standing_in else "pass",
            details={
                "entries": stats.entries, "bytes": stats.bytes,
                "max_entries": self.settings.max_entries,
                "oldest_age_seconds": (None if stats.oldest_stored_at is None
                                       else round(max(0.0, now - stats.oldest_stored_at), 1)),
                "max_age_seconds": plain_number(self.settings.max_age_seconds),
                "last_stand_in_seconds_ago": None if since is None else round(since, 1),
                "dropped_writes": self.writer.dropped,
            },
            degraded_reason="serving_stale_data" if standing_in else None)

    def close(self) -> None:
        self.writer.close()


FALLBACK = StateKey[FallbackState](SECTION)
