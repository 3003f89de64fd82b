"""Running an example app as its operator would: ``dashboard serve --config hosted.toml`` from the
example's directory, under real gunicorn, with PostgreSQL behind the fault proxy.

The example directory is copied to the test's ``tmp_path`` first (the server writes ``var/`` in
its working directory, and tests run side by side); nothing is added to ``PYTHONPATH``: the app
is importable only because the host makes the working directory importable, as gunicorn does.
The example's own TOML is used unchanged; the test only picks the port (``--bind``), one worker
(``--workers 1``, so pools and locks are counted in one process) and the app's database URLs in
the app's own environment variables.

Also here: a real lock held by a second connection, waiting for the app's backends to wait on
it (an event read from ``pg_stat_activity``, not a sleep), and a real deadlock between the
app's transaction and the test's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from tests.conftest import PG_ADMIN_URL
from tests.support.server import Server, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "examples"
#: The example TOMLs' bounds (asserted against the files by the tests).
CONNECT_TIMEOUT = 2
CALL_TIMEOUT_S = 3.0
POOL_TIMEOUT = 1
POOL_SIZE = 3


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target,
                    ignore=shutil.ignore_patterns("var", "__pycache__", "*.egg-info"))
    return target


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any dashboard setting and without ``PYTHONPATH``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DASHBOARD", "DB_", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR",
                                  "PYTHONPATH", "PYTEST_", "FLASK_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


@contextlib.contextmanager
def hosted(example_dir: Path, env: dict[str, str], start_timeout: float = 60) -> Iterator[Server]:
    """``dashboard serve --config hosted.toml`` in ``example_dir``, until it answers ``/livez``."""
    port = free_port()
    log_path = example_dir / "server.log"
    argv = [sys.executable, "-m", "dashboard", "serve", "--config", "hosted.toml",
            "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    full_env = clean_env(env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=example_dir, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, example_dir / "hosted.toml", log_path, full_env)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n"
                                   f"{server.log_text()[-4000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(server.url + "/livez", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"not serving after {start_timeout} s:\n"
                                   f"{server.log_text()[-4000:]}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run one of the example's own commands (``init-db``) in its directory."""
    result = subprocess.run(argv, cwd=cwd, env=clean_env(env), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextlib.contextmanager
def databases(count: int) -> Iterator[list[str]]:
    """``count`` fresh PostgreSQL databases (names), dropped afterwards."""
    names = [f"ex_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield names
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def lock_waiters(url: str, database: str) -> int:
    """Backends of ``database`` waiting on a lock right now."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                "AND wait_event_type = 'Lock'"), {"db": database}).scalar_one())
    finally:
        engine.dispose()


@contextlib.contextmanager
def holding(url: str, *statements: str) -> Iterator[Connection]:
    """A second connection that ran ``statements`` in a transaction it keeps open (its locks
    held) until the block ends, then rolls back."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            for statement in statements:
                connection.execute(text(statement))
            try:
                yield connection
            finally:
                if transaction.is_active:
                    transaction.rollback()
    finally:
        engine.dispose()


def in_thread(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call`` in a thread; returns a function waiting for (and giving) its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as error:  # handed to the waiting test
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def result(timeout: float = 60) -> Any:
        thread.join(timeout)
        assert not thread.is_alive(), "the request never ended"
        if "error" in box:
            raise box["error"]
        return box["result"]

    return result


def timed(server: Server, method: str, path: str, **options: Any
          ) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, server.url + path, timeout=60, **options)
    return response, time.monotonic() - started


def assert_contract(response: requests.Response, code: str, status: int,
                    retry_after: int | None = None) -> None:
    """A contract error envelope (never an HTML page), with its ``Retry-After``."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert body["error"]["retryable"] is True
    assert response.headers["Retry-After"] == str(body["meta"]["retry_after_seconds"])
    if retry_after is not None:
        assert response.headers["Retry-After"] == str(retry_after)


def assert_clean_log(server: Server) -> None:
    """No traceback and no HTML error page in the log at INFO."""
    log = server.log_text()
    assert "Traceback" not in log, log[-4000:]
    assert "Internal Server Error" not in log, log[-4000:]


def breaker_state(server: Server) -> str:
    return str(server.get("/health").json()["checks"]["breaker"]["state"])


def successes(server: Server, path: str, count: int = 8) -> None:
    """Answers that complete, so the breaker's window holds more successes than failures."""
    for _ in range(count):
        assert server.get(path).status_code == 200
