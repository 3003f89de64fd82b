"""Bad configurations never start anything: exit 2, one line per problem, key and source named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main

# (TOML text, environment, a fragment every problem line must show: key path and source)
BAD_CONFIGS: list[tuple[str, str, dict[str, str], list[str]]] = [
    ("toml syntax", "[database\nurl = 1", {}, ["invalid TOML", "line 1"]),
    ("duplicate key", "[server]\nworkers = 1\nworkers = 2", {}, ["invalid TOML"]),
    ("pool size zero", "[database]\npool_size = 0", {},
     ["database.pool_size: must be >= 1", "got 0", "from toml"]),
    ("negative overflow", "[database]\nmax_overflow = -1", {},
     ["database.max_overflow: must be >= 0", "from toml"]),
    ("pool timeout zero", "[database]\npool_timeout = 0", {},
     ["database.pool_timeout: must be > 0"]),
    ("call timeout negative", "[database]\ncall_timeout_ms = -5", {},
     ["database.call_timeout_ms: must be >= 1"]),
    ("pool size wrong type", '[database]\npool_size = "five"', {},
     ["database.pool_size: must be a whole number", "'five'", "from toml"]),
    ("pre ping not bool", '[database]\npool_pre_ping = "maybe"', {},
     ["database.pool_pre_ping: must be true or false"]),
    ("bad url", '[database]\nurl = "not a url"', {}, ["database.url: is not a SQLAlchemy URL"]),
    ("unknown key", "[database]\npool_sise = 3", {}, ["database.pool_sise: unknown key",
                                                     "from toml"]),
    ("unknown section", "[databse]\nurl = 'sqlite://'", {}, ["databse: unknown section"]),
    ("bad environment", '[dashboard]\nenvironment = "prod"', {},
     ["dashboard.environment: must be one of", "from toml"]),
    ("unknown plugin listed", '[dashboard]\nplugins = ["breaker", "brekaer"]', {},
     ["dashboard.plugins: unknown plugin 'brekaer'", "installed:", "breaker", "health"]),
    ("plugin listed twice", '[dashboard]\nplugins = ["health", "health"]', {},
     ["dashboard.plugins: lists 'health' more than once"]),
    ("table for a plugin not installed", "[plugins.breakr]\nopen_seconds = 1", {},
     ["plugins.breakr: no installed plugin named 'breakr'", "installed:"]),
    ("unknown key in plugin table", "[plugins.breaker]\nopen_secs = 1", {},
     ["plugins.breaker.open_secs: unknown key", "from toml"]),
    ("bad value in an inactive plugin", '[dashboard]\nplugins = []\n[plugins.health]\n'
     "memo_ttl_seconds = -1", {}, ["plugins.health.memo_ttl_seconds: must be >= 0"]),
    ("breaker threshold above 1", "[plugins.breaker]\nfailure_rate_threshold = 1.5", {},
     ["plugins.breaker.failure_rate_threshold: must be <= 1"]),
    ("app factory not module:callable", '[dashboard]\napp_factory = "dashboard.reports"', {},
     ["dashboard.app_factory: must look like 'package.module:callable'"]),
    ("app factory module missing", '[dashboard]\napp_factory = "nowhere.at_all:make"', {},
     ["dashboard.app_factory: cannot import module 'nowhere.at_all'", "from toml"]),
    ("app factory attribute missing", '[dashboard]\napp_factory = "dashboard.reports:nope"', {},
     ["dashboard.app_factory: module 'dashboard.reports' has no attribute 'nope'"]),
    ("env pool size zero", "", {"DB_POOL_SIZE": "0"},
     ["database.pool_size: must be >= 1 (got '0', from env DB_POOL_SIZE)"]),
    ("env pool size not a number", "", {"DB_POOL_SIZE": "lots"},
     ["database.pool_size: must be a whole number", "from env DB_POOL_SIZE"]),
    ("env call timeout", "", {"DB_CALL_TIMEOUT_MS": "0"},
     ["database.call_timeout_ms: must be >= 1", "from env DB_CALL_TIMEOUT_MS"]),
    ("env environment", "", {"DASHBOARD_ENV": "qa"},
     ["dashboard.environment: must be one of", "from env DASHBOARD_ENV"]),
    ("env database url", "", {"DATABASE_URL": "::::"}, ["database.url:", "from env DATABASE_URL"]),
    ("generic env bad value", "", {"DASHBOARD__PLUGINS__BREAKER__OPEN_SECONDS": "soon"},
     ["plugins.breaker.open_seconds: must be a number",
      "from env DASHBOARD__PLUGINS__BREAKER__OPEN_SECONDS"]),
    ("generic env unknown key", "", {"DASHBOARD__SERVER__WORKRES": "3"},
     ["server.workres: unknown key", "from env DASHBOARD__SERVER__WORKRES"]),
    ("generic env malformed", "", {"DASHBOARD__SERVER": "3"},
     ["DASHBOARD__SERVER: expected DASHBOARD__<SECTION>__<KEY>"]),
    ("bad bind", '[server]\nbind = "localhost"', {}, ["server.bind: must be HOST:PORT"]),
    ("zero workers", "[server]\nworkers = 0", {}, ["server.workers: must be >= 1"]),
    ("plugins not a table", "plugins = 3", {}, ["plugins: must be a table"]),
    ("warning above critical", "[plugins.health]\npool_saturation_warning = 0.9\n"
     "pool_saturation_critical = 0.5", {}, ["plugins.health: pool_saturation_warning must be"]),
    ("postgres scheme", '[database]\nurl = "postgres://u@h/db"', {},
     ["database.url: uses the dialect 'postgres'; SQLAlchemy calls it 'postgresql'"]),
    ("driver not installed names the extra", '[database]\nurl = "mysql+mysqldb://u@h/db"', {},
     ["database.url: needs the database driver 'mysqldb'", "pip install 'dashboard[mysql]'"]),
    ("unknown dialect", '[database]\nurl = "nosuchdb://u@h/db"', {},
     ["database.url: names an unknown database dialect 'nosuchdb'"]),
    ("store url port not a number", '[plugins.recovery]\nstore_url = "postgresql://u@h:np/d"', {},
     ["plugins.recovery.store_url: is not a SQLAlchemy URL"]),
    ("infinite cooldown", "[plugins.recovery]\ncooldown_seconds = inf", {},
     ["plugins.recovery.cooldown_seconds: must be a finite number"]),
    ("nan pool timeout", "[database]\npool_timeout = nan", {},
     ["database.pool_timeout: must be a finite number"]),
    ("cooldown above a day", "[plugins.recovery]\ncooldown_seconds = 90000", {},
     ["plugins.recovery.cooldown_seconds: must be <= 86400"]),
    ("bind host with spaces", '[server]\nbind = "my host:80"', {},
     ["server.bind: must be HOST:PORT"]),
    ("env list not json", "", {"DASHBOARD__DASHBOARD__PLUGINS": "[health"},
     ["dashboard.plugins: must be a JSON array or a comma-separated list",
      "from env DASHBOARD__DASHBOARD__PLUGINS"]),
]


@pytest.mark.parametrize(("toml", "env", "expected"),
                         [case[1:] for case in BAD_CONFIGS], ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_exits_2_naming_key_and_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        toml: str, env: dict[str, str], expected: list[str]) -> None:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "resilience.toml"
    config.write_text(toml, encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    for fragment in expected:
        assert fragment in captured.err, captured.err


def test_corpus_is_large_enough() -> None:
    assert len(BAD_CONFIGS) >= 20


def test_missing_and_unreadable_config_files(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml: config file not found" in capsys.readouterr().err
    directory = tmp_path / "a-directory.toml"
    directory.mkdir()
    assert main(["check", "--config", str(directory)]) == 2
    expected = "a-directory.toml: cannot read config file (IsADirectoryError)"
    assert expected in capsys.readouterr().err


def test_every_problem_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    config = tmp_path / "resilience.toml"
    config.write_text("[database]\npool_size = 0\nmax_overflow = -1\n[server]\nworkers = 0\n")
    assert main(["check", "--config", str(config)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert {line.split(":")[0] for line in lines} == {
        "database.pool_size", "database.max_overflow", "server.workers"}


def test_serve_refuses_to_start_on_invalid_config(tmp_path: Path) -> None:
    """A real process: no server, exit 2, one line, no traceback, the password never printed."""
    config = tmp_path / "resilience.toml"
    config.write_text('[database]\nurl = "postgresql+psycopg://app:Hunter2@db/mes"\n'
                      'pool_size = 0\n')
    result = subprocess.run([sys.executable, "-m", "dashboard", "serve", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith(("DASHBOARD", "DB_", "DATABASE_URL"))})
    assert result.returncode == 2
    assert result.stderr.strip() == "database.pool_size: must be >= 1 (got 0, from toml)"
    assert "Traceback" not in result.stderr + result.stdout


def test_check_prints_sources_and_masks_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    config = tmp_path / "resilience.toml"
    config.write_text('[dashboard]\nplugins = ["health"]\n[database]\npool_size = 7\n'
                      "[plugins.breaker]\nopen_seconds = 9\n")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://mes:Sup3r%40Secret@db:5432/mes")
    monkeypatch.setenv("DASHBOARD__PLUGINS__HEALTH__DEEP_TIMEOUT_MS", "1500")
    assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Sup3r" not in out
    lines = {line.split("=")[0].strip(): line for line in out.splitlines() if " = " in line}
    assert lines["database.url"].endswith("[env DATABASE_URL]")
    assert "mes:***@db:5432/mes" in lines["database.url"]
    assert lines["database.pool_size"].endswith("= 7  [toml]")
    assert lines["database.max_overflow"].endswith("= 10  [default]")
    assert lines["plugins.health.deep_timeout_ms"].endswith(
        "= 1500  [env DASHBOARD__PLUGINS__HEALTH__DEEP_TIMEOUT_MS]")
    assert "plugins.breaker: inactive (configured, not listed in dashboard.plugins)" in out


def test_list_settings_come_from_env_as_commas_or_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    config = tmp_path / "resilience.toml"
    config.write_text("")
    monkeypatch.setenv("DASHBOARD__DASHBOARD__PLUGINS", "health, breaker")
    monkeypatch.setenv("DASHBOARD__PLUGINS__REDACTION__EXTRA_PATTERNS", '["k=(\\\\w+)", "x"]')
    assert main(["check", "--config", str(config)]) == 0
    lines = {line.split(" = ")[0].strip(): line for line in capsys.readouterr().out.splitlines()
             if " = " in line}
    assert '= ["health", "breaker"]  [env DASHBOARD__DASHBOARD__PLUGINS]' in lines[
        "dashboard.plugins"]
    assert '["k=(\\\\w+)", "x"]' in lines["plugins.redaction.extra_patterns"]


def test_check_says_when_it_read_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("config: no file read (config/resilience.toml not found)"), first


def test_a_bad_command_line_flag_is_blamed_as_the_flag(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("")
    result = subprocess.run([sys.executable, "-m", "dashboard", "serve", "--workers", "0",
                             "--config", str(tmp_path / "c.toml")],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith(("DASHBOARD", "DB_", "DATABASE_URL"))})
    assert result.returncode == 2
    assert "server.workers: must be >= 1 (got '0', from flag --workers)" in result.stderr, (
        result.stderr)


def test_help_names_no_document_users_do_not_have() -> None:
    result = subprocess.run([sys.executable, "-m", "dashboard", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert "CONTRACT" not in result.stdout
