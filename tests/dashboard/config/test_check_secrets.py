"""``dashboard check`` and every problem line keep secrets to themselves, over a corpus of the
forms credentials take in configs (each secret is searched for in everything printed)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from dashboard.cli import main

ODBC = "mssql+pyodbc:///?odbc_connect=" + quote("DRIVER={ODBC 18};SERVER=h;UID=sa;PWD=Odbc-Pw-7;")

# (name, TOML, environment, the secret that must never be printed)
SECRET_CONFIGS: list[tuple[str, str, dict[str, str], str]] = [
    ("userinfo", '[database]\nurl = "postgresql+psycopg://u:Userinfo-Pw-1@h/db"', {},
     "Userinfo-Pw-1"),
    ("percent-encoded", '[database]\nurl = "postgresql+psycopg://u:Pct%40Pw-2@h/db"', {},
     "Pct"),
    ("space in password", '[database]\nurl = "postgresql+psycopg://u:Space Pw-3@h/db"', {},
     "Space Pw-3"),
    ("query password", '[database]\nurl = "postgresql+psycopg://u@h/db?password=Query-Pw-4"',
     {}, "Query-Pw-4"),
    ("odbc PWD", f'[database]\nurl = "{ODBC}"', {}, "Odbc-Pw-7"),
    ("env DATABASE_URL", "", {"DATABASE_URL": "postgresql+psycopg://u:Env-Pw-5@h/db"},
     "Env-Pw-5"),
    ("store_url", '[plugins.recovery]\nstore_url = "postgresql+psycopg://u:Store-Pw-6@h/db"',
     {}, "Store-Pw-6"),
    ("unknown key holding a password", '[database]\npasswd = "Hunter2-Typo-8"', {},
     "Hunter2-Typo-8"),
    ("unknown env key", "", {"DASHBOARD__DATABASE__PASSWORD": "Env-Typo-Pw-9"},
     "Env-Typo-Pw-9"),
    ("unknown plugin key", '[plugins.breaker]\nsecret = "Plugin-Typo-10"', {},
     "Plugin-Typo-10"),
    ("table failing a validator", "[plugins.health]\npool_saturation_warning = 0.9\n"
     'pool_saturation_critical = 0.5\n[database]\nurl = "postgresql+psycopg://u:Tbl-Pw-11@h/d"',
     {}, "Tbl-Pw-11"),
    ("unparseable url with a port typo", '[database]\nurl = "postgresql://u:Port-Pw-12@h:x/db"',
     {}, "Port-Pw-12"),
    ("plain text in a url key", '[database]\nurl = "Plain-Secret-13"', {}, "Plain-Secret-13"),
    ("bad store_url port", '[plugins.recovery]\nstore_url = "postgresql://u:Sp-Pw-14@h:np/db"',
     {}, "Sp-Pw-14"),
    ("url with a bad driver", '[database]\nurl = "postgres://u:Drv-Pw-15@h/db"', {},
     "Drv-Pw-15"),
    ("query token", '[database]\nurl = "postgresql+psycopg://u@h/db?auth_token=Tok-16-abc"', {},
     "Tok-16-abc"),
    ("password in a wrong-typed value", "[database]\npool_size = 'Size-Pw-17'\n"
     '[plugins.recovery]\nstore_url = "postgresql+psycopg://u:St-Pw-17b@h/x"', {}, "St-Pw-17b"),
    ("jdbc url from env", "", {"DATABASE_URL": "jdbc:postgresql://mes:Jdbc-Pw-18@db:5432/mes"},
     "Jdbc-Pw-18"),
    ("scheme typo with a colon", '[database]\nurl = "postgresql:psycopg://u:Typo-Pw-19@h/db"',
     {}, "Typo-Pw-19"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("DASHBOARD", "DB_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(("toml", "env", "secret"),
                         [case[1:] for case in SECRET_CONFIGS],
                         ids=[case[0] for case in SECRET_CONFIGS])
def test_check_never_prints_a_secret(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], toml: str,
                                     env: dict[str, str], secret: str) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    config = tmp_path / "resilience.toml"
    config.write_text(toml, encoding="utf-8")
    code = main(["check", "--config", str(config)])
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert code in (0, 2), printed
    assert printed.strip(), "check always says something"
    assert secret not in printed and quote(secret) not in printed, printed
    assert "Traceback" not in printed


def test_the_corpus_is_large_enough() -> None:
    assert len(SECRET_CONFIGS) >= 15


def test_an_unknown_key_is_named_without_its_value(tmp_path: Path, clean_env: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "resilience.toml"
    config.write_text('[database]\npasswd = "Hunter2-Typo-8"\n', encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip() == "database.passwd: unknown key (from toml)"
