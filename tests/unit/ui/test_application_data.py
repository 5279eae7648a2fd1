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
        assert read.tx.packed and mem.tx.packed, key  # ids packed, formatted back as strings below
        as_read, as_kept = (
            tx.with_ids(tx.frame).sort("cluster", "trace_id", "span_id").cast(dict(apm.TRANSACTION_COLUMNS))
            for tx in (read.tx, mem.tx)
        )
        assert_frame_equal(as_kept, as_read)
        for name in ("series", "active", "totals", "overall"):
            assert_frame_equal(getattr(mem, name), getattr(read, name), check_exact=False, rel_tol=1e-12)
        assert_frame_equal(mem.hitmap.cells, read.hitmap.cells)
        assert mem.table.equals(read.table), key


def test_a_page_lists_the_selection_and_trace_that_transactions_keeping_the_strings_list(
    ds: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scope's transactions keep their ids packed (kept in memory or read from the files): a
    box lists its first rows with their ids formatted (all of them when the selection is asked
    for), the same selection and trace rows as transactions that keep the strings."""
    from workbench.analyses import hitmap
    from workbench.ui.application import _SHOWN, ApplicationPage
    from workbench.ui.application.views import tx_view
    from workbench.ui.common import table_frame

    lo, _ = ds.window
    assert lo is not None
    box = (lo + dt.timedelta(minutes=70), lo + dt.timedelta(minutes=100), 5.0, 5_000.0)
    strings = apm.scoped_transactions(ds, pack=False)
    want = hitmap.select(strings, *box)
    assert want.height > _SHOWN  # more than are listed
    key = ["cluster", "trace_id", "span_id"]
    kept = ApplicationPage(ds)
    monkeypatch.setattr(data, "KEEP_SPANS", 0)
    read = ApplicationPage(ds)
    for page in (kept, read):
        assert page.results is not None and page.results.tx.packed and not strings.packed
        page.select_box(*box)
        shown = page._tx.value  # listed before the others' ids are formatted
        got = page.selection
        assert shown.equals(table_frame(tx_view(got.head(_SHOWN))).to_pandas()) and len(shown) == _SHOWN
        assert_frame_equal(got.sort(key), want.sort(key))
        for trace in want["trace_id"][:3]:
            mine = page.results.tx.of_trace(trace).cast(dict(apm.TRANSACTION_COLUMNS)).sort(key)
            assert_frame_equal(mine, strings.of_trace(trace).cast(dict(apm.TRANSACTION_COLUMNS)).sort(key))
