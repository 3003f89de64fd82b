"""Archiving a dead process's multiprocess files: totals kept, files gone, live gauges dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from dashboard.metrics import files as metricsfiles
from dashboard.metrics.series import MULTIPROC_ENV


def write(path: Path, values: dict[tuple[str, str, tuple[tuple[str, str], ...]], float]) -> None:
    mmap = MmapedDict(str(path))
    for (family, sample, labels), value in values.items():
        key = mmap_key(family, sample, [k for k, _ in labels], [v for _, v in labels], "help")
        mmap.write_value(key, value, 0.0)
    mmap.close()


def scrape(directory: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(directory))
    text = generate_latest(registry).decode()
    return {sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    return tmp_path


def worker_files(directory: Path, pid: int, requests: float, latency: float) -> None:
    write(directory / f"counter_{pid}.db", {
        ("dashboard_x", "dashboard_x_total", (("code", "A"),)): requests})
    # As prometheus_client writes them: one value per bucket (not cumulative) and the sum.
    write(directory / f"histogram_{pid}.db", {
        ("dashboard_h", "dashboard_h_bucket", (("le", "0.1"),)): requests,
        ("dashboard_h", "dashboard_h_bucket", (("le", "+Inf"),)): 0.0,
        ("dashboard_h", "dashboard_h_sum", ()): latency})
    write(directory / f"gauge_livesum_{pid}.db", {("dashboard_g", "dashboard_g", ()): 3.0})


def test_retiring_keeps_every_total_and_bounds_the_files(directory: Path) -> None:
    worker_files(directory, 101, requests=5, latency=0.5)
    worker_files(directory, 202, requests=7, latency=0.25)
    before = scrape(directory)
    for pid in range(300, 340):  # forty more workers come and go
        worker_files(directory, pid, requests=1, latency=0.01)
        metricsfiles.retire_process(pid)
    metricsfiles.retire_process(101)
    after = scrape(directory)

    assert after['dashboard_x_total{"code": "A"}'] == before['dashboard_x_total{"code": "A"}'] + 40
    assert after["dashboard_h_count{}"] == 5 + 7 + 40
    assert after["dashboard_h_sum{}"] == pytest.approx(0.5 + 0.25 + 0.4)
    assert after['dashboard_h_bucket{"le": "+Inf"}'] == 52
    assert after["dashboard_g{}"] == 3.0  # only the live worker 202's gauge is left
    names = sorted(path.name for path in directory.glob("*.db"))
    assert names == ["counter_202.db", "counter_archive.db", "gauge_livesum_202.db",
                     "histogram_202.db", "histogram_archive.db"]


def test_retiring_an_unknown_or_twice_is_harmless(directory: Path) -> None:
    worker_files(directory, 7, requests=2, latency=0.1)
    metricsfiles.retire_process(7)
    metricsfiles.retire_process(7)
    metricsfiles.retire_process(99999)
    assert scrape(directory)["dashboard_h_count{}"] == 2
