"""The application page's scope results: a scope filtered from the transactions kept in memory
(their strings kept as categoricals) gives what reading the scope from the files gives."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import apm
from workbench.ui.application import data


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


def _keys(ds: wb.Dataset) -> list[data.Key]:
    pods = ds.pods()
    ns = pods.group_by("namespace").len().sort("len", "namespace", descending=[True, False])["namespace"][0]
    wl = pods.filter(pl.col("namespace") == ns).sort("workload_name").row(0, named=True)
    lo, hi = ds.window
    assert lo is not None and hi is not None
    mid = (lo + dt.timedelta(hours=1), lo + dt.timedelta(hours=2))
    return [("", "", "", None, None), ("", ns, "", None, None), (ds.clusters[0], "", "", *mid),
            ("", ns, f"{wl['workload_kind']}/{wl['workload_name']}", None, None)]  # fmt: skip


def test_scopes_filtered_in_memory_give_what_reading_them_gives(
    ds: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data.kept(ds) is not None  # the demo is small enough to be kept
    assert data.kept(ds).tx.schema["service"] == pl.Categorical()  # type: ignore[union-attr]
    kept = {key: data.compute(ds, key) for key in _keys(ds)}
    monkeypatch.setattr(data, "KEEP_SPANS", 0)  # now every scope is read from the files
    for key, mem in kept.items():
        read = data.compute(ds, key)
        assert data.kept(ds) is None and mem.tx.height > 0, key
        assert (mem.spans > 0) == (read.spans > 0), key  # read: only "none or some" (ScopeResults.spans)
        cols = list(apm.TRANSACTION_COLUMNS)
        as_read = read.tx.frame.sort("cluster", "trace_id", "span_id").cast(dict(apm.TRANSACTION_COLUMNS))
        as_kept = (
            mem.tx.frame.select(cols)
            .sort("cluster", "trace_id", "span_id")
            .cast(dict(apm.TRANSACTION_COLUMNS))
        )
        assert_frame_equal(as_kept, as_read)
        for name in ("series", "active", "totals", "overall"):
            assert_frame_equal(getattr(mem, name), getattr(read, name), check_exact=False, rel_tol=1e-12)
        assert_frame_equal(mem.hitmap.cells, read.hitmap.cells)
        assert mem.table.equals(read.table), key
