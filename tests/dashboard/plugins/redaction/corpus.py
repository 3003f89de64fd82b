"""The leak corpus: ways a credential reaches a log call, each with the secret it must hide.

Every form is emitted through a real logger; the test asserts that neither the secret nor its
percent-encoding appears in any handler's output. Forms marked ``configured`` carry the secret
without any recognisable shape (prose, a driver's message): only the literal backstop can catch
those, so the test configures the secret for them, as the host does for ``[database].url``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import URL

Emit = Callable[[logging.Logger], None]


@dataclass(frozen=True)
class LeakForm:
    name: str
    secret: str
    emit: Emit
    configured: bool = False


PW = "Tr0ub4dor&3"
AT_PW = "p@ss/w:rd!x"
SPACE_PW = "two words+x"
TOKEN = "tok_9f8e7d6c5b4a"
UNICODE_PW = "pässwörd-日本"


class Settings:
    """An object whose repr shows a DSN (like a careless dataclass)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def __repr__(self) -> str:
        return f"Settings(dsn={self.dsn!r})"

    __str__ = __repr__


class ConnectionSpec:
    """An object whose repr shows a libpq-style password."""

    def __repr__(self) -> str:
        return f"<ConnectionSpec host=db password={PW} port=5432>"


def _raise_and_log(logger: logging.Logger, exc: BaseException, **kwargs: Any) -> None:
    try:
        raise exc
    except BaseException:
        logger.exception("request failed", **kwargs)


def _chained(logger: logging.Logger) -> None:
    try:
        try:
            raise OSError(f"connect to mysql+pymysql://app:{PW}@db:3306/mes refused")
        except OSError as cause:
            raise RuntimeError("database unavailable") from cause
    except RuntimeError:
        logger.warning("degraded", exc_info=True)


def _source_line_leak(logger: logging.Logger) -> None:
    try:
        _connect_with_literal_dsn()
    except ZeroDivisionError:
        logger.error("boom", exc_info=True)


def _connect_with_literal_dsn() -> None:
    dsn = "host=db user=mes password=Tr0ub4dor&3 dbname=mes"; 1 / 0  # noqa: E702, B018, F841


def _explicit_exc_info(logger: logging.Logger) -> None:
    try:
        raise ValueError({"url": f"postgresql://mes:{PW}@db/mes"})
    except ValueError:
        logger.error("bad value", exc_info=sys.exc_info())


def _stack_info(logger: logging.Logger) -> None:
    dsn = f"oracle+oracledb://scott:{PW}@db:1521/?service_name=XE"  # noqa: F841 - in the frame
    logger.info("where am I", stack_info=True, extra={"note": f"scott/{PW}@db:1521/XE"})


def _real_driver_failure(logger: logging.Logger) -> None:
    from sqlalchemy import create_engine

    url = URL.create("postgresql+psycopg", username="mes", password=AT_PW, host="127.0.0.1",
                     port=1, database="mes")
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            pass
    except Exception:
        logger.exception("database fault connecting to %s", url.render_as_string(False))
    finally:
        engine.dispose()


def _exception_args_repr(logger: logging.Logger) -> None:
    _raise_and_log(logger, KeyError({"user": "mes", "pwd": PW}))


ODBC = ("DRIVER%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BSERVER%3Ddb%3BUID%3Dsa%3BPWD%3D"
        f"{PW.replace('&', '%26')}%3B")

FORMS: list[LeakForm] = [
    # URL userinfo, any scheme, in the message
    LeakForm("url-psycopg-encoded", AT_PW, lambda log: log.info(
        "engine %s", URL.create("postgresql+psycopg", "mes", AT_PW, "db", 5432, "mes")
        .render_as_string(hide_password=False))),
    LeakForm("url-raw-at-in-password", AT_PW,
             lambda log: log.info(f"connecting to postgresql://mes:{AT_PW}@db:5432/mes now")),
    LeakForm("url-oracle", PW, lambda log: log.info(
        f"oracle+oracledb://scott:{PW}@db:1521/?service_name=XE unreachable")),
    LeakForm("url-mysql", PW, lambda log: log.info(f"mysql+pymysql://app:{PW}@db/mes?x=1")),
    LeakForm("url-mssql-odbc-connect", PW, lambda log: log.info(
        f"mssql+pyodbc:///?odbc_connect={ODBC}")),
    LeakForm("url-ipv6-host", PW, lambda log: log.info(f"postgresql://mes:{PW}@[::1]:5432/mes")),
    LeakForm("url-query-password", PW, lambda log: log.info(
        f"postgresql://db/mes?user=mes&password={PW.replace('&', '%26')}&sslmode=require")),
    LeakForm("url-empty-user", TOKEN, lambda log: log.info(f"redis://:{TOKEN}@cache:6379/0")),
    LeakForm("url-quoted-in-sentence", PW, lambda log: log.info(
        f'url="postgresql://mes:{PW}@db/mes", retrying in 5s')),
    LeakForm("url-two-on-a-line", PW, lambda log: log.info(
        f"from http://web:8000/x to postgresql://mes:{PW}@db/mes")),
    LeakForm("url-percent-encoded-whole", PW, lambda log: log.info(
        "next=postgresql%3A%2F%2Fmes%3ATr0ub4dor%263%40db%2Fmes")),
    LeakForm("url-sqlalchemy-render-space-plus", SPACE_PW, lambda log: log.info(
        URL.create("postgresql", "mes", SPACE_PW, "db").render_as_string(False))),
    LeakForm("url-unicode-password", UNICODE_PW, lambda log: log.info(
        f"postgresql://mes:{UNICODE_PW}@db/mes")),
    # key=value DSNs and assignments
    LeakForm("libpq-bare", PW, lambda log: log.info(f"dsn: host=db user=mes password={PW} x=1")),
    LeakForm("libpq-quoted", "a b'c d", lambda log: log.info(
        "host=db password='a b\\'c d' dbname=mes")),
    LeakForm("odbc-braced", "se;cr}et", lambda log: log.info(
        "Driver={ODBC};Server=db;UID=sa;PWD={se;cr}}et};")),
    LeakForm("odbc-bare", PW, lambda log: log.info(f"Server=db;Uid=sa;Pwd={PW};Encrypt=yes")),
    LeakForm("pwd-lowercase", PW, lambda log: log.info(f"user=sa pwd={PW}")),
    LeakForm("json-password", 'qu"ote-pw', lambda log: log.info(
        json.dumps({"user": "mes", "password": 'qu"ote-pw'}))),
    LeakForm("dict-repr", PW, lambda log: log.info({"user": "mes", "password": PW})),
    LeakForm("env-db-password", PW, lambda log: log.info(f"DB_PASSWORD={PW} ./start.sh")),
    LeakForm("env-pgpassword", PW, lambda log: log.info(f"env PGPASSWORD={PW}")),
    LeakForm("env-export-quoted", "sp ace-pw", lambda log: log.info(
        'export MYSQL_PWD="sp ace-pw"')),
    # Oracle user/password@host
    LeakForm("oracle-easy-connect", PW, lambda log: log.info(f"sqlplus scott/{PW}@db:1521/XEPDB1")),
    LeakForm("oracle-quoted", "p w@d", lambda log: log.info('connect scott/"p w@d"@orcl')),
    LeakForm("oracle-slashes", PW, lambda log: log.info(f"scott/{PW}@//db:1521/svc")),
    # HTTP credentials
    LeakForm("bearer-header", TOKEN, lambda log: log.info(f"Authorization: Bearer {TOKEN}")),
    LeakForm("bearer-environ-repr", TOKEN, lambda log: log.info(
        "%r", {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}", "PATH_INFO": "/admin"})),
    LeakForm("bearer-header-list", TOKEN, lambda log: log.info(
        "headers %s", [("Authorization", f"Bearer {TOKEN}")])),
    LeakForm("basic-auth", "dXNlcjpodW50ZXIy", lambda log: log.info(
        "Authorization: Basic dXNlcjpodW50ZXIy")),
    # in %-args
    LeakForm("args-percent-s", PW, lambda log: log.info(
        "db=%s pool=%d", f"postgresql://mes:{PW}@db/mes", 5)),
    LeakForm("args-percent-r-dict", PW, lambda log: log.info(
        "connect_args=%r", {"password": PW})),
    LeakForm("args-mapping", PW, lambda log: log.info(
        "%(dsn)s", {"dsn": f"postgresql://mes:{PW}@db/mes"})),
    # in exceptions
    LeakForm("exception-message", PW, lambda log: _raise_and_log(
        log, ConnectionError(f"could not connect to postgresql://mes:{PW}@db/mes"))),
    LeakForm("exception-chained-cause", PW, _chained),
    LeakForm("exception-source-line", PW, _source_line_leak),
    LeakForm("exception-explicit-exc-info", PW, _explicit_exc_info),
    LeakForm("exception-args-repr", PW, _exception_args_repr),
    LeakForm("exception-real-driver", AT_PW, _real_driver_failure),
    LeakForm("stack-info", PW, _stack_info),
    # in extra
    LeakForm("extra-string", PW, lambda log: log.info(
        "x", extra={"dsn": f"postgresql://mes:{PW}@db/mes"})),
    LeakForm("extra-nested-dict", PW, lambda log: log.info(
        "x", extra={"config": {"database": {"password": PW, "port": 5432}}})),
    LeakForm("extra-object-repr", PW, lambda log: log.info(
        "x", extra={"settings": Settings(f"postgresql://mes:{PW}@db/mes")})),
    LeakForm("extra-header-list", TOKEN, lambda log: log.info(
        "x", extra={"headers": [("Authorization", f"Bearer {TOKEN}")]})),
    LeakForm("extra-bytes", PW, lambda log: log.info(
        "x", extra={"raw": f"password={PW}".encode()})),
    # in an object's repr
    LeakForm("msg-is-object", PW, lambda log: log.info(Settings(f"postgresql://mes:{PW}@db/m"))),
    LeakForm("args-object-repr", PW, lambda log: log.info("spec %r", ConnectionSpec())),
    # without any shape: only the configured literal can catch these
    LeakForm("configured-password-in-prose", "Kx7-unshaped!", lambda log: log.info(
        "auth failed, tried Kx7-unshaped! twice"), configured=True),
    LeakForm("configured-token-in-path", TOKEN, lambda log: log.info(
        f"GET /admin/{TOKEN}/status 401"), configured=True),
    LeakForm("configured-password-percent-encoded", AT_PW, lambda log: log.info(
        "retry p%40ss%2Fw%3Ard%21x later"), configured=True),
    LeakForm("configured-password-json-escaped", UNICODE_PW, lambda log: log.info(
        json.dumps({"note": f"value {UNICODE_PW} rejected"})), configured=True),
    LeakForm("configured-password-in-traceback", "Kx7-unshaped!", lambda log: _raise_and_log(
        log, PermissionError("rejected Kx7-unshaped! for mes")), configured=True),
]
