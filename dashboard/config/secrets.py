"""Secrets in configuration values: find them, and mask them wherever a value is shown.

One place for every part that shows or logs a setting (``dashboard check``, config problem lines,
admin system-status, the redaction plugin's literal backstop, restart reasons): a URL is masked by
SQLAlchemy's own rendering (``hide_password``) plus the query keys and ODBC ``PWD=`` pairs that
carry credentials too; a URL that does not even parse is masked by shape, never shown as written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

MASK = "***"

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY",
                          re.IGNORECASE)
_NOT_A_SECRET_NAME = re.compile(r"(?:_FILE|_PATH|_DIR|_ENV|_NAME|_URL|_TTL|_SECONDS)$",
                                re.IGNORECASE)
_URL_NAME = re.compile(r"(?:URL|DSN|URI)$", re.IGNORECASE)
_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)
#: ODBC ``PWD=``/``PASSWORD=`` pairs: a braced value (``}}`` escapes a brace) or up to ``;``.
_ODBC_PASSWORD = re.compile(r"(?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*(\{(?:\}\}|[^}])*\}|[^;]*)",
                            re.IGNORECASE)
#: ``scheme://user:password@host``, the password taken up to the last ``@`` (it may hold one).
#: The scheme may hold colons (``jdbc:postgresql://``, the typo ``postgresql:psycopg://``): any
#: text shaped like a URL with userinfo has its password masked, whatever its scheme.
_USERINFO = re.compile(r"^(?P<head>[^/?#@\s]*://[^:/@?#]*:)(?P<password>.*)@(?P<tail>[^@]*)$",
                       re.DOTALL)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
#: ``key=value`` pairs (possessive: one try per key, linear time); masked when the key names a
#: credential (:data:`_SECRET_QUERY_KEY`).
_PAIR = re.compile(r"(?<![\w.])(?P<key>[\w.]++)=(?P<value>[^&;\s]*+)")
_FLAG_WORDS = frozenset({"true", "false", "enabled", "disabled", "required", "optional"})
MIN_GUESSED_LENGTH = 8


def mask_url(url: str) -> str:
    """``url`` with its password, secret query values and ODBC ``PWD`` replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        base = parsed.set(query={}).render_as_string(hide_password=True)
    except Exception:  # unparseable: mask by shape, never echo it as written
        return _mask_by_shape(url)
    if not parsed.query:
        return base
    pairs = []
    for key, values in parsed.query.items():
        for value in values if isinstance(values, tuple) else (values,):
            pairs.append(f"{quote(key)}={_masked_query_value(key, value)}")
    return f"{base}?{'&'.join(pairs)}"


def _masked_query_value(key: str, value: str) -> str:
    if key.lower() == "odbc_connect":
        return quote(mask_odbc(value), safe="*")
    if _SECRET_QUERY_KEY.search(key):
        return MASK
    return quote(value, safe="")


def mask_odbc(connection_string: str) -> str:
    """An ODBC connection string with every ``PWD``/``PASSWORD`` value masked."""
    def masked(match: re.Match[str]) -> str:
        start, end = match.span(1)
        whole = match[0]
        offset = match.start(0)
        return whole[: start - offset] + MASK + whole[end - offset:]

    return _ODBC_PASSWORD.sub(masked, connection_string)


def _mask_by_shape(text: str) -> str:
    """A value that does not parse as a URL: its userinfo and secret pairs masked; text with no
    URL shape at all is not shown (it may be a password pasted into the wrong key)."""
    match = _USERINFO.match(text)
    if match:
        text = f"{match['head']}{MASK}@{match['tail']}"
    elif "://" not in text:
        return MASK
    text = _PAIR.sub(lambda m: f"{m['key']}={MASK}" if _SECRET_QUERY_KEY.search(m["key"])
                     else m[0], text)
    return mask_odbc(unquote_plus(text)) if "PWD" in text.upper() else text


def mask_secret_value(path: str, value: Any) -> Any:
    """A setting's value as it may be shown: URLs masked, values of secret-named keys hidden."""
    key = path.rsplit(".", 1)[-1].lower()
    if not isinstance(value, str) or not value:
        return value
    if key.endswith(("url", "dsn", "uri")) or "://" in value:
        return mask_url(value)
    if _SECRET_NAME.search(key) and not key.endswith("_env"):
        return MASK
    return value


def mask_literals(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """``text`` with every occurrence of each secret (longest first) replaced by ``mask``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, mask)
    return text


def url_secrets(url: str) -> set[str]:
    """The password of ``url`` (decoded and as written), secret query values, ODBC ``PWD``."""
    found: set[str] = set()
    as_written = _USERINFO.match(url)
    if as_written:
        found |= _spellings(as_written["password"])
    try:
        parts = urlsplit(url)
        if parts.password:
            found |= _spellings(parts.password)
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key.lower() == "odbc_connect":
                found |= odbc_secrets(value)
            elif _SECRET_QUERY_KEY.search(key):
                found.add(value)
    except ValueError:  # an unparseable URL still had its userinfo read above
        pass
    return {value for value in found if value}


def _spellings(password: str) -> set[str]:
    """A password as written, decoded, and percent-encoded with upper- and lower-case escapes:
    an operator who pastes the URL into a reason may have written the escapes either way."""
    decoded = unquote(password)
    encoded = {password, quote(decoded, safe="")}
    cased = {_PERCENT_ESCAPE.sub(_upper, text) for text in encoded}
    cased |= {_PERCENT_ESCAPE.sub(_lower, text) for text in encoded}
    return {decoded} | encoded | cased


def _upper(match: re.Match[str]) -> str:
    return match[0].upper()


def _lower(match: re.Match[str]) -> str:
    return match[0].lower()


def odbc_secrets(connection_string: str) -> set[str]:
    """``PWD``/``PASSWORD`` values of an ODBC connection string (braces removed, ``}}`` undone)."""
    found: set[str] = set()
    for text in {connection_string, unquote_plus(connection_string)}:
        for match in _ODBC_PASSWORD.finditer(text):
            value = match[1].strip()
            if value.startswith("{") and value.endswith("}"):
                value = value[1:-1].replace("}}", "}")
            if value:
                found.add(value)
    return found


def configured_secrets(settings: Any, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value the settings and the environment reveal.

    The password (and secret query values, and ODBC ``PWD``) of ``[database].url``, of any plugin
    setting ending in ``url`` and of environment variables named ``*_URL``/``*_DSN``/``*_URI``;
    the value of every variable a plugin setting ending in ``_env`` names when that name speaks of
    a secret (``admin_token_env``); and variables whose own name says ``PASSWORD``, ``SECRET`` or
    ``TOKEN`` when the value looks like a secret (long enough, not a flag word).
    """
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    found |= url_secrets(str(settings.database.url))
    plugins: Mapping[str, Any] = settings.plugins
    for model in plugins.values():
        for name in type(model).model_fields:
            value = getattr(model, name, None)
            if not isinstance(value, str) or not value:
                continue
            if name.endswith("url"):
                found |= url_secrets(value)
            elif name.endswith("_env") and _SECRET_NAME.search(name) and environ.get(value):
                found.add(environ[value])
    for name, value in environ.items():
        if not value:
            continue
        if _URL_NAME.search(name) and "://" in value:
            found |= url_secrets(value)
        elif (_SECRET_NAME.search(name) and not _NOT_A_SECRET_NAME.search(name)
              and len(value) >= MIN_GUESSED_LENGTH and value.lower() not in _FLAG_WORDS):
            found.add(value)
    return found
