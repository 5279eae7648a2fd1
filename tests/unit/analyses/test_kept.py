"""What is kept in memory per snapshot version gives what reading the files gives: a small
table's scans (:class:`~workbench.analyses._kept.KeptTables`) and the metric samples of some
series in a time range (:class:`~workbench.analyses.triage._context.KeptSamples`)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import _kept
from workbench.analyses.triage._context import KeptSamples


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def _filters(ds: wb.Dataset) -> list[dict[str, Any]]:
    lo, hi = ds.window
    assert lo is not None and hi is not None
    pods = ds.pods()
    ns = pods["namespace"].mode().sort()[0]
    pod = pods.filter(pl.col("namespace") == ns).sort("name")["name"][0]
    node = pods.filter(pl.col("node").is_not_null()).sort("node")["node"][0]
    mid = (lo + dt.timedelta(minutes=70), lo + dt.timedelta(minutes=130))
    return [
        {}, {"cluster": ds.clusters[0]}, {"cluster": ds.clusters[-1], "namespace": ns}, {"namespace": ns},
        {"start": mid[0], "end": mid[1]}, {"cluster": ds.clusters[0], "start": mid[0], "end": mid[1]},
        {"namespace": ns, "end": mid[0]}, {"pod": pod}, {"node": node}, {"latest": False},
        {"cluster": ds.clusters[0], "start": mid[0], "latest": False},
    ]  # fmt: skip


def test_a_kept_table_scans_as_its_files_do(ds: wb.Dataset) -> None:
    """Every small table, under every filter: the same rows in the same order (a state table's
    newest row per object too), from memory."""
    kept = _kept.kept_tables(ds)
    assert isinstance(kept, _kept.KeptTables) and _kept.kept_tables(kept) is kept
    tables = [t for t, n in ds.row_counts.items() if n and t not in _kept.NOT_KEPT]
    assert {"pods", "events", "objects", "logs", "series"} <= set(tables)
    for table in tables:
        assert _kept._small_table(ds, table), table  # (the demo's are small enough to be kept)
        for f in _filters(ds):
            assert_frame_equal(kept.scan(table, **f).collect(), ds.scan(table, **f).collect())
    assert_frame_equal(kept.series(), ds.series())
    assert_frame_equal(kept.events(type="Warning"), ds.events(type="Warning"))


def test_a_large_table_is_read_from_its_files(ds: wb.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kept, "_KEPT", {})
    monkeypatch.setattr(_kept, "KEEP_BYTES", 0)
    kept = _kept.kept_tables(ds)
    assert_frame_equal(kept.scan("objects").collect(), ds.scan("objects").collect())
    assert not _kept._KEPT.get("table file")  # nothing read into memory


def test_a_kept_file_written_again_is_read_again(ds: wb.Dataset, tmp_path: Path) -> None:
    copy = tmp_path / "snap"
    shutil.copytree(ds.path, copy)
    snap = wb.open(copy)
    before = _kept.kept_tables(snap).scan("pods", latest=False).collect()
    # a pods file rewritten with one row (a new size and time): read again, not taken from memory
    path = snap.files("pods")[0]
    pl.read_parquet(path).head(1).write_parquet(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    after = _kept.kept_tables(snap).scan("pods", latest=False).collect()
    assert_frame_equal(after, snap.scan("pods", latest=False).collect())
    assert 0 < after.height < before.height


def test_samples_of_some_series_in_a_range_are_those_a_filter_gives(ds: wb.Dataset) -> None:
    """In storage order, at the range's edges, outside the snapshot, for no series; with runs in
    time order (found by binary search) and without (every row looked at)."""
    series, samples = ds.metric_samples(metric=["container_cpu_usage_seconds_total", "node_cpu_seconds_total",
                                                "kube_pod_container_status_restarts_total"])  # fmt: skip
    frame = samples.select("series_id", "ts", "value").collect()
    kept = KeptSamples.of_frame(frame)
    assert kept.order is not None  # a snapshot's runs are in time order
    # the same samples with one run out of order: no binary search
    ts = frame["ts"].to_numpy().copy()
    ts[[0, 1]] = ts[[1, 0]]
    shuffled = frame.with_columns(pl.Series("ts", ts).dt.replace_time_zone("UTC"))
    unsorted = KeptSamples.of_frame(shuffled)
    assert unsorted.order is None
    lo, hi = ds.window
    assert lo is not None and hi is not None
    step = dt.timedelta(seconds=15)
    some = series.sample(n=min(40, series.height), seed=1)["series_id"]
    rng = np.random.default_rng(0)
    ranges = [(lo, hi), (lo - dt.timedelta(days=1), lo - step), (hi + step, hi + dt.timedelta(days=1)),
              (lo + dt.timedelta(minutes=60), lo + dt.timedelta(minutes=90)), (hi, hi)]  # fmt: skip
    for _ in range(5):  # a sample's own time as an edge: it is in (both ends are)
        a, b = sorted(frame["ts"].gather(rng.integers(0, frame.height, 2)).to_list())
        ranges.append((a, b))
    for ids in (series["series_id"], some, some.head(1), some.head(0)):
        for start, end in ranges:
            want = frame.filter(pl.col("series_id").is_in(ids.implode()), pl.col("ts").is_between(start, end))
            assert_frame_equal(kept.of(ids, start, end), want)
            want = shuffled.filter(
                pl.col("series_id").is_in(ids.implode()), pl.col("ts").is_between(start, end)
            )
            assert_frame_equal(unsorted.of(ids, start, end), want)


def test_a_value_being_computed_is_waited_for_not_computed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sessions (or triage threads) asking for the same snapshot version at once read it once."""
    monkeypatch.setattr(_kept, "_KEPT", {})
    calls: list[int] = []
    started = threading.Event()

    def slow() -> str:
        calls.append(1)
        started.set()
        time.sleep(0.3)  # the second caller arrives while this one computes
        return "value"

    got: list[str] = []
    first = threading.Thread(target=lambda: got.append(_kept.kept("k", ("snap", 1), slow, size=2)))
    first.start()
    assert started.wait(5)
    got.append(_kept.kept("k", ("snap", 1), slow, size=2))
    first.join()
    assert got == ["value", "value"] and len(calls) == 1
    assert not _kept._COMPUTING  # nothing left behind
    # a computation that fails leaves nothing behind either, and the next caller computes
    with pytest.raises(ZeroDivisionError):
        _kept.kept("k", ("snap", 2), lambda: 1 // 0, size=2)
    assert not _kept._COMPUTING
    assert _kept.kept("k", ("snap", 2), lambda: "again", size=2) == "again"
