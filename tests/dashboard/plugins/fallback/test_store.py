"""The per-host answer store and its writer: bounds, recency, damage, and a full hand-off."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from dashboard.plugins.fallback.keeper import Keeper
from dashboard.plugins.fallback.store import AnswerStore, KeptAnswer
from dashboard.plugins.fallback.writer import AnswerWriter

GOOD = b'{"success":true,"data":{"n":1},"meta":{}}'
JSON = [("Content-Type", "application/json")]


def answer(key: str, body: bytes = GOOD, stored_at: float = 1_700_000_000.0) -> KeptAnswer:
    return KeptAnswer(key, stored_at, body)


def age(store: AnswerStore, key: str, seconds_ago: float) -> None:
    """Make ``key`` look last used ``seconds_ago`` (recency is the file's mtime)."""
    then = time.time() - seconds_ago
    os.utime(store.path_for(key), (then, then))


def test_an_answer_reads_back_as_written_and_another_store_on_the_directory_sees_it(
        tmp_path: Path) -> None:
    AnswerStore(tmp_path, max_entries=10).put(answer("/api/reports/a?x=1"))
    other_worker = AnswerStore(tmp_path, max_entries=10)
    assert other_worker.get("/api/reports/a?x=1") == answer("/api/reports/a?x=1")
    assert other_worker.get("/api/reports/a") is None
    assert [p.name for p in tmp_path.iterdir()] == [other_worker.file_name("/api/reports/a?x=1")]


def test_a_process_trusts_what_it_read_for_a_while_and_sees_its_own_writes_at_once(
        tmp_path: Path) -> None:
    """During an outage every request asks: a flood costs a dict lookup, not a file read."""
    worker = AnswerStore(tmp_path, max_entries=10, recent_seconds=30)
    other_worker = AnswerStore(tmp_path, max_entries=10)
    assert worker.get("k") is None
    other_worker.put(answer("k"))
    assert worker.get("k") is None  # not found a moment ago: not looked for again yet
    assert worker.read("k") == answer("k")  # (the file is there)
    worker.put(answer("k", stored_at=2.0))  # its own write is seen at once
    assert worker.get("k") == answer("k", stored_at=2.0)
    worker.path_for("k").unlink()
    assert worker.get("k") == answer("k", stored_at=2.0)  # read a moment ago: trusted
    assert AnswerStore(tmp_path, max_entries=10, recent_seconds=0).get("k") is None


def test_max_entries_drops_the_least_recently_used(tmp_path: Path) -> None:
    store = AnswerStore(tmp_path, max_entries=3)
    for key in ("a", "b", "c"):
        store.put(answer(key))
    age(store, "a", 30)
    age(store, "b", 20)
    age(store, "c", 10)
    store.get("a")          # standing in with "a" makes it recently used
    store._scanned_at = float("-inf")
    store.put(answer("d"))
    assert [k for k in "abcd" if store.get(k) is not None] == ["a", "c", "d"]


def test_the_size_bound_drops_oldest_until_it_fits(tmp_path: Path) -> None:
    body = b'{"success":true,"data":"' + b"x" * 1000 + b'"}'
    store = AnswerStore(tmp_path, max_entries=100, max_bytes=3500)
    for index, key in enumerate("abc"):
        store.put(answer(key, body))
        age(store, key, 30 - index)
    store._scanned_at = float("-inf")
    store.put(answer("d", body))
    kept = [k for k in "abcd" if store.get(k) is not None]
    assert kept == ["b", "c", "d"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 3500
    assert store.put(answer("huge", b"x" * 4000)) is False  # never fits: not written at all


@pytest.mark.parametrize("damage", [b"", b"\x00\x01garbage", b"DFB1\n{not json\nbody",
                                    b'DFB1\n{"key": "other", "stored_at": 1}\n{}'])
def test_a_corrupt_entry_reads_as_nothing_and_is_logged_once(
        tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture) -> None:
    store = AnswerStore(tmp_path, max_entries=10)
    store.put(answer("k"))
    store.path_for("k").write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="dashboard.fallback"):
        assert [store.get("k") for _ in range(3)] == [None, None, None]
    assert len(caplog.records) == 1 and "corrupt" in caplog.records[0].getMessage()
    assert store.stats().entries == 0
    store.put(answer("k"))
    assert store.get("k") == answer("k")  # the next good answer replaces the damage


def test_an_unreadable_store_is_empty_logged_once_and_never_raises(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    store = AnswerStore(not_a_dir, max_entries=10)
    with caplog.at_level(logging.WARNING, logger="dashboard.fallback"):
        assert store.get("k") is None and store.get("k") is None
        assert store.put(answer("k")) is False and store.put(answer("j")) is False
        assert store.stats().entries == 0
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "unreadable" in m]) == 1
    assert len([m for m in messages if "cannot be written" in m]) == 1


def test_stats_count_entries_bytes_and_the_oldest_answer(tmp_path: Path) -> None:
    store = AnswerStore(tmp_path, max_entries=10)
    store.put(answer("a", stored_at=100.0))
    store.put(answer("b", stored_at=50.0))
    stats = store.stats()
    assert stats.entries == 2 and stats.oldest_stored_at == 50.0
    assert stats.bytes == sum(p.stat().st_size for p in tmp_path.iterdir())


def request(path: str, query: str = "") -> tuple[str, str, None, None, None]:
    return (path, query, None, None, None)


def test_the_writer_keeps_json_answers_enveloped_or_plain(tmp_path: Path) -> None:
    """Any ``200`` with a JSON body is kept (an envelope stands in as one, plain JSON as it
    was); errors, non-JSON, private and HTML answers are not."""
    keeper = Keeper(AnswerStore(tmp_path, max_entries=10), identity="0123456789abcdef")
    writer = AnswerWriter(keeper.keep)
    writer.offer(request("/good"), 1.0, JSON, [GOOD[:10], GOOD[10:]])
    writer.offer(request("/list"), 1.0, JSON, [b"[1,2]"])
    writer.offer(request("/problem"), 1.0, [("Content-Type", "application/problem+json")],
                 [b'{"n":1}'])
    writer.offer(request("/plain"), 1.0, JSON, [b"not json"])
    writer.offer(request("/private"), 1.0, [*JSON, ("Cache-Control", "private")], [GOOD])
    writer.offer(request("/html"), 1.0, [("Content-Type", "text/html")], [GOOD])
    assert writer.flush()
    good = keeper.lookup(request("/good"))
    assert good == KeptAnswer(keeper.key_of("/good"), 1.0, GOOD, True, tuple(JSON))
    listed = keeper.lookup(request("/list"))
    assert listed is not None and listed.body == b"[1,2]" and listed.enveloped is False
    assert keeper.lookup(request("/problem")) is not None
    refused = ("/plain", "/private", "/html")
    assert [keeper.lookup(request(path)) for path in refused] == [None] * len(refused)
    writer.close()


def test_a_full_hand_off_drops_new_answers_without_blocking(tmp_path: Path) -> None:
    release = threading.Event()
    entered = threading.Event()
    written: list[str] = []

    def slow_write(key: str, *_passed: object) -> None:
        entered.set()
        release.wait(30)
        written.append(key)

    writer = AnswerWriter(slow_write, capacity=2)
    assert writer.offer("first", 1.0, JSON, [GOOD])
    assert entered.wait(30)  # the writer is stuck on "first": the hand-off holds the rest
    assert writer.offer("a", 1.0, JSON, [GOOD]) and writer.offer("b", 1.0, JSON, [GOOD])
    started = time.perf_counter()
    assert writer.offer("c", 1.0, JSON, [GOOD]) is False
    assert time.perf_counter() - started < 0.5  # dropped at once (the writer is blocked)
    assert writer.offer("a", 2.0, JSON, [GOOD]) is True  # a newer one for a pending key replaces it
    assert writer.dropped == 1
    release.set()
    assert writer.flush()
    assert written == ["first", "a", "b"]
    writer.close()


def test_a_flood_for_one_key_is_written_a_few_times_and_the_last_answer_is_kept(
        tmp_path: Path) -> None:
    """Coalescing, not throttling: the writer takes a batch per interval, so a key offered
    thousands of times is written a handful of times, and the last offer always lands (without
    a flush: the writer gets to it on its own)."""
    store = AnswerStore(tmp_path, max_entries=10)
    written: list[float] = []

    def put(key: str, stored_at: float, _headers: object, chunks: list[bytes]) -> object:
        result = store.put(KeptAnswer(key, stored_at, b"".join(chunks)))
        written.append(stored_at)  # once it is in the store, where the test reads it
        return result

    writer = AnswerWriter(put, coalesce_seconds=0.05)
    offers = 3000
    for n in range(1, offers + 1):
        assert writer.offer("k", float(n), JSON, [GOOD])
    deadline = time.monotonic() + 30
    while not written or written[-1] != float(offers):
        assert time.monotonic() < deadline, written[-5:]
        time.sleep(0.01)
    assert len(written) < offers / 10
    assert written == sorted(written)
    kept = store.get("k")
    assert kept is not None and kept.stored_at == float(offers)
    writer.close()
