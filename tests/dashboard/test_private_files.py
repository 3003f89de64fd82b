"""``dashboard.private_files``: owner-only files and directories whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.private_files import open_private, private_dir, touch_private, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o000, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_directories_and_their_missing_parents_are_0700(tmp_path: Path, umask: int) -> None:
    leaf = private_dir(tmp_path / "a" / "b" / "c")
    assert leaf.is_dir()
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3


def test_an_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    """It may be the operator's (the working directory, a log directory)."""
    tmp_path.chmod(0o755)
    private_dir(tmp_path)
    assert mode(tmp_path) == 0o755


def test_files_are_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    os.close(open_private(tmp_path / "lock"))
    touch_private(tmp_path / "deep" / "store.sqlite3")
    write_private(tmp_path / "markers" / "42", b"x")
    assert mode(tmp_path / "lock") == 0o600
    assert mode(tmp_path / "deep" / "store.sqlite3") == 0o600
    assert mode(tmp_path / "deep") == 0o700
    assert (tmp_path / "markers" / "42").read_bytes() == b"x"
    assert mode(tmp_path / "markers" / "42") == 0o600


def test_a_file_left_readable_by_an_earlier_version_is_tightened(tmp_path: Path) -> None:
    old = tmp_path / "recovery.sqlite3"
    old.write_bytes(b"kept")
    old.chmod(0o644)
    touch_private(old)
    assert mode(old) == 0o600
    assert old.read_bytes() == b"kept"  # touching never truncates


def test_sqlite_gives_its_wal_and_shm_files_the_database_files_mode(tmp_path: Path) -> None:
    """Why creating the database file first is enough for SQLite."""
    previous = os.umask(0o022)
    try:
        database = touch_private(tmp_path / "history.sqlite3")
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
        connection.execute("INSERT INTO t VALUES (1)")
        connection.commit()
        files = sorted(p.name for p in tmp_path.iterdir())
        assert files == ["history.sqlite3", "history.sqlite3-shm", "history.sqlite3-wal"]
        assert {mode(tmp_path / name) for name in files} == {0o600}
        connection.close()
    finally:
        os.umask(previous)


def test_the_process_umask_is_never_changed(tmp_path: Path) -> None:
    """Other threads create files meanwhile: the umask is process-wide."""
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            current = os.umask(0o022)
            os.umask(current)
            seen.append(current)

    previous = os.umask(0o022)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for number in range(200):
            write_private(tmp_path / "d" / str(number))
    finally:
        stop.set()
        watcher.join()
        os.umask(previous)
    assert set(seen) == {0o022}
