"""``dashboard check`` says which engines the host builds and whether the app's are adopted
(docs/host-your-own-app.md), run as an operator runs it: in the app's working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.dashboard.hosting.apps import PLAIN_APP
from tests.support.server import server_env


def check(cwd: Path, toml: str | None, **env: str) -> list[str]:
    """The ``engines:`` lines of ``dashboard check`` in ``cwd``, after asserting it passed."""
    argv = [sys.executable, "-m", "dashboard", "check"]
    if toml is not None:
        (cwd / "resilience.toml").write_text(toml, encoding="utf-8")
        argv += ["--config", "resilience.toml"]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=server_env({"APP_DB_URL": "postgresql+psycopg://u@h/app", **env}))
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if line.startswith("engines:")]


def test_no_url_no_host_engine_and_app_engines_adopted(tmp_path: Path) -> None:
    (tmp_path / "plainapp.py").write_text(PLAIN_APP, encoding="utf-8")
    toml = f'[dashboard]\napp_factory = "plainapp:app"\nruntime_dir = "{tmp_path / "run"}"\n'
    assert check(tmp_path, toml) == [
        "engines: host builds none ([database].url is unset: no engine and no database file "
        "of the host's own)",
        "engines: app engines adopted (adopt = true): every SQLAlchemy engine the app creates "
        "runs with [database]'s bounds and timeouts"]
    off = check(tmp_path, toml, DASHBOARD__DATABASE__ADOPT="false")
    assert off[1] == ("engines: app engines not adopted (adopt = false): the app's own "
                      "engines keep their own settings")
    assert not list(tmp_path.rglob("*.db")), "check creates no database file"


def test_the_hosts_own_engine_is_named_with_its_url_masked(tmp_path: Path) -> None:
    toml = (f'[dashboard]\nruntime_dir = "{tmp_path / "run"}"\n[database]\n'
            'url = "postgresql+psycopg://mes:s3cr3t-pw@db.internal/mes"\nadopt = false\n')
    lines = check(tmp_path, toml)
    assert lines[0] == ('engines: host builds "default" from [database].url: '
                        "postgresql+psycopg://mes:***@db.internal/mes")
    assert "not adopted (adopt = false)" in lines[1]


def test_no_config_at_all_is_the_demo_on_its_embedded_sqlite(tmp_path: Path) -> None:
    lines = check(tmp_path, None, DASHBOARD__DASHBOARD__RUNTIME_DIR=str(tmp_path / "run"))
    assert lines[0] == ('engines: host builds "default" from the demo app\'s embedded SQLite '
                        "default: sqlite:///var/dashboard.db")
