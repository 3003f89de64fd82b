"""The linear patterns mask at least what the quadratic ones did.

Property against the pre-issue-13 patterns (kept as the bench's baseline in
``bench/redaction_quadratic.py``): on short random texts built from the pieces of every leak form,
a marker secret the old patterns masked is masked by the new ones too. (The new ones may mask
more: a password after "İ", whose lower case is two characters, was missed before.) The texts
stay short, so the old patterns' quadratic cost does not matter here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.plugins.redaction.redactor import Redactor

MARKER = "SECRETX"
_PIECES = ["x://", "postgresql://", "@", "%40", ":", "%3A", "/", "%2F", "'", '"', "{", "}",
           "}}", "\\", "=", "%3D", "%7B", "%7D", "%22", ";", "&", "$", "#", ".", "-", "+", " ",
           "\t", "\n", "a", "scott", "password", "PWD", "pw", "token", "Bearer ", "Basic ",
           "user/", MARKER, "db", "é"]


def _old_patterns() -> ModuleType:
    path = Path(__file__).resolve().parents[4] / "bench" / "redaction_quadratic.py"
    spec = importlib.util.spec_from_file_location("redaction_quadratic", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


old = _old_patterns()
new = Redactor("***")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=30))
def test_what_the_old_patterns_masked_the_new_ones_mask(pieces: list[str]) -> None:
    text = "".join(pieces)
    if MARKER not in old.redact(text):
        assert MARKER not in new.redact(text)


def test_the_old_patterns_are_the_real_baseline() -> None:
    """They mask the corpus's shapes, so the property above compares two working redactors."""
    assert old.redact("postgresql://mes:SECRETX@db/mes") == "postgresql://mes:***@db/mes"
    assert old.redact("scott/SECRETX@db:1521/XE") == "scott/***@db:1521/XE"
