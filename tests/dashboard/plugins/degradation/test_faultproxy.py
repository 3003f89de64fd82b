"""The fault proxy itself: each fault looks to psycopg like the real thing it stands for."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.support.faultproxy import FaultProxy

DSN = "host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2"


def _connect(proxy: FaultProxy) -> psycopg.Connection:
    return psycopg.connect(DSN.format(port=proxy.port), autocommit=True)


def test_pass_forwards_queries() -> None:
    with FaultProxy() as proxy:
        with _connect(proxy) as conn:
            assert conn.execute("select 41 + 1").fetchone() == (42,)
        assert proxy.accepted_total == 1


def test_refuse_is_connection_refused_and_restores_on_the_same_port() -> None:
    with FaultProxy() as proxy:
        proxy.refuse()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError, match="refused"):
            _connect(proxy)
        assert time.monotonic() - started < 1.5
        assert proxy.accepted_total == 0
        proxy.pass_through()
        with _connect(proxy) as conn:
            assert conn.execute("select 1").fetchone() == (1,)


def test_hang_is_bounded_only_by_the_clients_timeout() -> None:
    with FaultProxy() as proxy:
        proxy.hang()
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(DSN.format(port=proxy.port).replace("=2", "=1"))
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 5
        assert proxy.accepted_total >= 1


def test_cut_resets_a_running_query_and_new_connections_pass() -> None:
    with FaultProxy() as proxy:
        conn = _connect(proxy)
        with pytest.raises(psycopg.OperationalError):
            threading.Timer(0.3, proxy.cut).start()
            conn.execute("select pg_sleep(5)")
        assert conn.closed or conn.broken
        with _connect(proxy) as fresh:
            assert fresh.execute("select 1").fetchone() == (1,)


def test_hang_freezes_live_connections_until_restored() -> None:
    with FaultProxy() as proxy, _connect(proxy) as conn:
        proxy.hang()
        threading.Timer(0.5, proxy.pass_through).start()
        started = time.monotonic()
        assert conn.execute("select 7").fetchone() == (7,)
        assert time.monotonic() - started >= 0.4


def _round_trip(conn: psycopg.Connection) -> float:
    started = time.monotonic()
    assert conn.execute("select 1").fetchone() == (1,)
    return time.monotonic() - started


def test_latency_delays_a_live_connection_without_breaking_it() -> None:
    with FaultProxy() as proxy, _connect(proxy) as conn:
        backend = conn.info.backend_pid
        proxy.latency(150)
        assert proxy.mode == "latency"
        slow = _round_trip(conn)
        assert slow >= 0.3  # 150 ms each way
        with _connect(proxy) as fresh:  # new connections are delayed too, and still work
            assert _round_trip(fresh) >= 0.3
        proxy.pass_through()
        assert _round_trip(conn) < slow
        assert conn.info.backend_pid == backend  # the same live link all along
        assert proxy.accepted_total == 2


def test_latency_keeps_a_large_answer_whole_and_in_order() -> None:
    with FaultProxy() as proxy, _connect(proxy) as conn:
        proxy.latency(20)
        rows = conn.execute("select g, repeat('x', 100) from generate_series(1, 20000) g"
                            ).fetchall()
        assert [row[0] for row in rows] == list(range(1, 20001))
        with pytest.raises(ValueError):
            proxy.latency(-1)
