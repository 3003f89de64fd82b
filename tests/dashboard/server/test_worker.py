"""When the project's worker hands a connection to a thread (dashboard.server.worker)."""

from __future__ import annotations

from types import SimpleNamespace

from dashboard.server.worker import head_complete, max_head_size


def test_a_head_is_complete_at_its_empty_line() -> None:
    assert not head_complete(b"GET / HTTP/1.1\r\nHost: x\r\n", 1000)
    assert head_complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1000)
    assert head_complete(b"GET / HTTP/1.1\r\n\r\nbody bytes", 1000)


def test_a_head_the_parser_refuses_at_once_goes_to_it_without_waiting() -> None:
    assert head_complete(b"GET / HTTP/1.1\nHost: x", 1000), "a bare LF is refused on sight"
    assert head_complete(b"x" * 1001, 1000), "longer than any head the parser accepts"


def test_the_size_bound_follows_gunicorns_limits() -> None:
    cfg = SimpleNamespace(limit_request_line=4094, limit_request_fields=100,
                          limit_request_field_size=8190)
    assert max_head_size(cfg) == 4094 + 100 * 8192 + 4
    unlimited = SimpleNamespace(limit_request_line=0, limit_request_fields=0,
                                limit_request_field_size=0)
    assert max_head_size(unlimited) > 8190
