"""The leak corpus: every form, through real handlers, emits zero secret bytes."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from tests.dashboard.plugins.redaction.conftest import Captured
from tests.dashboard.plugins.redaction.corpus import FORMS, LeakForm


def _spellings(secret: str) -> set[str]:
    """The secret raw, percent-encoded, and escaped as JSON, libpq and ODBC would write it."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(secret)[1:-1], secret.replace("'", "\\'"), secret.replace("}", "}}")}


def _leaked(form: LeakForm, output: str) -> set[str]:
    return {spelling for spelling in _spellings(form.secret) if spelling in output}


def test_the_corpus_has_at_least_forty_distinct_forms() -> None:
    names = [form.name for form in FORMS]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


def test_without_redaction_every_form_leaks(captured: Captured) -> None:
    """The corpus is meaningful: unfiltered, each form really puts its secret in the output."""
    silent = []
    for form in FORMS:
        captured.clear()
        form.emit(captured.logger)
        if not _leaked(form, captured.text()):
            silent.append(form.name)
    assert silent == []


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_no_secret_reaches_any_handler(form: LeakForm, captured: Captured, redact_with) -> None:
    redact_with(literals=(form.secret,) if form.configured else ())
    form.emit(captured.logger)
    output = captured.text()
    assert output.count("\n") >= 1 and len(output) > 20, "the record must be emitted, not dropped"
    assert _leaked(form, output) == set(), output
    assert "***" in output
