"""Which passed ``200`` answers the writer keeps: by their headers and their envelope."""

from __future__ import annotations

import pytest

from dashboard.plugins.fallback.keeping import is_enveloped_success, keepable, may_keep
from dashboard.plugins.fallback.store import MAX_BODY_BYTES

GOOD = b'{"success":true,"data":{"rows":[]},"meta":{}}'
JSON = ("Content-Type", "application/json")


@pytest.mark.parametrize("headers", [
    [JSON],
    [("content-type", "Application/JSON; charset=utf-8"), ("Content-Length", "45")],
    [JSON, ("Cache-Control", "max-age=0, public"), ("X-Request-ID", "r1")],
])
def test_json_answers_that_nothing_forbids_may_be_kept(headers: list[tuple[str, str]]) -> None:
    assert keepable(headers)


@pytest.mark.parametrize("headers", [
    [],
    [("Content-Type", "text/html; charset=utf-8")],
    [JSON, ("Cache-Control", "private, max-age=0")],
    [JSON, ("cache-control", "No-Store")],
    [JSON, ("Set-Cookie", "session=1")],
    [JSON, ("Content-Length", str(MAX_BODY_BYTES + 1))],
    [JSON, ("Content-Length", "twelve")],
])
def test_private_uncacheable_cookie_setting_big_or_non_json_answers_are_not(
        headers: list[tuple[str, str]]) -> None:
    assert not keepable(headers)


@pytest.mark.parametrize(("body", "kept"), [
    (GOOD, True),
    (b'{"success":true,"data":null}', True),
    (b'{"success":false,"error":{"code":"X"}}', False),
    (b'{"success":true}', False),
    (b'{"success":true,"data":1,"meta":[]}', False),
    (b"[1,2]", False),
    (b"not json", False),
])
def test_only_success_envelopes_are_kept(body: bytes, kept: bool) -> None:
    assert is_enveloped_success(body) is kept


def test_a_body_over_the_limit_is_not_kept_whatever_its_headers_say() -> None:
    padded = GOOD[:-1] + b',"pad":"' + b"x" * MAX_BODY_BYTES + b'"}'
    assert is_enveloped_success(padded)
    assert may_keep([JSON], GOOD) and not may_keep([JSON], padded)
