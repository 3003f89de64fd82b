"""Secrets in settings: which values are secrets, and how every shown value is masked."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from pydantic import BaseModel

from dashboard.config.secrets import (
    configured_secrets,
    mask_literals,
    mask_secret_value,
    mask_url,
    odbc_secrets,
    url_secrets,
)


def test_url_password_decoded_and_as_written() -> None:
    assert url_secrets("postgresql+psycopg://mes:S3cr%40t-pw@127.0.0.1:1/mes") == {
        "S3cr@t-pw", "S3cr%40t-pw"}


def test_any_url_shaped_text_has_its_password_found_and_masked() -> None:
    for url in ("jdbc:postgresql://mes:Jdbc-pw@db:5432/mes", "postgresql:psycopg://mes:Jdbc-pw@db"):
        assert "Jdbc-pw" in url_secrets(url)
        assert "Jdbc-pw" not in mask_url(url) and "***" in mask_url(url)


def test_percent_encoded_passwords_are_found_with_escapes_in_either_case() -> None:
    secrets = url_secrets("postgresql+psycopg://mes:p%2Fss%3Aword@h/mes")
    assert {"p/ss:word", "p%2Fss%3Aword", "p%2fss%3aword"} <= secrets
    reason = "failover, old url had p%2fss%3aword in it"
    assert "p%2fss%3aword" not in mask_literals(reason, secrets)


def test_url_secret_query_values_and_odbc_password() -> None:
    assert url_secrets("postgresql://db/mes?user=u&password=qpw1&sslmode=require") == {"qpw1"}
    odbc = "mssql+pyodbc:///?odbc_connect=" + quote("DRIVER={ODBC 18};UID=sa;PWD={a;b}}c};")
    assert url_secrets(odbc) == {"a;b}c"}
    assert odbc_secrets("Server=h;Pwd=plain-pw;X=1") == {"plain-pw"}


def test_urls_without_secrets() -> None:
    assert url_secrets("sqlite:///var/dashboard.db") == set()
    assert url_secrets("postgresql://mes@db/mes") == set()
    assert url_secrets("not a url") == set()


def test_configured_secrets_from_settings_plugins_and_environment() -> None:
    settings = SimpleNamespace(
        database=SimpleNamespace(url="postgresql://mes:db-pw-1@db/mes"),
        plugins={"recovery": _Model(admin_token_env="MY_ADMIN", audit_log="var/audit.jsonl",
                                    store_url="postgresql://r:st-pw-2@h/x")})
    environ = {"MY_ADMIN": "adm-tok-3", "PGPASSWORD": "pg-pw-4-long",
               "GITHUB_TOKEN": "gh-tok-6-long", "REDIS_URL": "redis://:rd-pw-5@h",
               "DASHBOARD_ADMIN_TOKEN_ENV": "NOT_A_SECRET",
               "USE_SECRET_STORE": "true", "API_KEY_ID": "short", "HOME": "/root",
               "PGPASSFILE": "/root/.pgpass"}
    assert configured_secrets(settings, environ) == {
        "db-pw-1", "st-pw-2", "adm-tok-3", "pg-pw-4-long", "rd-pw-5", "gh-tok-6-long"}


class _Model(BaseModel):
    """Stands in for another plugin's settings (as ``[plugins.recovery]``)."""

    admin_token_env: str
    store_url: str
    audit_log: str


def test_mask_url_hides_every_credential_form() -> None:
    odbc = "mssql+pyodbc:///?odbc_connect=" + quote("DRIVER={ODBC 18};UID=sa;PWD={a;b}}c};")
    cases = {
        "postgresql+psycopg://u:pa ss-1@h/db": "pa ss-1",
        "postgresql+psycopg://u:p%40ss-2@h:5432/db": "p@ss-2",
        "postgresql+psycopg://u@h/db?password=qs-pw-3&sslmode=require": "qs-pw-3",
        odbc: "a;b}c",
        "postgresql://u:shape-pw-4@h:notaport/db": "shape-pw-4",
        "oracle+oracledb://scott:tiger-5@h/?service_name=x": "tiger-5",
    }
    for url, secret in cases.items():
        masked = mask_url(url)
        assert secret not in masked and quote(secret) not in masked, (url, masked)
        assert "***" in masked, masked


def test_mask_url_keeps_what_is_not_secret() -> None:
    assert mask_url("postgresql+psycopg://u:pw@db.example:5432/mes?sslmode=require") == (
        "postgresql+psycopg://u:***@db.example:5432/mes?sslmode=require")
    assert mask_url("sqlite:///var/dashboard.db") == "sqlite:///var/dashboard.db"


def test_text_that_is_no_url_at_all_is_not_shown() -> None:
    assert mask_secret_value("database.url", "Hunter2Hunter2") == "***"


def test_secret_named_keys_are_hidden_but_env_names_shown() -> None:
    assert mask_secret_value("plugins.x.api_token", "tok-123456") == "***"
    assert mask_secret_value("plugins.recovery.admin_token_env", "DASHBOARD_ADMIN_TOKEN") == (
        "DASHBOARD_ADMIN_TOKEN")
