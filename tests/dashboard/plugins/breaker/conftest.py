"""Fixtures of the breaker's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redisserver import RedisServer, redis_server


@pytest.fixture
def redis_srv(tmp_path: Path) -> Iterator[RedisServer]:
    """A private ``redis-server`` the test may stop and start (never the shared one)."""
    with redis_server(tmp_path / "redis") as server:
        yield server
