"""How a database failure the host classified is logged: one WARNING line, no traceback.

A classified failure (pool exhausted, statement timeout, connection lost ...) is an expected,
answered event: under an outage there is one per request, and a traceback each would bury the
log. It is one line with what an operator filters on (``code``, ``fault``, ``dialect``,
``method``, ``path``, ``request_id``), also as fields for JSON logs; the traceback follows as a
DEBUG record, written only when ``[logging].level = "debug"``. Unclassified errors are not
handled here: they keep their traceback at ERROR.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dashboard.contract import ERROR_CODE_ENVIRON_KEY, REQUEST_ID_ENVIRON_KEY
from dashboard.db.faults import Fault

_DRIVER_DIALECTS = {"psycopg": "postgresql", "psycopg2": "postgresql", "asyncpg": "postgresql",
                    "pg8000": "postgresql", "sqlite3": "sqlite", "pymysql": "mysql",
                    "MySQLdb": "mysql", "mysql": "mysql", "mariadb": "mariadb",
                    "oracledb": "oracle", "cx_Oracle": "oracle", "pyodbc": "mssql"}


def dialect_of(exc: BaseException, fallback: str | None) -> str:
    """The dialect whose driver raised ``exc`` (from the driver's module), else ``fallback``."""
    orig = getattr(exc, "orig", None)
    if orig is not None:
        dialect = _DRIVER_DIALECTS.get(type(orig).__module__.split(".")[0])
        if dialect is not None:
            return dialect
    return fallback or "unknown"


def log_classified(logger: logging.Logger, fault: Fault, exc: BaseException,
                   environ: Mapping[str, Any], dialect: str) -> None:
    fields = {
        "code": environ.get(ERROR_CODE_ENVIRON_KEY) or "DB_QUERY_ERROR",
        "fault": fault.value,
        "dialect": dialect,
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "request_id": environ.get(REQUEST_ID_ENVIRON_KEY),
    }
    logger.warning("database failure answered %s: fault=%s dialect=%s method=%s path=%s",
                   fields["code"], fields["fault"], fields["dialect"], fields["method"],
                   fields["path"], extra=fields)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("traceback of the %s above", fault.value, exc_info=exc,
                     extra={"request_id": fields["request_id"]})
