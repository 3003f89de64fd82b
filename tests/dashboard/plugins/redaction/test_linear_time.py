"""Redaction costs a constant times reading the line, whatever the line holds.

Measured as ratios (see :mod:`tests.dashboard.plugins.redaction.hostile`): hostile 16 KiB text built
from the openings of every leak form of the corpus against a benign 16 KiB access line. A
backtracking pattern that reads ahead from every candidate shows as a ratio in the hundreds (the
pre-issue-13 patterns: ``x://`` after an ``@`` cost about 1 s, 400x); the bound of 10 leaves room
for a loaded machine and for patterns that skip benign text faster than text that is all candidates.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.plugins.redaction.patterns import LEAD, RECOGNISERS, names_a_secret
from dashboard.plugins.redaction.redactor import Redactor
from tests.dashboard.plugins.redaction.hostile import (
    BENIGN,
    SHAPES,
    SIZE,
    cost_ratio,
    fastest,
    fill,
)

BOUND = 10.0
redactor = Redactor("***")


def _alone(recogniser_name: str) -> Callable[[str], object]:
    """One recogniser's masking, ungated, as the redactor runs it (after the lead character)."""
    recogniser = next(r for r in RECOGNISERS if r.name == recogniser_name)
    mask = recogniser.masker("***")
    return lambda text: mask(LEAD + text, LEAD + text.lower())


PATTERNS: dict[str, Callable[[str], object]] = {
    **{recogniser.name: _alone(recogniser.name) for recogniser in RECOGNISERS},
    "names_a_secret": names_a_secret,
}


def test_the_benign_line_is_long_untouched_and_exercises_every_recogniser() -> None:
    assert len(BENIGN) == SIZE and all(len(text) == SIZE for text in SHAPES.values())
    assert redactor.redact(BENIGN) == BENIGN
    lowered = BENIGN.lower()
    assert all(recogniser.applies_to(lowered) for recogniser in RECOGNISERS)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_a_hostile_line_is_redacted_in_about_the_time_of_a_benign_one(shape: str) -> None:
    ratio = cost_ratio(redactor.redact, SHAPES[shape])
    assert ratio <= BOUND, f"{shape}: {ratio:.1f}x the benign line"


@pytest.mark.parametrize("pattern", PATTERNS, ids=list(PATTERNS))
def test_each_pattern_alone_stays_within_the_budget_of_a_benign_line(pattern: str) -> None:
    """Every pattern, ungated, on every shape: at most BOUND times the whole redaction of the
    benign line (one pattern alone can be far cheaper on benign text than on text that is all
    candidates, so its own benign cost would be no fair yardstick)."""
    budget = fastest(redactor.redact, BENIGN, rounds=7)
    measure = PATTERNS[pattern]
    over = {}
    for shape, text in SHAPES.items():
        cost = fastest(measure, text, rounds=3)
        if cost > BOUND * budget:  # measure again before blaming: a neighbour may have woken up
            budget = min(budget, fastest(redactor.redact, BENIGN, rounds=7))
            cost = min(cost, fastest(measure, text, rounds=7))
        if cost > BOUND * budget:
            over[shape] = round(cost / budget, 1)
    assert over == {}


def test_the_measure_does_detect_a_quadratic_pattern() -> None:
    """The yardstick can fail: the pre-issue-13 URL pattern's shape, scaled down to stay quick."""
    quadratic = re.compile(r"\w+://[^\r\n]*@")
    ratio = cost_ratio(lambda text: quadratic.search(text), SHAPES["schemes-after-at"], rounds=2)
    assert ratio > 10 * BOUND


# --- fuzz ------------------------------------------------------------------------------------
_DANGEROUS = ["x://", "@", "%40", ":", "%3A", "/", "%2F", "'", '"', "{", "}", "}}", "\\", "=",
              "%3D", "%7B", "%7D", "%22", ";", "&", "$", "#", ".", "-", "+", " ", "\t", "\n",
              "a", "scott", "password", "PWD", "pw", "token", "Bearer ", "Basic ", "user/"]
_SECRETS = st.text(string.ascii_letters + string.digits, min_size=10, max_size=16)
_LEAK_FORMS = [
    "postgresql+psycopg://mes:{}@db:5432/mes",
    "redis://:{}@cache:6379/0",
    "host=db user=mes password={} dbname=mes",
    "Driver={{ODBC}};UID=sa;PWD={{{}}};",
    "Server=db;Pwd={};Encrypt=yes",
    '{{"user": "mes", "password": "{}"}}',
    "sqlplus scott/{}@db:1521/XEPDB1",
    'connect scott/"{}"@orcl',
    "Authorization: Bearer {}",
    "export DB_PASSWORD={}",
]
_FUZZ_SETTINGS = settings(max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])


@_FUZZ_SETTINGS
@given(pieces=st.lists(st.sampled_from(_DANGEROUS), min_size=1, max_size=12))
def test_fuzz_any_repetition_of_dangerous_pieces_costs_a_bounded_ratio(pieces: list[str]) -> None:
    hostile = fill("".join(pieces))
    assert isinstance(redactor.redact(hostile), str)
    ratio = cost_ratio(redactor.redact, hostile, rounds=3)
    if ratio > BOUND:  # measure again before blaming
        ratio = min(ratio, cost_ratio(redactor.redact, hostile, rounds=7))
    assert ratio <= BOUND, f"{pieces!r}: {ratio:.1f}x"


@_FUZZ_SETTINGS
@given(pieces=st.lists(st.sampled_from(_DANGEROUS), max_size=40), secret=_SECRETS,
       form=st.sampled_from(_LEAK_FORMS))
def test_fuzz_a_secret_in_a_leak_form_stays_masked_among_dangerous_pieces(
        pieces: list[str], secret: str, form: str) -> None:
    junk = "".join(pieces)
    text = f"{junk}\n{form.format(secret)}\n{junk}"
    assert secret not in redactor.redact(text)
