"""The application page's transaction view, trace after trace as clicks on the transactions
table show them: the waterfall draws the trace, the pod's charts draw the pod's metrics around
the transaction's finish (marked) as the analysis returns them, on figures built once and
redrawn in place; a pod without metrics then shows the empty-state text and no charts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holoviews as hv
import polars as pl
import pytest
from bokeh.models import Span

import workbench as wb
from workbench.analyses import apm, hitmap, perf
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
