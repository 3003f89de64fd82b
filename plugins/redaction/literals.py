"""The configured secrets themselves, in every spelling a log line may carry them.

Shape recognisers (:mod:`plugins.redaction.patterns`) cannot see a password that appears without
its shape: in a driver's message, in a traceback's source line, in prose. The values this host
was configured with are known, though, so they are masked literally wherever they appear,
whatever surrounds them. That is the cheap, strong backstop:

* the password (and secret query parameters, and an ODBC ``PWD``) of every configured URL:
  ``[database].url``, any plugin setting whose name ends in ``url``
  (``[plugins.recovery].store_url``), and environment variables named ``*_URL`` / ``*_DSN``;
* the value of every environment variable a plugin setting ending in ``_env`` names when that name
  speaks of a secret (``[plugins.recovery].admin_token_env``), and of environment variables whose
  own name says ``PASSWORD``, ``SECRET`` or ``TOKEN`` (those only when the value looks like a
  secret: at least :data:`MIN_GUESSED_LENGTH` characters and not a flag word).

Each value is masked raw and in the spellings it takes on the way to a log line: percent-encoded
(``urllib`` and SQLAlchemy styles, both hex cases), Python ``repr``, JSON, libpq and ODBC quoting.
Values shorter than :data:`MIN_LITERAL_LENGTH` are left to the recognisers: masking every ``ab`` in
every line would destroy the logs without protecting anything a guesser could not guess.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urlsplit

MIN_LITERAL_LENGTH = 4
MIN_GUESSED_LENGTH = 8
_FLAG_WORDS = frozenset({"true", "false", "enabled", "disabled", "required", "optional"})

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY",
                          re.IGNORECASE)
_NOT_A_SECRET_NAME = re.compile(r"(?:_FILE|_PATH|_DIR|_ENV|_NAME|_URL|_TTL|_SECONDS)$",
                                re.IGNORECASE)
_URL_NAME = re.compile(r"(?:URL|DSN|URI)$", re.IGNORECASE)
_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)
_ODBC_PASSWORD = re.compile(r"(?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*(\{(?:\}\}|[^}])*\}|[^;]*)",
                            re.IGNORECASE)
_USERINFO_AS_WRITTEN = re.compile(r"^[^:/]*://[^:/@]*:(?P<password>.*)@[^@]*$", re.DOTALL)


def url_secrets(url: str) -> set[str]:
    """The password of ``url`` (decoded and as written), secret query values, ODBC ``PWD``."""
    found: set[str] = set()
    as_written = _USERINFO_AS_WRITTEN.match(url)
    if as_written:
        found |= {as_written["password"], unquote(as_written["password"])}
    try:
        parts = urlsplit(url)
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key.lower() == "odbc_connect":
                found |= odbc_secrets(value)
            elif _SECRET_QUERY_KEY.search(key):
                found.add(value)
    except ValueError:  # an unparseable URL still had its userinfo read above
        pass
    return {value for value in found if value}


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


def host_secrets(settings: Any, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value the host's settings and the environment reveal (not yet spelled out)."""
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    found |= url_secrets(str(settings.database.url))
    plugins: Mapping[str, Any] = getattr(settings, "plugins", {}) or {}
    for model in plugins.values():
        for name, value in _fields_of(model):
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
              and _looks_like_a_secret(value)):
            found.add(value)
    return found


def _looks_like_a_secret(value: str) -> bool:
    """An environment value guessed to be secret from its variable's name alone must look like
    one: a flag (``USE_SECRET_STORE=true``) masked in every line would only garble the logs."""
    return len(value) >= MIN_GUESSED_LENGTH and value.lower() not in _FLAG_WORDS


def _fields_of(model: Any) -> Iterable[tuple[str, Any]]:
    fields = getattr(type(model), "model_fields", None)
    if not fields:
        return ()
    return ((name, getattr(model, name, None)) for name in fields)


def spellings(secret: str) -> set[str]:
    """``secret`` as it may appear in a log line: raw, encoded, escaped, quoted."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe=" +"),  # SQLAlchemy's URL rendering keeps spaces and "+" raw
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
        secret.replace("\\", "\\\\").replace("'", "\\'"),  # libpq quoting
        secret.replace("}", "}}"),  # ODBC braces
    }
    forms |= {_lower_hex(form) for form in forms if "%" in form}
    return {form for form in forms if len(form) >= MIN_LITERAL_LENGTH}


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), encoded)


def literal_forms(secrets: Iterable[str]) -> frozenset[str]:
    """All spellings of all ``secrets`` long enough to be masked literally."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_LITERAL_LENGTH:
            forms |= spellings(secret)
    return frozenset(forms)
