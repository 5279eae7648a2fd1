"""What the service map and application pages keep per process (the snapshot's spans linked,
its transactions picked) is kept per version of the snapshot: the same version is not read
again, and a snapshot that grew (as a running ``workbench watch`` appends) is, once the page's
dataset is refreshed (what live mode does); a dataset not refreshed keeps what it saw."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

import workbench as wb
from workbench.schema import conform
from workbench.store import SnapshotWriter
from workbench.ui import servicemap
from workbench.ui.application import data

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


def _spans(trace: str, n: int) -> pl.DataFrame:
    """A trace of ``n`` SERVER spans of service web, each the parent of the next."""
    return conform("spans", [
        {"cluster": "kind-a", "trace_id": trace, "span_id": f"{trace}-{i}",
         "parent_id": f"{trace}-{i - 1}" if i else None, "service": "web", "operation": "GET /",
         "kind": "SERVER", "start": T0 + dt.timedelta(seconds=i), "end": T0 + dt.timedelta(seconds=i + 1),
         "duration_us": 1_000_000, "namespace": "shop", "pod": "web-1"}
        for i in range(n)
    ])  # fmt: skip


def test_a_grown_snapshot_is_read_again_for_the_kept_spans_and_transactions(tmp_path: Path) -> None:
    path = tmp_path / "snap"
    with SnapshotWriter(path) as w:
        w.set_window(T0, T0 + dt.timedelta(hours=1))
        w.write("spans", _spans("a", 3))
    ds = wb.open(path)
    linked, tx = servicemap.linked_spans(ds), data.kept(ds)
    assert linked is not None and tx is not None
    assert (linked.base.height, tx.tx.height) == (3, 3)
    # the same version (another dataset of the same snapshot too) is kept, not read again
    assert servicemap.linked_spans(wb.open(path)) is linked and data.kept(wb.open(path)) is tx

    with SnapshotWriter(path, mode="append") as w:  # what a running `workbench watch` does
        w.write("spans", _spans("b", 2))
    # a dataset not refreshed still sees (and is given) the version it read
    assert servicemap.linked_spans(ds) is linked and data.kept(ds) is tx
    ds.refresh()
    grown_linked, grown_tx = servicemap.linked_spans(ds), data.kept(ds)
    assert grown_linked is not None and grown_tx is not None
    assert (grown_linked.base.height, grown_tx.tx.height) == (5, 5)
    assert sorted(grown_tx.tx["trace_id"].unique().to_list()) == ["a", "b"]
