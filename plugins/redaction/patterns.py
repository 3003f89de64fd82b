"""Recognisers for the shapes a credential takes in log text.

Each recogniser is a compiled regular expression plus a replacement that keeps the structure
around the secret (scheme, user, host, key, quotes) and replaces only the secret itself, so a
masked line still says *what* was connected to::

    postgresql+psycopg://mes:***@db:5432/mes     password=***     scott/***@orcl
    Authorization: Bearer ***                     {'password': '***'}

They err on the side of masking too much. Where a shape is ambiguous (a raw ``@`` or ``/`` inside
a password, two URLs on one line) the mask runs to the last plausible end on the line, so no part
of the secret survives even if some harmless text goes with it. Secrets the recognisers cannot see
at all (a bare password in prose) are covered by :mod:`plugins.redaction.literals`, which masks
the configured values themselves.

Shapes covered:

* URL userinfo for any scheme (``postgresql+psycopg://``, ``oracle+oracledb://``, ``mssql+pyodbc://``
  ...), raw or percent-encoded, ``@`` inside the password, IPv6 hosts, and URLs that are themselves
  percent-encoded (``http%3A%2F%2Fu%3Apw%40h``);
* ``key=value`` and ``key: value`` pairs whose key names a secret (``password``, ``PWD``, ``pwd``,
  ``DB_PASSWORD``, ``PGPASSWORD``, ``*_token``, ``*_secret``, ``api_key`` ...), the value bare,
  single or double quoted (backslash escapes), ODBC-braced (``{..}}..}``), or percent-encoded inside
  an ``odbc_connect=`` parameter (``PWD%3Dsecret%3B``); also dict/JSON reprs (``'password': '..'``);
* Oracle ``user/password@host:port/service`` (also ``@//host``, ``@tns_alias``, quoted passwords);
* HTTP credentials: ``Bearer <token>``, ``Basic <base64>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Replacer = Callable[["re.Match[str]"], str]

# --- URL userinfo ----------------------------------------------------------------------------
# From a scheme to the *last* "@" (or "%40") on the line: a raw password may itself hold "@", and
# the host part after the real "@" never does. Everything after the first ":" (or "%3A") of the
# userinfo is the password (a user name never holds a raw ":").
URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*(?:://|%3[Aa]%2[Ff]%2[Ff]))"
    r"(?P<userinfo>[^\r\n]*)(?P<at>@|%40)")
_FIRST_COLON = re.compile(r":|%3[Aa]")


def _mask_userinfo(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        userinfo = match["userinfo"]
        colon = _FIRST_COLON.search(userinfo)
        if colon is None:  # "ssh://git@host": a user, no password
            return match[0]
        return f"{match['scheme']}{userinfo[:colon.end()]}{mask}{match['at']}"
    return replace


# --- key=value pairs ---------------------------------------------------------------------------
_SECRET_KEY = (
    r"(?:[A-Za-z0-9_.\-]{0,40}?(?:password|passwd|passphrase|pwd|secret|secret[_\-]?key|token"
    r"|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|authorization)"
    r"|\bpass|\bpw)"
)
_SEPARATOR = r"['\"]?[ \t]*(?:=>|:=|=|:|%3[Dd])[ \t]*"
_AUTH_SCHEME = r"(?:(?:bearer|basic|digest|negotiate|token)[ \t]+)?"
_VALUE = (
    r"'(?:\\.|[^'\\\r\n])*'?"                       # 'single', backslash escapes, maybe cut off
    r"|\"(?:\\.|[^\"\\\r\n])*\"?"                   # "double"
    r"|\{(?:\}\}|[^}\r\n])*\}?"                     # ODBC {bra}}ced}
    r"|%7[Bb](?:%7[Dd]%7[Dd]|(?!%7[Dd])[^\s&])*(?:%7[Dd])?"  # braced, percent-encoded
    r"|%2[27](?:(?!%2[27])[^\s&])*(?:%2[27])?"      # quoted, percent-encoded
    r"|(?:(?!%3[Bb]|%26|%20)[^\s;&])+"               # bare: up to a separator of pairs
)
KEY_VALUE = re.compile(
    rf"(?P<prefix>(?<![A-Za-z0-9]){_SECRET_KEY}{_SEPARATOR}{_AUTH_SCHEME})(?P<value>{_VALUE})",
    re.IGNORECASE)

_SECRET_NAME = re.compile(_SECRET_KEY, re.IGNORECASE)


def names_a_secret(key: object) -> bool:
    """Whether a mapping key (or the first item of a pair) says its value is a secret."""
    return isinstance(key, str) and _SECRET_NAME.fullmatch(key) is not None


_QUOTE_PAIRS = (("'", "'"), ('"', '"'), ("{", "}"), ("%7B", "%7D"), ("%7b", "%7d"),
                ("%22", "%22"), ("%27", "%27"))


def _mask_value(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        value = match["value"]
        for opening, closing in _QUOTE_PAIRS:
            if value.startswith(opening):
                closed = len(value) >= len(opening) + len(closing) and value.endswith(closing)
                return f"{match['prefix']}{opening}{mask}{closing if closed else ''}"
        return f"{match['prefix']}{mask}"
    return replace


# --- Oracle user/password@connect_identifier ---------------------------------------------------
# The password runs to the last "@" of the whitespace-delimited token: a raw "@" inside the
# password must not end it. Quoted Oracle passwords ("p w@d") are taken whole.
ORACLE = re.compile(
    r"(?P<user>(?<![\w/:.%\-])[A-Za-z_][\w$#.\-]*/)"
    r"(?P<password>\"[^\"\r\n]*\"|[^\s/\"'][^\s]*)"
    r"(?P<at>@)(?=[\w\[(/\"])")


def _mask_oracle(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        return f"{match['user']}{mask}{match['at']}"
    return replace


# --- HTTP credentials ---------------------------------------------------------------------------
HTTP_CREDENTIALS = re.compile(
    r"(?P<scheme>\bbearer[ \t]+)(?P<credential>[^\s'\",;]+)"
    r"|(?P<basic>\bbasic[ \t]+)(?P<base64>[A-Za-z0-9+/]{8,}=*)",
    re.IGNORECASE)


def _mask_credentials(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        if match["scheme"] is not None:
            if match["credential"] == mask:
                return match[0]
            return f"{match['scheme']}{mask}"
        return f"{match['basic']}{mask}"
    return replace


@dataclass(frozen=True)
class Recogniser:
    """One shape of secret: a cheap gate (lower-case substrings), a pattern, a replacement."""

    name: str
    triggers: tuple[str, ...]
    pattern: re.Pattern[str]
    replacement: Callable[[str], Replacer]

    def applies_to(self, lowered: str) -> bool:
        return any(trigger in lowered for trigger in self.triggers)


RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser("url", ("://", "%3a%2f%2f"), URL_USERINFO, _mask_userinfo),
    Recogniser("http-credentials", ("bearer", "basic"), HTTP_CREDENTIALS,
               _mask_credentials),
    Recogniser("key-value", ("pass", "pwd", "pw", "secret", "token", "key", "credential",
                             "authorization"), KEY_VALUE, _mask_value),
    Recogniser("oracle", ("@",), ORACLE, _mask_oracle),
)

#: Every trigger of every recogniser: a text containing none of them needs no regex at all.
TRIGGERS: tuple[str, ...] = tuple(sorted({t for r in RECOGNISERS for t in r.triggers}))
