"""Everything a real host writes under ``runtime_dir`` is owner-only whatever the umask: files
``0600``, directories ``0700`` (docs/api/configuration.md).

A real ``dashboard serve`` with all seven plugins (the breaker in cluster scope on the shared
Redis, under a key prefix of its own) is started under umask 022 and exercised: app requests,
answers the fallback keeps, health, metrics, an admin restart that writes the history, the
audit log and a new generation of workers. Then every entry of ``runtime_dir`` is checked, while
it runs and after it stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import requests

from dashboard.plugins.recovery.schema import RestartRecord
from dashboard.plugins.recovery.spool import RestartSpool
from tests.dashboard.plugins.recovery.support import (
    AUTH,
    ENV,
    restart,
    settled_workers,
    wait_for,
)
from tests.support.redisserver import SHARED_URL, own_namespace
from tests.support.server import gunicorn_server

PLUGINS = ["redaction", "breaker", "health", "recovery", "fallback", "admission", "degradation"]


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def loose_entries(directory: Path) -> dict[str, str]:
    """Every entry under ``directory`` (itself included) not owner-only, with its mode."""
    loose = {}
    for path in [directory, *directory.rglob("*")]:
        info = path.lstat()
        wanted = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        if stat.S_IMODE(info.st_mode) != wanted:
            loose[str(path.relative_to(directory))] = oct(stat.S_IMODE(info.st_mode))
    return loose


def test_a_serving_host_writes_only_private_files_under_runtime_dir(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with own_namespace() as prefix, umask(0o022):
        toml = f"""
            [dashboard]
            plugins = {json.dumps(PLUGINS)}
            [server]
            graceful_timeout = 5
            [plugins.breaker]
            scope = "cluster"
            redis_url = "{SHARED_URL}"
            redis_key_prefix = "{prefix}"
            [plugins.recovery]
            cooldown_seconds = 0
            watchdog_interval_seconds = 0.5
            audit_log = "{run / 'audit' / 'audit.jsonl'}"
        """
        with gunicorn_server(tmp_path, toml, env=ENV, workers=2) as server:
            first = settled_workers(server.url, 2)
            for path in ("/api/reports", "/api/reports/wip-by-workcenter",
                         "/api/reports/equipment-status", "/health", "/health/deep",
                         "/livez", "/readyz", "/metrics", "/"):
                assert server.get(path).status_code < 500, path
            assert requests.get(server.url + "/admin/api/system-status", headers=AUTH,
                                timeout=10).status_code == 200
            wait_for(lambda: list((run / "fallback").rglob("*")))  # an answer kept
            assert restart(server.url, reason="private files drill").status_code == 202
            settled_workers(server.url, 2, excluding=first)
            assert server.get("/api/reports/wip-by-workcenter").status_code == 200
            assert server.get("/metrics").status_code == 200
            names = {p.name for p in run.rglob("*")}
            for expected in ("host.lock", "recovery.sqlite3", "recovery.sqlite3-wal",
                             "audit.jsonl", "metrics", "breaker", "fallback", "seed.lock",
                             "syncer.lock", "gunicorn.ctl"):
                assert expected in names, (expected, sorted(names))
            assert loose_entries(run) == {}
        assert loose_entries(run) == {}  # and what the master wrote while stopping


def test_the_spool_of_restarts_made_during_a_store_outage_is_private(tmp_path: Path) -> None:
    spool = RestartSpool(tmp_path / "run")
    now = datetime.now(UTC)
    with umask(0o022):
        spool.append(RestartRecord(id="r1", host_key="h", requested_at=now, completed_at=now,
                                   source="manual", actor="admin", reason="drill",
                                   decision="executed", override=True))
    assert loose_entries(tmp_path / "run") == {}
