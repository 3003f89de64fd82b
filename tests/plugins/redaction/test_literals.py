"""Configured secrets: which values are taken from settings and environment, in which spellings."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from pydantic import BaseModel

from plugins.redaction.literals import (
    MIN_LITERAL_LENGTH,
    host_secrets,
    literal_forms,
    odbc_secrets,
    spellings,
    url_secrets,
)


def test_url_password_decoded_and_as_written() -> None:
    assert url_secrets("postgresql+psycopg://mes:S3cr%40t-pw@127.0.0.1:1/mes") == {
        "S3cr@t-pw", "S3cr%40t-pw"}


def test_url_secret_query_values_and_odbc_password() -> None:
    assert url_secrets("postgresql://db/mes?user=u&password=qpw1&sslmode=require") == {"qpw1"}
    odbc = "mssql+pyodbc:///?odbc_connect=" + quote("DRIVER={ODBC 18};UID=sa;PWD={a;b}}c};")
    assert url_secrets(odbc) == {"a;b}c"}
    assert odbc_secrets("Server=h;Pwd=plain-pw;X=1") == {"plain-pw"}


def test_urls_without_secrets() -> None:
    assert url_secrets("sqlite:///var/dashboard.db") == set()
    assert url_secrets("postgresql://mes@db/mes") == set()
    assert url_secrets("not a url") == set()


def test_host_secrets_from_settings_plugins_and_environment() -> None:
    settings = SimpleNamespace(
        database=SimpleNamespace(url="postgresql://mes:db-pw-1@db/mes"),
        plugins={"recovery": _Model(admin_token_env="MY_ADMIN", audit_log="var/audit.jsonl",
                                    store_url="postgresql://r:st-pw-2@h/x")})
    environ = {"MY_ADMIN": "adm-tok-3", "PGPASSWORD": "pg-pw-4-long",
               "GITHUB_TOKEN": "gh-tok-6-long", "REDIS_URL": "redis://:rd-pw-5@h",
               "DASHBOARD_ADMIN_TOKEN_ENV": "NOT_A_SECRET",
               "USE_SECRET_STORE": "true", "API_KEY_ID": "short", "HOME": "/root",
               "PGPASSFILE": "/root/.pgpass"}
    assert host_secrets(settings, environ) == {"db-pw-1", "st-pw-2", "adm-tok-3", "pg-pw-4-long",
                                               "rd-pw-5", "gh-tok-6-long"}


class _Model(BaseModel):
    """Stands in for another plugin's settings (as ``[plugins.recovery]``)."""

    admin_token_env: str
    store_url: str
    audit_log: str


def test_spellings_cover_encodings_and_escapes() -> None:
    forms = spellings('p@ss "wörd"/x')
    for expected in ['p@ss "wörd"/x', "p%40ss%20%22w%C3%B6rd%22%2Fx", "p%40ss+%22w%C3%B6rd%22%2Fx",
                     "p%40ss%20%22w%C3%B6rd%22/x", "p%40ss%20%22w%c3%b6rd%22%2fx",
                     'p@ss \\"w\\u00f6rd\\"/x', "p%40ss %22w%C3%B6rd%22%2Fx"]:
        assert expected in forms


def test_short_values_are_left_to_the_recognisers() -> None:
    short = "x" * (MIN_LITERAL_LENGTH - 1)
    assert literal_forms([short]) == frozenset()
    assert short + "y" in literal_forms([short + "y"])
