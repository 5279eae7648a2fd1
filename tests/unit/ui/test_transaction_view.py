"""The application page's transaction view, trace after trace as clicks on the transactions
table show them: the waterfall draws the trace, the pod's charts draw the pod's metrics around
the transaction's finish (marked) as the analysis returns them, on figures built once and
redrawn in place; a pod without metrics then shows the empty-state text and no charts, and a
pod the snapshot does not hold for that window (renamed in a copy of the demo, deleted before,
of a cluster not collected) says so and keeps the waterfall and the logs."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import holoviews as hv
import polars as pl
import pytest
from bokeh.models import Span

import workbench as wb
from workbench.analyses import apm, hitmap, perf
from workbench.analyses import logs as logs_analysis
from workbench.ui.application import TransactionView
from workbench.viz import perf as perf_viz

METRICS = ("cpu_usage", "memory_usage", "network_rx", "network_tx")
#: What a value of each unit is divided by in the charts.
DIV = {"millicores": 1, "bytes": 2**20, "bytes/s": 1024}


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    hv.extension("bokeh")
    return wb.open(demo_snapshot)


def _traces(ds: wb.Dataset, n: int) -> list[str]:
    """``n`` traces of different services' pods (the slowest transaction of each)."""
    tx = apm.transactions(ds).sort("rt_ms", descending=True)
    return (
        tx.unique(["service", "pod"], maintain_order=True)["trace_id"]
        .unique(maintain_order=True)
        .head(n)
        .to_list()
    )


def _ms(ts: pl.Series) -> list[float]:
    return [t.timestamp() * 1000 for t in ts.to_list()]


def test_each_trace_is_drawn_on_the_figures_shown_first(ds: wb.Dataset) -> None:
    view = TransactionView(ds)
    ids = _traces(ds, 4)
    assert len(ids) == 4
    shown: tuple[object, ...] | None = None
    for trace_id in ids:
        trace = view.show(trace_id)
        assert trace.equals(hitmap.trace(ds, trace_id))
        assert view._note.object.startswith(f"Trace {trace_id}: {trace.height} spans")
        # the waterfall: a bar per span with an offset, from its offset to its end
        bars = view._waterfall_fig.source.data
        timed = trace.filter(pl.col("offset_ms").is_not_null())
        assert list(bars["offset_ms"]) == timed["offset_ms"].to_list()
        assert list(bars["end_ms"]) == (timed["offset_ms"] + timed["duration_ms"].fill_null(0.0)).to_list()
        assert view._waterfall_plot.object is view._waterfall_fig.figure
        # the pod: the root's, its metrics 15 minutes either side of the root's finish
        root = trace.filter(pl.col("pod").is_not_null()).row(0, named=True)
        moment = root["start"] + dt.timedelta(milliseconds=root["duration_ms"])
        want = perf.browse(ds, pods=(root["pod"],), metrics=METRICS, start=moment - dt.timedelta(minutes=15),
                           end=moment + dt.timedelta(minutes=15), step="30s").data  # fmt: skip
        assert want.height
        grid = view._pod_grid
        assert grid is not None and view._pod_plot.object is grid.layout
        assert grid.pods == (root["pod"],)
        metrics = [m for m in perf.METRICS if m in set(want["metric"])]
        assert list(grid.metrics) == metrics
        assert len(grid.figures) == len(perf_viz.metric_grid(want, cols=2))  # the panels HoloViews drew
        for fig, metric in zip(grid.figures, metrics, strict=True):
            rows = want.filter(pl.col("metric") == metric).sort("ts")
            (line,) = [r for r in fig.renderers if r.visible]
            assert line.name == root["pod"]
            assert list(line.data_source.data["x"]) == _ms(rows["ts"])
            assert list(line.data_source.data["y"]) == pytest.approx(
                (rows["value"] / DIV[perf.METRICS[metric][0]]).to_list()
            )
            (mark,) = [a for a in fig.center if isinstance(a, Span)]
            assert mark.visible and mark.location == pytest.approx(moment.timestamp() * 1000, abs=0.01)
        assert "the red line marks the transaction's finish" in view._pod_note.object
        figures = (view._waterfall_fig.figure, grid.layout)
        shown = shown or figures
        assert figures == shown  # redrawn, never rebuilt (the same metrics every time here)


def test_a_pod_without_metrics_shows_the_empty_state_then_charts_again(ds: wb.Dataset) -> None:
    view = TransactionView(ds)
    first, second = _traces(ds, 2)
    view.show(first)
    grid = view._pod_grid
    # a pod that never ran (pending) has no metrics
    pending = ds.pods().filter(pl.col("phase") == "Pending").row(0, named=True)
    at = pending["created"] + dt.timedelta(minutes=1)
    view._show_pod(pending["cluster"], pending["namespace"], pending["name"], at)
    assert view._pod_note.object.endswith("\nNo metrics were collected for this pod then.")
    assert view._pod_plot.object is None
    view.show(second)
    assert view._pod_grid is grid and view._pod_plot.object is grid.layout
    view.clear()
    assert view._waterfall_plot.object is None and view._pod_plot.object is None
    assert view._pod_note.object == "" and view._note.object.startswith("Click a transaction")
    assert [len(b.objects) for b in (view._spans_box, view._logs_box, view._containers_box)] == [0, 0, 0]


@pytest.fixture(scope="module")
def ghost(demo_snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[wb.Dataset, str, dict]:
    """A copy of the demo in which one trace's root span names a pod the snapshot does not hold
    (as a span of a pod never listed would): the copy, the trace id and the root span (the
    renamed pod, its real namespace)."""
    ds = wb.open(demo_snapshot)
    trace_id = _traces(ds, 1)[0]
    root = hitmap.trace(ds, trace_id).filter(pl.col("pod").is_not_null()).row(0, named=True)
    copy = tmp_path_factory.mktemp("ghost") / "snapshot"
    shutil.copytree(demo_snapshot, copy)
    out = wb.open(copy)
    renamed = 0
    for f in out.files("spans"):
        spans = pl.read_parquet(f)
        hit = (pl.col("trace_id") == trace_id) & (pl.col("pod") == root["pod"])
        renamed += spans.filter(hit).height
        spans.with_columns(pl.when(hit).then(pl.lit(GHOST)).otherwise("pod").alias("pod")).write_parquet(f)
    assert renamed
    namespace = ds.pods(pod=root["pod"])["namespace"][0]
    return out, trace_id, {**root, "namespace": namespace}


GHOST = "checkout-gone-x7k2p"


def test_a_span_of_a_pod_not_in_the_snapshot_shows_why_and_keeps_the_trace(
    ds: wb.Dataset, ghost: tuple[wb.Dataset, str, dict]
) -> None:
    copy, trace_id, root = ghost
    assert GHOST not in copy.pods()["name"].to_list()
    view = TransactionView(copy)
    # as the page calls it: its transactions give the trace's time, cluster and namespace
    tx = apm.transactions(copy)
    trace = view.show(trace_id, spans=tx, service=root["service"])
    assert trace.equals(hitmap.trace(copy, trace_id))
    assert trace.filter(pl.col("pod").is_not_null())["pod"][0] == GHOST
    # the waterfall, the span table and the trace's log lines stay; the pod's part says why
    assert view._note.object.startswith(f"Trace {trace_id}: {trace.height} spans")
    assert view._waterfall_plot.object is view._waterfall_fig.figure
    assert list(view._spans.value["row"]) == trace["row"].to_list()
    lines = logs_analysis.search(copy, trace_id=trace_id, limit=500)
    assert lines.height and len(view._logs.value) == lines.height
    assert view._logs_box.objects == [view._logs_note, view._logs]
    assert view._pod_note.object == (
        f"No metrics for pod {root['namespace']}/{GHOST}: it is not in the snapshot's pods for this window."
    )
    assert view._pod_plot.object is None and view._containers_box.objects == []
    # the next transaction of a known pod draws its charts again
    view.show(_traces(ds, 2)[1])
    assert view._pod_grid is not None and view._pod_plot.object is view._pod_grid.layout
    assert len(view._containers.value) and view._containers_box.objects == [view._containers]


def test_a_pod_deleted_before_the_window_or_of_a_cluster_not_collected_shows_why(ds: wb.Dataset) -> None:
    view = TransactionView(ds)
    gone = ds.pods().filter(pl.col("deleted").is_not_null()).row(0, named=True)
    after = gone["deleted"] + dt.timedelta(hours=1)
    view._show_pod(gone["cluster"], gone["namespace"], gone["name"], after)
    assert view._pod_note.object == (
        f"No metrics for pod {gone['namespace']}/{gone['name']}: it is not in the snapshot's pods for this window."
    )
    assert view._pod_plot.object is None and not len(view._containers.value)
    view._show_pod("aks-not-collected", gone["namespace"], gone["name"], gone["created"])
    assert view._pod_note.object == (
        f"No metrics for pod {gone['namespace']}/{gone['name']}: its cluster aks-not-collected is not in this snapshot."
    )
