"""The recognisers: what each shape becomes, and that harmless text is left alone."""

from __future__ import annotations

import pytest

from dashboard.plugins.redaction.patterns import TRIGGERS, names_a_secret
from dashboard.plugins.redaction.redactor import Redactor

redactor = Redactor("***")

MASKED = [
    ("postgresql+psycopg://mes:S3cr%40t-pw@127.0.0.1:1/mes",
     "postgresql+psycopg://mes:***@127.0.0.1:1/mes"),
    ("postgresql://mes:p@ss/w:rd@[::1]:5432/mes", "postgresql://mes:***@[::1]:5432/mes"),
    ("oracle+oracledb://scott:tiger@db:1521/?service_name=XE",
     "oracle+oracledb://scott:***@db:1521/?service_name=XE"),
    ("redis://:pw123@cache:6379/0", "redis://:***@cache:6379/0"),
    ("next=http%3A%2F%2Fu%3Apw%40h%2Fx", "next=http%3A%2F%2Fu%3A***%40h%2Fx"),
    ("mssql+pyodbc:///?odbc_connect=SERVER%3Dh%3BUID%3Du%3BPWD%3Dhunter2%3BX%3D1",
     "mssql+pyodbc:///?odbc_connect=SERVER%3Dh%3BUID%3Du%3BPWD%3D***%3BX%3D1"),
    ("host=db password='a b\\'c' dbname=x", "host=db password='***' dbname=x"),
    ('password = "quoted pw" host=db', 'password = "***" host=db'),
    ("Driver={ODBC};UID=u;PWD={se;cr}}et};Encrypt=1", "Driver={ODBC};UID=u;PWD={***};Encrypt=1"),
    ("Server=h;Pwd=hunter2;X=1", "Server=h;Pwd=***;X=1"),
    ("DB_PASSWORD=hunter2 ./run", "DB_PASSWORD=*** ./run"),
    ("{'user': 'mes', 'password': 'x\\'y'}", "{'user': 'mes', 'password': '***'}"),
    ('{"api_key": "k-123", "n": 1}', '{"api_key": "***", "n": 1}'),
    ("client_secret: abc123", "client_secret: ***"),
    ("sqlplus scott/tiger@db:1521/XE", "sqlplus scott/***@db:1521/XE"),
    ("scott/ti@ger@//db:1521/svc", "scott/***@//db:1521/svc"),
    ('scott/"p w@d"@orcl', "scott/***@orcl"),
    ("jdbc:oracle:thin:scott/tiger@db:1521:orcl", "jdbc:oracle:thin:scott/***@db:1521:orcl"),
    ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
    ("authorization=Token abc123", "authorization=Token ***"),
    ("Basic dXNlcjpwYXNzd29yZA==", "Basic ***"),
    ("password='cut off at the end", "password='***"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED, ids=[t for t, _ in MASKED])
def test_recognised_shapes_are_masked_keeping_their_structure(text: str, expected: str) -> None:
    assert redactor.redact(text) == expected


UNTOUCHED = [
    "GET /api/reports/wip-by-workcenter HTTP/1.1 200 1234",
    '127.0.0.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "http://h:8000/" "curl/8"',
    "ssh://git@github.com/org/repo.git",
    "sqlite:///var/dashboard.db",
    "postgresql+psycopg://mes:***@db:5432/mes",
    'FATAL:  password authentication failed for user "mes"',
    "token_count=5 max_tokens=100 bypass=yes",
    "Booting worker with pid: 4242",
    "mail bob@example.com about it",
    "the breaker opened: failure_rate=0.6",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_harmless_text_is_left_alone(text: str) -> None:
    assert redactor.redact(text) == text


def test_masking_is_idempotent() -> None:
    for text, _ in MASKED:
        once = redactor.redact(text)
        assert redactor.redact(once) == once


def test_the_mask_is_configurable() -> None:
    assert Redactor("[hidden]").redact("pwd=x1") == "pwd=[hidden]"


def test_extra_patterns_mask_the_match_or_its_first_group() -> None:
    custom = Redactor("***", extra_patterns=[r"SSN \d{3}-\d{2}-\d{4}", r"pin:(\d+)"])
    assert custom.redact("SSN 123-45-6789 and pin:9876!") == "*** and pin:***!"


def test_literals_are_masked_whatever_surrounds_them() -> None:
    literal = Redactor("***", literals=["Kx7-unshaped!"])
    masked = literal.redact("tried Kx7-unshaped!twice, KX7-UNSHAPED! too")
    assert masked == "tried ***twice, *** too"


def test_a_line_without_any_trigger_skips_every_regex() -> None:
    assert not redactor.needs_work("GET /api/reports 200 in 12ms")
    assert all(redactor.needs_work(f"x {trigger} y") for trigger in TRIGGERS)


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "pwd", "PWD", "pass", "api_key",
                                 "HTTP_AUTHORIZATION", "client_secret", "admin_token"])
def test_secret_names(key: str) -> None:
    assert names_a_secret(key)


@pytest.mark.parametrize("key", ["user", "token_count", "bypass", "passenger", "port", 5])
def test_not_secret_names(key: object) -> None:
    assert not names_a_secret(key)


@pytest.mark.parametrize("mask", ["[hidden]", "\\1", "\\g<0>", "a\\\\b"])
def test_a_mask_with_backslashes_is_copied_literally(mask: str) -> None:
    """Patterns substitute through templates: the mask must not be read as a group reference."""
    masking = Redactor(mask)
    assert masking.redact("postgresql://mes:pw1@db/x") == f"postgresql://mes:{mask}@db/x"
    assert masking.redact("scott/tiger@db:1521/XE") == f"scott/{mask}@db:1521/XE"
    assert masking.redact("Authorization: Bearer abc") == f"Authorization: Bearer {mask}"
    assert masking.redact("pwd='x1'") == f"pwd='{mask}'"


def test_a_character_whose_lower_case_is_longer_does_not_shift_the_mask() -> None:
    """'İ'.lower() is two characters: key=value positions found in the lowered text still fit."""
    assert redactor.redact("İstanbul PASSWORD=hunter2 x") == "İstanbul PASSWORD=*** x"
    assert redactor.redact("İ postgresql://mes:pw1@db/x") == "İ postgresql://mes:***@db/x"
