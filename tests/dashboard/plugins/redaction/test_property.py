"""Property: whatever the user and password, no emitted output contains the password.

Users and passwords are drawn from punctuation (``@ / : ; % ' " { } \\``), letters, digits,
spaces and any printable unicode (control characters aside: a newline ends a log line, so a raw
newline inside a password is left to the configured-literal backstop, tested separately).
"""

from __future__ import annotations

import io
import json
import logging
import string
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL

from dashboard.plugins.redaction.install import install, uninstall
from dashboard.plugins.redaction.literals import literal_forms
from dashboard.plugins.redaction.redactor import Redactor

_characters = st.one_of(
    st.sampled_from(string.punctuation + " " + string.ascii_letters + string.digits),
    st.characters(blacklist_categories=("Cs", "Cc")),
)
passwords = st.text(_characters, min_size=6, max_size=24)
users = st.text(_characters, min_size=1, max_size=12)
PLACEHOLDER = "PLACEHOLDER-VALUE"
_PROPERTY_SETTINGS = settings(max_examples=250, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])


def _percent_forms(password: str) -> set[str]:
    rendered = URL.create("x", username="u", password=password, host="h").render_as_string(False)
    return {password, quote(password, safe=""), quote(password), quote_plus(password),
            rendered[len("x://u:"):rendered.rindex("@")]}


def _emit_every_form(user: str, password: str) -> str:
    """Log the credential in every structured form a driver, an app or a config dump uses."""
    logger = logging.getLogger("redaction-test.property")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s | %(dsn)s"))
    logger.addHandler(handler)
    encoded = (f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}"
               "@db.example:5432/mes")
    rendered = URL.create("oracle+oracledb", username=user, password=password, host="db",
                          port=1521).render_as_string(hide_password=False)
    raw = f"mysql+pymysql://{user}:{password}@[::1]:3306/mes"
    libpq = password.replace("\\", "\\\\").replace("'", "\\'")
    try:
        logger.info("encoded %s", encoded, extra={"dsn": raw})
        logger.info("rendered %s", rendered, extra={"dsn": rendered})
        logger.info(f"raw {raw} failed", extra={"dsn": {"url": raw}})
        logger.info(f"host=db user=x password='{libpq}' dbname=mes", extra={"dsn": "-"})
        logger.info("DRIVER={ODBC};UID=sa;PWD={%s};X=1", password.replace("}", "}}"),
                    extra={"dsn": "-"})
        logger.info(json.dumps({"user": user, "password": password}), extra={"dsn": "-"})
        logger.info("connect_args=%r", {"user": user, "password": password},
                    extra={"dsn": {"password": password}})
        if '"' not in password:
            logger.info(f'sqlplus scott/"{password}"@db:1521/svc', extra={"dsn": "-"})
        try:
            raise ConnectionError(f"cannot connect to {raw}")
        except ConnectionError:
            logger.exception("database fault", extra={"dsn": encoded})
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@_PROPERTY_SETTINGS
@given(user=users, password=passwords)
def test_recognised_forms_never_show_the_password(user: str, password: str) -> None:
    uninstall()  # a fresh installation per example: configured literals accumulate otherwise
    install(Redactor("***"))
    forms = _percent_forms(password)
    assume(not any(form in user for form in forms))
    assume(not any(form in _emit_every_form(user, PLACEHOLDER) for form in forms))
    output = _emit_every_form(user, password)
    assert [form for form in forms if form in output] == [], output


@_PROPERTY_SETTINGS
@given(user=users, password=st.text(st.characters(blacklist_categories=("Cs",)), min_size=6,
                                    max_size=24))
def test_a_configured_password_never_shows_whatever_surrounds_it(user: str,
                                                                 password: str) -> None:
    """Also newlines and control characters: the literal backstop needs no shape."""
    uninstall()
    install(Redactor("***", literal_forms([password])))
    forms = _percent_forms(password)
    assume(not any(form in user for form in forms))
    prose = f"auth failed for {user} with {password}; retry {quote(password)} later"
    baseline = f"auth failed for {user} with ***; retry *** later"
    assume(not any(form in baseline for form in forms))
    logger = logging.getLogger("redaction-test.property-literal")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        logger.warning(prose)
        logger.warning("%s", {"password_hint": password, "n": 1})
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert [form for form in forms if form in output] == [], output


def test_without_redaction_the_same_forms_show_the_password() -> None:
    """The property can fail: unfiltered, the emitted forms carry the password."""
    output = _emit_every_form("us@r:x", "p@ss w/rd'\"}%;é")
    assert "p@ss w/rd'\"}%;é" in output
    assert quote("p@ss w/rd'\"}%;é", safe="") in output
