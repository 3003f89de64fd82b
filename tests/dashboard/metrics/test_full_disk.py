"""A full runtime directory makes a metric update fail with ENOSPC instead of killing the worker.

The start-up check (``test_runtime_lock.py``) refuses a directory that is already nearly full; this
is the disk filling up later. A real 64 KiB tmpfs (we run as root; skipped only where mounting is
not allowed): sample files are created and grown until the filesystem is full, in a child process
whose death by ``SIGBUS`` (what ``prometheus_client``'s sparse memory-mapped files did) would show
as exit status -7.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.dashboard.server.test_runtime_lock import tmpfs
from tests.support.server import REPO_ROOT

CHILD = textwrap.dedent("""
    import errno, sys
    from pathlib import Path
    from dashboard.metrics.series import enable_multiprocess
    enable_multiprocess(Path(sys.argv[1]) / "metrics")
    from prometheus_client import Counter, Gauge, Histogram
    counter = Counter("fill_total", "fills the sample files", ["n"])
    try:
        Gauge("fill_gauge", "a second file", multiprocess_mode="livesum").set(1)
        Histogram("fill_seconds", "a third file").observe(0.1)
        for n in range(100_000):  # grow the counter file until the disk is full
            counter.labels(n=str(n)).inc()
    except OSError as error:
        print("ENOSPC" if error.errno == errno.ENOSPC else f"other {error.errno}")
        sys.exit(0)
    print("the disk never filled")
""")


def test_a_disk_that_fills_up_is_an_error_not_a_sigbus(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "tiny", "size=64k") as tiny:
        result = subprocess.run([sys.executable, "-c", CHILD, str(tiny)], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=120)
    if result.returncode == -7:
        pytest.fail("the child died of SIGBUS")
    assert (result.returncode, result.stdout.strip()) == (0, "ENOSPC"), result
