"""One runtime directory, one host; a runtime directory the host cannot use is one line, exit 2.

Real processes throughout: a running ``dashboard serve`` holds its ``runtime_dir``; a second
``dashboard serve`` or an operator's own gunicorn pointed at it refuses to start, without touching
the first host's metrics files or control socket. The unusable directories are real too: a path
through a regular file (``ENOTDIR``: refused even for root, who ignores ``chmod``), a read-only
tmpfs mount, and a full one.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.server.runtime_lock import LOCK_NAME
from tests.support.server import (
    free_port,
    gunicorn_server,
    server_command,
    server_env,
    write_config,
)

TOML = '[dashboard]\nplugins = ["health"]\n'


def start_and_fail(tmp_path: Path, runtime_dir: Path, own_gunicorn: bool = False
                   ) -> subprocess.CompletedProcess[str]:
    """Start a host on ``runtime_dir`` expecting it to refuse; its whole output."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = write_config(tmp_path, f'[dashboard]\nplugins = ["health"]\n'
                          f'runtime_dir = "{runtime_dir}"\n', free_port())
    argv, env = server_command(config, 1, own_gunicorn)
    return subprocess.run(argv, cwd=tmp_path, env=server_env(env), capture_output=True,
                          text=True, timeout=120)


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


@pytest.mark.parametrize("own_gunicorn", [False, True], ids=["dashboard-serve", "own-gunicorn"])
def test_a_second_host_on_the_same_runtime_dir_refuses_and_touches_nothing(
        tmp_path: Path, own_gunicorn: bool) -> None:
    with gunicorn_server(tmp_path / "first", TOML, workers=1, ready_path="/health") as first:
        runtime_dir = tmp_path / "first" / "run"
        assert first.get("/health").status_code == 200
        metrics_before = sorted(p.name for p in (runtime_dir / "metrics").iterdir())
        assert metrics_before  # the first host's workers write their samples there
        control = runtime_dir / "gunicorn.ctl"
        control_before = control.stat().st_ino if control.exists() else None

        result = start_and_fail(tmp_path / "second", runtime_dir, own_gunicorn)

        assert result.returncode == 2, result
        assert lines(result) == [
            f"dashboard.runtime_dir: {runtime_dir} is in use by another dashboard host "
            f"(pid {first.master_pid}); give each host its own runtime_dir"]
        assert sorted(p.name for p in (runtime_dir / "metrics").iterdir()) == metrics_before
        assert (control.stat().st_ino if control.exists() else None) == control_before
        assert first.get("/metrics").status_code == 200
        assert first.process.poll() is None


def test_a_lock_left_by_a_dead_host_is_taken_over(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir()
    (runtime_dir / LOCK_NAME).write_text(gone.stdout)  # no process holds a flock on it
    with gunicorn_server(tmp_path, TOML, workers=1, ready_path="/health") as server:
        assert (runtime_dir / LOCK_NAME).read_text().strip() == str(server.master_pid)
        assert server.get("/health").status_code == 200


def test_a_runtime_dir_through_a_regular_file_is_one_line_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be\n")
    result = start_and_fail(tmp_path / "host", blocker / "run")
    assert result.returncode == 2, result
    assert lines(result) == [f"dashboard.runtime_dir: {blocker / 'run'} cannot be created or "
                             "written (ENOTDIR: Not a directory)"]


@contextlib.contextmanager
def tmpfs(directory: Path, options: str) -> Iterator[Path]:
    """A real tmpfs mounted on ``directory`` (tests run as root in CI); skipped only where the
    machine does not allow mounting (then the ENOTDIR test still covers an unusable dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def test_a_read_only_runtime_dir_is_one_line_exit_2(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=1m") as read_only:
        result = start_and_fail(tmp_path / "host", read_only / "run")
    assert result.returncode == 2, result
    assert lines(result) == [f"dashboard.runtime_dir: {read_only / 'run'} cannot be created or "
                             "written (EROFS: Read-only file system)"]


def test_a_full_runtime_dir_is_refused_at_start_not_a_sigbus_loop(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "tiny", "size=64k") as tiny:
        result = start_and_fail(tmp_path / "host", tiny)
        assert not (tiny / "metrics").exists()
    assert result.returncode == 2, result
    [line] = lines(result)
    assert line.startswith(f"dashboard.runtime_dir: {tiny} has ") and "KiB free" in line, line
    assert "SIGBUS" in line


def test_check_reports_an_unusable_runtime_dir_as_one_line_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be\n")
    config = tmp_path / "c.toml"
    config.write_text(f'[dashboard]\nruntime_dir = "{blocker / "run"}"\n')
    result = subprocess.run([sys.executable, "-m", "dashboard", "check", "--config", str(config)],
                            cwd=tmp_path, env=server_env({}), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result
    assert lines(result) == [f"dashboard.runtime_dir: {blocker / 'run'} cannot be created or "
                             "written (ENOTDIR: Not a directory)"]


def test_check_passes_while_a_host_holds_the_runtime_dir(tmp_path: Path) -> None:
    with gunicorn_server(tmp_path, TOML, workers=1) as server:
        result = subprocess.run([sys.executable, "-m", "dashboard", "check", "--config",
                                 str(server.config_path)], cwd=tmp_path,
                                env=server_env({}), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
