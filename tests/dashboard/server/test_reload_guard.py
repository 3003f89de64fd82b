"""``SIGHUP`` with a broken config on disk: the master logs the problems at ERROR and keeps
serving with the workers it has, under ``dashboard serve`` and under the operator's own gunicorn.

Before, ``dashboard serve``'s master exited while re-reading the config (the port closed), and an
operator's gunicorn replaced its workers with ones that could not load the app.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.support.server import gunicorn_server

TOML = '[server]\ngraceful_timeout = 5\n[dashboard]\nplugins = ["health"]\n'


def _pid(server) -> int:  # type: ignore[no-untyped-def]
    return server.get("/health").json()["worker_pid"]


@pytest.mark.parametrize("own_gunicorn", [False, True], ids=["dashboard-serve", "own-gunicorn"])
def test_sighup_with_a_broken_config_keeps_serving(tmp_path: Path, own_gunicorn: bool) -> None:
    with gunicorn_server(tmp_path, TOML, workers=1, ready_path="/health",
                         own_gunicorn=own_gunicorn) as server:
        worker = _pid(server)
        good = server.config_path.read_text()
        server.config_path.write_text(good.replace("[database]", "[database]\npool_size = 0", 1))
        os.kill(server.master_pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "reload refused:" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = server.log_text()
        refused = [line for line in log.splitlines() if "reload refused, config invalid" in line]
        assert refused and all("[ERROR]" in line for line in refused), log[-3000:]
        assert refused[0].endswith("reload refused, config invalid: database.pool_size: "
                                   "must be >= 1 (from toml)"), refused
        assert server.process.poll() is None
        assert server.get("/health").status_code == 200
        assert _pid(server) == worker  # the old worker serves on: nothing was reloaded

        server.config_path.write_text(good)
        os.kill(server.master_pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        new_worker = worker
        while new_worker == worker and time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):  # workers changing hands
                new_worker = _pid(server)
            time.sleep(0.2)
        assert new_worker != worker  # a valid config reloads as before
        assert server.process.poll() is None
    assert "Traceback" not in server.log_text()
