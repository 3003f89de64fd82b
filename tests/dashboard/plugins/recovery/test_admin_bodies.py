"""Hostile and malformed admin bodies, in-process: each one is 400 and audited as refused.

The same forms through a real gunicorn (chunked bodies, a PostgreSQL store) are in
``test_gunicorn_bodies.py``; here the reader and the masking are checked form by form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dashboard.host import Host
from dashboard.plugins.recovery.body import MAX_BODY_BYTES, nesting_depth

TOKEN = "tok-3f9a-secret-value"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
RESTART = "/admin/api/worker/restart"


def toml(tmp_path: Path, database_url: str | None = None, store_url: str = "") -> str:
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    return (f'{database}[plugins.recovery]\naudit_log = "{tmp_path / "audit.jsonl"}"\n'
            f'store_url = "{store_url}"\n')


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def client(dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    return dashboard_client(dashboard_host(toml(tmp_path)))


MALFORMED: dict[str, bytes] = {
    "bad JSON": b'{"reason": "x",}',
    "not an object": b'["reason"]',
    "reason not a string": b'{"reason": 5}',
    "reason empty": b'{"reason": "   "}',
    "reason too long": json.dumps({"reason": "r" * 501}).encode(),
    "override not a bool": b'{"reason": "x", "override": "yes"}',
    "acknowledge not a bool": b'{"reason": "x", "acknowledge": 1}',
    "NaN": b'{"reason": "x", "override": NaN}',
    "unpaired surrogate": b'{"reason": "broken \\ud800 text"}',
    "unpaired surrogate in a key": b'{"reason": "x", "\\udc00": true}',
    "NUL escaped": b'{"reason": "nul \\u0000 here"}',
    "NUL raw": b'{"reason": "nul \x00 here"}',
    "not UTF-8": b'{"reason": "\xff\xfe"}',
    "nested 33 deep": b'{"reason": "x", "extra": ' + b"[" * 32 + b"]" * 32 + b"}",
    "nested 30,000 deep": b"[" * 30_000 + b"]" * 30_000,
    "over 16 KiB": json.dumps({"reason": "x", "pad": "p" * MAX_BODY_BYTES}).encode(),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_each_malformed_body_is_400_and_audited_refused(client: Any, tmp_path: Path,
                                                        name: str) -> None:
    response = client.post(RESTART, data=MALFORMED[name], headers=AUTH)
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == "VALIDATION_ERROR" and body["error"]["retryable"] is False
    line = audit_lines(tmp_path)[-1]
    assert (line["event"], line["decision"], line["restart_id"]) == (
        "manual_restart", "refused", None)
    assert "\x00" not in json.dumps(line) and "\\ud800" not in json.dumps(line)


def test_depth_32_is_still_accepted_and_depth_is_measured_outside_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert nesting_depth(b'{"a": "\\"[[[", "b": [[]]}') == 3
    assert nesting_depth(b"[" * 30_000) == 30_000


def test_a_body_nested_exactly_32_deep_is_read(client: Any, tmp_path: Path) -> None:
    body = b'{"reason": "deep but fine", "extra": ' + b"[" * 31 + b"]" * 31 + b"}"
    response = client.post(RESTART, data=body, headers=AUTH)
    assert response.status_code == 503  # read and decided: no gunicorn master to reload here
    assert response.get_json()["error"]["code"] == "RESTART_UNAVAILABLE"


def test_a_chunked_body_without_length_is_read(client: Any) -> None:
    payload = json.dumps({"reason": "chunked"}).encode()
    response = client.post(RESTART, headers={**AUTH, "Transfer-Encoding": "chunked"},
                           environ_overrides=_unknown_length(_Stream(payload)))
    assert response.get_json()["error"]["code"] == "RESTART_UNAVAILABLE"


def test_a_chunked_body_is_read_only_to_its_bound(client: Any) -> None:
    endless = _Stream(b'{"reason": "' + b"a" * (10 * MAX_BODY_BYTES))
    response = client.post(RESTART, headers={**AUTH, "Transfer-Encoding": "chunked"},
                           environ_overrides=_unknown_length(endless))
    assert response.status_code == 400
    assert endless.consumed <= MAX_BODY_BYTES + 1


def test_the_reason_has_the_token_and_every_configured_secret_masked(
        dashboard_host: Callable[..., Host], dashboard_client: Callable[[Host], Any],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_database: str) -> None:
    # Trust authentication: the passwords are accepted and ignored, so both URLs work.
    database_url = f"postgresql+psycopg://postgres:Db-Pa55word!@127.0.0.1:5432/{pg_database}"
    store_url = f"postgresql+psycopg://postgres:St0re%2FSecret@127.0.0.1:5432/{pg_database}"
    monkeypatch.setenv("DASHBOARD_ADMIN_TOKEN", TOKEN)
    host = dashboard_host(toml(tmp_path, database_url, store_url))
    client = dashboard_client(host)
    reason = (f"pasted {TOKEN} and Db-Pa55word! and St0re/Secret and St0re%2FSecret by mistake")
    response = client.post(RESTART, json={"reason": reason}, headers=AUTH)
    assert response.get_json()["error"]["code"] == "RESTART_UNAVAILABLE"
    history = client.get("/admin/api/worker/status", headers=AUTH).get_json()["data"][
        "restart_history"]
    stored = history[0]["reason"]
    audited = audit_lines(tmp_path)[-1]["reason"]
    for text in (stored, audited):
        for secret in (TOKEN, "Db-Pa55word!", "St0re/Secret", "St0re%2FSecret"):
            assert secret not in text, text
        assert text.startswith("pasted *** and ***")


class _Stream:
    """A request body of unknown length, as gunicorn hands over a de-chunked one."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        size = len(self.data) - self.consumed if size < 0 else size
        chunk = self.data[self.consumed:self.consumed + size]
        self.consumed += len(chunk)
        return chunk


def _unknown_length(stream: _Stream) -> dict[str, Any]:
    return {"wsgi.input": stream, "wsgi.input_terminated": True, "CONTENT_LENGTH": ""}
