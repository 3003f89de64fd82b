"""A real ``dashboard serve`` in a subprocess on a free port, for end-to-end tests.

The TOML given by a test is written to a file; ``runtime_dir`` and the SQLite database default to
the test's ``tmp_path`` so servers never share state. ``PYTHONPATH`` includes the repository root,
so test app factories (``tests.<...>.apps:create_app``) import in the workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running server: its URL, the master's pid, the config file and the captured log."""

    process: subprocess.Popen[bytes]
    port: int
    config_path: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def master_pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, **options: object) -> requests.Response:
        options.setdefault("timeout", 30)
        return requests.get(self.url + path, **options)  # type: ignore[arg-type]

    def stop(self, timeout: float = 30) -> int | None:
        """Graceful stop (SIGTERM), then SIGKILL if the master does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def write_config(tmp_path: Path, toml_text: str, port: int) -> Path:
    """Write the test's TOML, filling bind, runtime_dir and the SQLite path when it omits them."""
    text = textwrap.dedent(toml_text)
    data = tomllib.loads(text)
    extra = []
    dashboard = data.get("dashboard", {})
    server = data.get("server", {})
    database = data.get("database", {})
    lines = {"dashboard": [], "server": [], "database": []}
    if "runtime_dir" not in dashboard:
        lines["dashboard"].append(f'runtime_dir = "{tmp_path / "run"}"')
    if "bind" not in server:
        lines["server"].append(f'bind = "127.0.0.1:{port}"')
    if "url" not in database:
        lines["database"].append(f'url = "sqlite:///{tmp_path / "dashboard.db"}"')
    for section, additions in lines.items():
        if not additions:
            continue
        header = f"[{section}]"
        if header in text:
            text = text.replace(header, header + "\n" + "\n".join(additions), 1)
        else:
            extra.append(header + "\n" + "\n".join(additions))
    path = tmp_path / "resilience.toml"
    path.write_text("\n\n".join([*extra, text]) + "\n", encoding="utf-8")
    return path


def server_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without dashboard settings, plus the repository on the path."""
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("DASHBOARD", "DB_", "DATABASE_URL",
                                       "PROMETHEUS_MULTIPROC_DIR"))}
    full_env.update({"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                                 os.environ.get("PYTHONPATH")])),
                     "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    return full_env


def server_command(config_path: Path, workers: int, own_gunicorn: bool = False
                   ) -> tuple[list[str], dict[str, str]]:
    """``dashboard serve``, or the operator's own ``gunicorn -c python:dashboard.gunicorn_conf``
    (config path and workers then travel in the environment); returns (argv, extra env)."""
    if own_gunicorn:
        return ([sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf",
                 "dashboard.wsgi:app"],
                {"DASHBOARD_CONFIG": str(config_path),
                 "DASHBOARD__SERVER__WORKERS": str(workers)})
    return ([sys.executable, "-m", "dashboard", "serve", "--config", str(config_path),
             "--workers", str(workers)], {})


@contextlib.contextmanager
def gunicorn_server(tmp_path: Path, toml_text: str = "", *, env: Mapping[str, str] | None = None,
                    workers: int = 2, ready_path: str = "/api/reports",
                    start_timeout: float = 60, own_gunicorn: bool = False) -> Iterator[Server]:
    """Start ``dashboard serve`` (or, with ``own_gunicorn``, the operator's own gunicorn command)
    and wait until ``ready_path`` answers; stop it afterwards."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = write_config(tmp_path, toml_text, port)
    log_path = tmp_path / "server.log"
    argv, command_env = server_command(config_path, workers, own_gunicorn)
    full_env = server_env({**command_env, **(env or {})})
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, cwd=tmp_path, env=full_env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(process, port, config_path, log_path, full_env)
    try:
        _wait_until_serving(server, ready_path, start_timeout)
        yield server
    finally:
        server.stop()


def _wait_until_serving(server: Server, ready_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n"
                               f"{server.log_text()[-4000:]}")
        try:
            requests.get(server.url + ready_path, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server not serving after {timeout}s:\n{server.log_text()[-4000:]}")
