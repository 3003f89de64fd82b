"""The syncer seat across real processes: one holder per host, taken over when it is killed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dashboard.plugins.breaker.cluster.seat import SyncerSeat
from tests.support.server import REPO_ROOT

HOLDER = """
import sys, time
from pathlib import Path
from dashboard.plugins.breaker.cluster.seat import SyncerSeat
seat = SyncerSeat(Path(sys.argv[1]))
print("took" if seat.try_take() else "refused", flush=True)
time.sleep(120)
"""


def test_one_process_holds_the_seat_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "breaker" / "syncer.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "took"
        seat = SyncerSeat(path)
        assert not seat.try_take() and not seat.held
        holder.kill()
        holder.wait(10)
        deadline = time.monotonic() + 10
        while not seat.try_take():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert seat.held and seat.try_take()  # held: taking again is a no-op
        other = SyncerSeat(path)
        assert not other.try_take()
        seat.release()
        assert other.try_take()
        other.release()
    finally:
        holder.kill()
        holder.wait(10)
