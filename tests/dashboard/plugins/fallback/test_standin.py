"""The stale answer itself: its Age header and its meta tell the same age."""

from __future__ import annotations

import json

import pytest

from dashboard.plugins.fallback.standin import Degraded, stand_in
from dashboard.plugins.fallback.store import KeptAnswer

KEPT_BODY = b'{"success":true,"data":{"rows":[1]},"meta":{"timestamp":"t","request_id":"r"}}'


@pytest.mark.parametrize("age", [0.0, 0.4, 0.9996, 1.0, 59.9999, 61.25])
def test_the_age_header_is_the_whole_seconds_of_the_meta_age(age: float) -> None:
    now = 1_800_000_000.0
    answer = stand_in(KeptAnswer("/api/reports/x", now - age, KEPT_BODY),
                      Degraded("DB_UNAVAILABLE", 5), {"REQUEST_METHOD": "GET"}, now)
    assert answer is not None
    body, headers = answer
    meta = json.loads(body)["meta"]
    assert dict(headers)["Age"] == str(int(meta["age_seconds"]))
    assert meta["age_seconds"] == pytest.approx(age, abs=0.001)
