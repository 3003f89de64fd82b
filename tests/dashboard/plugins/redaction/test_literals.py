"""Configured secrets in the spellings a log line may carry them."""

from __future__ import annotations

from dashboard.plugins.redaction.literals import MIN_LITERAL_LENGTH, literal_forms, spellings


def test_spellings_cover_encodings_and_escapes() -> None:
    forms = spellings('p@ss "wörd"/x')
    for expected in ['p@ss "wörd"/x', "p%40ss%20%22w%C3%B6rd%22%2Fx", "p%40ss+%22w%C3%B6rd%22%2Fx",
                     "p%40ss%20%22w%C3%B6rd%22/x", "p%40ss%20%22w%c3%b6rd%22%2fx",
                     'p@ss \\"w\\u00f6rd\\"/x', "p%40ss %22w%C3%B6rd%22%2Fx"]:
        assert expected in forms


def test_short_values_are_left_to_the_recognisers() -> None:
    short = "x" * (MIN_LITERAL_LENGTH - 1)
    assert literal_forms([short]) == frozenset()
    assert short + "y" in literal_forms([short + "y"])
