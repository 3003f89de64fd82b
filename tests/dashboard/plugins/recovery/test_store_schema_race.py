"""Eight processes creating the SQLite history store on one fresh file at the same moment.

That is a host's start: every worker (and the master) builds its store when it boots. A deferred
transaction that reads the schema and then writes it cannot wait for the lock (SQLite answers
"database is locked" at once, whatever the busy timeout), so the store takes the write lock up
front and retries a bounded number of times.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

PROCESSES = 8
ROUNDS = 4  # one fresh file per round: the race is lost often, not always


def _create(base: str, start: Any, results: Any) -> None:
    from dashboard.plugins.recovery.store import RestartStore
    from dashboard.plugins.recovery.storeengine import store_engine

    for round_ in range(ROUNDS):
        store = RestartStore(store_engine("", Path(base) / str(round_)))
        start.wait(120)  # a barrier: all eight hit the fresh file together
        try:
            store.create_schema()
            results.put("ok")
        except Exception as error:  # reported to the test, which shows it
            results.put(f"{type(error).__name__}: {str(error).splitlines()[0]}")
        finally:
            store.close()


def test_eight_processes_create_the_schema_of_one_fresh_file(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")  # no inherited engines or locks
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [context.Process(target=_create, args=(str(tmp_path), start, results))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in range(PROCESSES * ROUNDS)]
    for process in processes:
        process.join(60)
    assert [o for o in outcomes if o != "ok"] == []

    from dashboard.plugins.recovery.store import RestartStore
    from dashboard.plugins.recovery.storeengine import store_engine

    store = RestartStore(store_engine("", tmp_path / "0"))
    try:
        assert {"recovery_restarts", "recovery_heartbeats", "recovery_lock"} <= set(
            inspect(store.engine).get_table_names())
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM recovery_lock")).scalar() == 1
    finally:
        store.close()
