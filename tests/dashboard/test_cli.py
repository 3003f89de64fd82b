"""The ``dashboard`` command as operators run it: real subprocesses, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select

from dashboard.reports.schema import daily_output, lots
from tests.support.server import REPO_ROOT, free_port, write_config


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DASHBOARD", "DB_", "DATABASE_URL"))}
    return subprocess.run([sys.executable, "-m", "dashboard", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**clean, **(env or {})})


def test_plugins_lists_enabled_plugins_in_pipeline_order(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[dashboard]\nplugins = ["health", "redaction", "breaker"]\n')
    result = run_cli("plugins", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [line.split()[1] for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert names == ["health", "redaction", "breaker"]
    assert "1. health 0.1.0" in result.stdout
    assert "dashboard_settings_model" in result.stdout


def test_plugins_with_invalid_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[dashboard]\nplugins = ["nope"]\n')
    result = run_cli("plugins", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("dashboard.plugins: unknown plugin 'nope'")


def test_init_db_seeds_postgresql_once(tmp_path: Path, pg_url: str) -> None:
    first = run_cli("init-db", cwd=tmp_path, env={"DATABASE_URL": pg_url})
    second = run_cli("init-db", cwd=tmp_path, env={"DATABASE_URL": pg_url})
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "created and seeded" in first.stdout and "already seeded" in second.stdout
    engine = create_engine(pg_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(lots)).scalar_one() == 4000
        assert connection.execute(select(func.count()).select_from(daily_output)
                                  ).scalar_one() > 1000
    engine.dispose()


def test_init_db_on_unreachable_database_exits_2_without_secrets(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://mes:Pw-9f8e7d@127.0.0.1:{free_port()}/mes"
    result = run_cli("init-db", cwd=tmp_path, env={"DATABASE_URL": url,
                                                   "DB_CONNECT_TIMEOUT": "2"})
    assert result.returncode == 2
    assert result.stderr.startswith("database.url: cannot initialise the database")
    assert "Pw-9f8e7d" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_operators_own_gunicorn_command_serves_the_same_pipeline(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, "[server]\nworkers = 1\n", port)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DASHBOARD", "DB_", "DATABASE_URL", "PROMETHEUS"))}
    env.update({"DASHBOARD_CONFIG": str(config), "PYTHONPATH": str(REPO_ROOT)})
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf",
         "dashboard.wsgi:app"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        response = None
        for _ in range(300):
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/reports/nope", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.1)
        assert response is not None
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
        assert response.headers["X-Request-ID"]
    finally:
        process.terminate()
        process.wait(30)
        log.close()
    assert process.returncode == 0
    assert (tmp_path / "run" / "metrics").is_dir()
