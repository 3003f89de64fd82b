"""Classify database exceptions into the few faults that matter to clients and the breaker.

Every dialect says "the server went away" or "the statement was cancelled" differently: SQLSTATE
codes on PostgreSQL, numeric codes on MySQL, ``ORA-``/``DPY-`` prefixes on Oracle, message text on
SQLite. A conflict between transactions (deadlock, serialization failure, lock wait timeout) is
its own fault: the database is up and a retry passes, so clients are told to retry and the breaker
does not count it (see docs/api/responses.md).

The host owns this table so that the breaker (which counts faults) and the degradation
plugin (which answers them) agree without importing each other. Only the code is read from a
driver's message, never shown.
"""

from __future__ import annotations

import re

from sqlalchemy import exc as sa_exc

from dashboard.types import DbOutcome, Fault

__all__ = ["DbOutcome", "Fault", "classify"]


_PG_TIMEOUT = {"57014"}
# 40P01 deadlock detected, 40001 serialization failure, 55P03 lock not available (lock_timeout).
_PG_CONFLICT = {"40P01", "40001", "55P03"}
_PG_AUTH = {"28P01", "28000"}
# 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 57P04 database dropped,
# 57P05 idle session timeout, 25P03 idle-in-transaction timeout (both end the session),
# 53300 too many connections; every 08xxx (connection exception) is matched by its class.
_PG_CONNECTION = {"57P01", "57P02", "57P03", "57P04", "57P05", "25P03", "53300"}
_MYSQL_TIMEOUT = {3024, 1317, 1969}
_MYSQL_CONNECTION = {2002, 2003, 2005, 2006, 2013, 2055, 4031, 1053, 1040}
_MYSQL_AUTH = {1045}
_MYSQL_CONFLICT = {1213, 1205}  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
_ORACLE_TIMEOUT = {"ORA-01013", "DPY-4024", "DPI-1067"}
_ORACLE_CONNECTION = {"ORA-12514", "ORA-12541", "ORA-03113", "ORA-03114", "ORA-03135",
                      "ORA-00028", "ORA-12170", "ORA-12543", "ORA-12537", "ORA-12528",
                      "ORA-01033", "ORA-01034", "ORA-01089", "DPY-6005", "DPY-6000",
                      "DPY-4011", "DPI-1080"}
_ORACLE_AUTH = {"ORA-01017"}
_ORACLE_CONFLICT = {"ORA-00060"}  # deadlock detected while waiting for resource
# SQLite's busy timeout ran out on another connection's lock ("database is locked").
_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (primary codes of extended ones)
_ORACLE_CODE = re.compile(r"\b(ORA|DPY|DPI)-\d{4,5}\b")
_DRIVER_MODULES = frozenset({"psycopg", "psycopg2", "sqlite3", "pymysql", "MySQLdb", "mysql",
                             "oracledb", "cx_Oracle", "pyodbc", "asyncpg"})  # one hash lookup


def classify(exc: BaseException) -> Fault | None:
    """The fault ``exc`` stands for, or ``None`` when it is not a database error at all."""
    if not isinstance(exc, sa_exc.SQLAlchemyError):  # e.g. a plugin's refusal: two checks
        if type(exc).__module__.partition(".")[0] in _DRIVER_MODULES:  # a raw driver error
            return _classify_driver_error(exc) or Fault.QUERY_ERROR
        return None
    if isinstance(exc, sa_exc.TimeoutError):
        return Fault.POOL_EXHAUSTED
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return Fault.CONNECTION_FAILED
        fault = _classify_driver_error(exc.orig) if exc.orig is not None else None
        if fault is not None:
            return fault
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            connecting = _looks_like_connect_failure(exc)
            return Fault.CONNECTION_FAILED if connecting else Fault.QUERY_ERROR
        return Fault.QUERY_ERROR
    if isinstance(exc, sa_exc.DisconnectionError):
        return Fault.CONNECTION_FAILED
    return Fault.QUERY_ERROR


def _classify_driver_error(orig: BaseException) -> Fault | None:
    # The driver decides how to read the error: PyMySQL also has a ``sqlstate`` attribute, but
    # only PostgreSQL's SQLSTATEs are in the tables below.
    module = type(orig).__module__.split(".")[0]
    if module == "sqlite3":
        return _classify_sqlite(orig)
    if module in ("pymysql", "MySQLdb", "mysql"):
        return _classify_mysql(orig)
    if module in ("oracledb", "cx_Oracle"):
        return _classify_oracle(orig)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        if sqlstate in _PG_TIMEOUT:
            return Fault.QUERY_TIMEOUT
        if sqlstate in _PG_CONFLICT:
            return Fault.CONFLICT
        if sqlstate in _PG_AUTH:
            return Fault.AUTH_FAILED
        if sqlstate.startswith("08") or sqlstate in _PG_CONNECTION:
            return Fault.CONNECTION_FAILED
        return None
    if module.startswith("psycopg"):
        # libpq reports a failed connection attempt without a SQLSTATE (there is no result to
        # carry one), also when the server rejected the credentials.
        name = type(orig).__name__
        if name not in ("OperationalError", "InterfaceError"):
            return None
        return Fault.AUTH_FAILED if _psycopg_auth_rejected(orig) else Fault.CONNECTION_FAILED
    return None


_PG_AUTH_TEXT = re.compile(r"authentication failed|no pg_hba\.conf entry|"
                           r"role \S+ does not exist|password is required|"
                           r"server requested a password", re.IGNORECASE)


def _psycopg_auth_rejected(orig: BaseException) -> bool:
    """Did the server turn down the credentials of a connection attempt?

    libpq's ``needs_password`` (the server asked for a password and none was configured) does
    not depend on the server's message language; a wrong password or an unknown role is read
    from the server's English text (SQLSTATE 28P01/28000), since a failed attempt carries no
    SQLSTATE. ``used_password`` is not enough: "too many clients" also comes after the
    password was accepted. Read, never shown.
    """
    pgconn = getattr(orig, "pgconn", None)
    if pgconn is not None and getattr(pgconn, "needs_password", False):
        return True
    return bool(_PG_AUTH_TEXT.search(str(orig)))


def _classify_sqlite(orig: BaseException) -> Fault | None:
    text = str(orig).lower()
    if "interrupted" in text:
        return Fault.QUERY_TIMEOUT
    if "unable to open database" in text or "disk i/o error" in text:
        return Fault.CONNECTION_FAILED
    code = getattr(orig, "sqlite_errorcode", None)
    if (isinstance(code, int) and code & 0xFF in _SQLITE_BUSY_CODES) or "is locked" in text:
        return Fault.CONFLICT
    return None


def _classify_mysql(orig: BaseException) -> Fault | None:
    code = orig.args[0] if orig.args and isinstance(orig.args[0], int) else None
    if code in _MYSQL_TIMEOUT:
        return Fault.QUERY_TIMEOUT
    if code in _MYSQL_AUTH:
        return Fault.AUTH_FAILED
    if code in _MYSQL_CONFLICT:
        return Fault.CONFLICT
    if code in _MYSQL_CONNECTION:
        return Fault.CONNECTION_FAILED
    return None


def _classify_oracle(orig: BaseException) -> Fault | None:
    codes = {m.group(0) for m in _ORACLE_CODE.finditer(str(orig))}
    if codes & _ORACLE_TIMEOUT:
        return Fault.QUERY_TIMEOUT
    if codes & _ORACLE_AUTH:
        return Fault.AUTH_FAILED
    if codes & _ORACLE_CONFLICT:
        return Fault.CONFLICT
    if codes & _ORACLE_CONNECTION:
        return Fault.CONNECTION_FAILED
    return None


def _looks_like_connect_failure(exc: sa_exc.DBAPIError) -> bool:
    """An OperationalError raised while connecting (no statement) is a connection failure."""
    return exc.statement is None
