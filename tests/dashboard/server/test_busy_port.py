"""A port another process listens on: ``dashboard serve`` exits 2 with one line, at once.

Before, gunicorn retried five times, logged each, and exited 1 (no documented code).
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.server import server_command, server_env, write_config


@pytest.mark.parametrize("own_gunicorn", [False, True], ids=["dashboard-serve", "own-gunicorn"])
def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, own_gunicorn: bool) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        config = write_config(tmp_path, '[dashboard]\nplugins = ["health"]\n', port)
        argv, env = server_command(config, 1, own_gunicorn)
        result = subprocess.run(argv, cwd=tmp_path, env=server_env(env), capture_output=True,
                                text=True, timeout=120)
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2, result
    assert output == [f"server.bind: 127.0.0.1:{port} is already in use by another process "
                      "(from toml); stop it or choose another address"]
