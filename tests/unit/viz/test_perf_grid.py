"""The performance page's metric grid (Bokeh figures redrawn in place) draws what the analysis
returns, as the notebooks' HoloViews grid does: a panel per metric in the unit shown, a line per
pod with the pod's colour in every panel, requests and limits as steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import numpy as np
import polars as pl
import pytest
from bokeh.models import HoverTool, Legend, Span

import workbench as wb
from tests.support.resources import T0, write_resource_snapshot
from workbench.analyses import perf
from workbench.viz import perf as fv

#: What a value of each catalogue unit is divided by, and the unit shown.
SHOWN = {"millicores": (1, "millicores"), "bytes": (2**20, "MiB"), "bytes/s": (1024, "KiB/s"), "%": (1, "%"),
         "events": (1, "events")}  # fmt: skip


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


def _ms(ts: pl.Series) -> list[float]:
    return [t.timestamp() * 1000 for t in ts.to_list()]


def _lines(fig: Any) -> dict[str, tuple[list[float], list[float], str]]:
    """The lines a panel shows: pod → its times (ms), values and colour."""
    out = {}
    for r in fig.renderers:
        if r.visible:
            d = r.data_source.data
            out[r.name] = (list(d[r.glyph.x]), list(d[r.glyph.y]), r.glyph.line_color)
    return out


def _check(grid: fv.MetricGrid, data: pl.DataFrame) -> None:
    """Every line of ``grid`` against ``data``, pod by pod, by a direct computation."""
    metrics = [m for m in perf.METRICS if m in set(data["metric"])]
    assert grid.metrics == tuple(metrics)
    pods = sorted(set(data["pod"]))
    colours: dict[str, str] = {}
    for fig, metric in zip(grid.figures, metrics, strict=True):
        div, unit = SHOWN[perf.METRICS[metric][0]]
        assert fig.title.text == f"{metric.replace('_', ' ')} ({unit})"
        assert fig.yaxis[0].axis_label == unit
        shown = _lines(fig)
        assert sorted(shown) == pods  # a line per pod of the data (empty where it has no data)
        want = data.filter(pl.col("metric") == metric)
        for pod, (xs, ys, colour) in shown.items():
            rows = want.filter(pl.col("pod") == pod).sort("ts")
            x, y = _ms(rows["ts"]), (rows["value"] / div).to_list()
            if metric.endswith(("_request", "_limit")) or metric.startswith("events_"):
                # steps: each value held until the next point
                assert xs[0::2] == x and xs[1::2] == x[1:]
                assert ys[0::2] == pytest.approx(y) and ys[1::2] == pytest.approx(y[:-1])
            else:
                assert xs == x and ys == pytest.approx(y)
            assert colours.setdefault(pod, colour) == colour  # the same colour in every panel
        values = [v for _xs, ys, _c in shown.values() for v in ys]
        assert fig.y_range.start <= np.nanmin(values) and fig.y_range.end >= np.nanmax(values)
    assert len(set(colours.values())) == len(pods)  # one colour per pod
    x = grid.figures[0].x_range
    assert (x.start, x.end) == (min(_ms(data["ts"])), max(_ms(data["ts"])))
    # the legend above the panels names each pod, in the order of the lines, each with its colour
    (legend,) = [x for x in grid.key.center if isinstance(x, Legend)]
    assert (grid.key, 0, 0) in grid.layout.children and not any(f.legend for f in grid.figures)
    items = [i for i in legend.items if i.visible]
    assert [i.label.value for i in items] == pods
    assert [i.renderers[0].glyph.line_color for i in items] == [colours[p] for p in pods]


def test_grid_draws_a_line_per_pod_as_the_analysis_returns_it(ds: wb.Dataset) -> None:
    data = perf.browse(ds, workload="web", metrics=list(perf.METRICS), step="10m").data
    grid = fv.MetricGrid(fv.grid_metrics(data))
    grid.show(data)
    _check(grid, data)
    # panels of one unit share their value axis
    by_unit: dict[str, set[int]] = {}
    for fig in grid.figures:
        by_unit.setdefault(fig.yaxis[0].axis_label, set()).add(id(fig.y_range))
    assert all(len(ranges) == 1 for ranges in by_unit.values())
    assert len({id(f.x_range) for f in grid.figures}) == 1
    assert len(grid.figures) == len(fv.metric_grid(data))  # the notebooks' grid has as many panels


def test_grid_is_redrawn_in_place_for_other_pods_and_windows(ds: wb.Dataset) -> None:
    metrics = ("cpu_usage", "cpu_limit", "memory_usage")
    everything = perf.browse(ds, workload="web", metrics=metrics).data
    grid = fv.MetricGrid(fv.grid_metrics(everything))
    grid.show(everything)
    figures, layout = list(grid.figures), grid.layout
    one = perf.browse(ds, workload="web", pods=("web-0",), metrics=metrics, start=T0 + dt.timedelta(minutes=20),
                      end=T0 + dt.timedelta(minutes=40)).data  # fmt: skip
    grid.show(one)
    assert grid.figures == figures and grid.layout is layout  # the same figures, new data
    _check(grid, one)
    # the panels keep their height; the legend above them takes a line for one pod
    assert {f.height for f in grid.figures} == {figures[0].height}
    assert grid.key.height == 8 + 24
    grid.show(everything)
    _check(grid, everything)


def test_legend_click_mutes_a_pods_lines_in_every_panel_as_holoviews_did(ds: wb.Dataset) -> None:
    """The notebooks' HoloViews grid mutes a pod's curves (alpha 0.2) in every panel when its
    legend entry is clicked; the grid does the same: the legend mutes the pod's key (a line
    without data beside the legend) and a callback in the browser mutes its lines in every
    panel. A pod muted stays muted while it keeps its line; another pod on that line is shown
    unmuted."""
    metrics = ("cpu_usage", "cpu_limit", "memory_usage")
    data = perf.browse(ds, workload="web", metrics=metrics).data
    holo, _row, _col = hv.renderer("bokeh").get_plot(fv.metric_grid(data)).state.children[0]
    grid = fv.MetricGrid(fv.grid_metrics(data))
    grid.show(data)
    assert grid.legend.click_policy == holo.legend[0].click_policy == "mute"
    pods = sorted(set(data["pod"]))
    for k, pod in enumerate(pods):
        lines = [next(r for r in fig.renderers if r.name == pod) for fig in grid.figures]
        assert [r.muted_glyph.line_alpha for r in lines] == [0.2] * len(lines)
        (key,) = grid.legend.items[k].renderers
        assert key in grid.key.renderers and key.glyph.line_color == lines[0].glyph.line_color
        (link,) = key.js_property_callbacks["change:muted"]
        assert link.args["src"] is key and link.args["dst"] == lines
        assert "r.muted = src.muted" in link.code
    web0 = [next(r for r in fig.renderers if r.name == "web-0") for fig in grid.figures]
    web0.append(grid.legend.items[pods.index("web-0")].renderers[0])  # its key
    for r in web0:
        r.muted = True  # as the browser reports a click on web-0 in the legend
    grid.show(data.filter(pl.col("ts") > data["ts"].min()))  # the same pods, a shorter window
    assert all(r.muted for r in web0)
    grid.show(data.filter(pl.col("pod") != "web-0"))  # web-1 on web-0's line
    assert [r.name for r in web0[:-1]] == ["web-1"] * (len(web0) - 1)
    assert grid.legend.items[pods.index("web-0")].label.value == "web-1"
    assert not any(r.muted for r in web0)


def test_hover_names_every_pod_under_the_cursor(ds: wb.Dataset) -> None:
    """Each pod is a line of its own that the panel's hover tool inspects and names: Bokeh
    lists every line under the cursor, so lines that overlap exactly (the pods' limits here)
    are all named (one multi-line glyph named only the first)."""
    data = perf.browse(ds, workload="web", metrics=("cpu_usage", "cpu_limit")).data
    limits = data.filter(pl.col("metric") == "cpu_limit")
    assert limits.group_by("pod").agg(pl.col("value").unique().sort()).n_unique("value") == 1  # they overlap
    grid = fv.MetricGrid(fv.grid_metrics(data))
    grid.show(data)
    for fig in grid.figures:
        (hover,) = [t for t in fig.tools if isinstance(t, HoverTool)]
        assert set(hover.renderers) == set(fig.renderers)
        assert all(type(r.glyph).__name__ == "Line" for r in fig.renderers)
        assert ("pod", "$name") in hover.tooltips
        assert sorted(r.name for r in fig.renderers if r.visible) == sorted(set(data["pod"]))


def test_grid_refuses_data_of_other_metrics(ds: wb.Dataset) -> None:
    data = perf.browse(ds, workload="web", metrics=("cpu_usage", "memory_usage")).data
    grid = fv.MetricGrid(("cpu_usage",))
    with pytest.raises(ValueError, match="build a new grid"):
        grid.show(data)
    with pytest.raises(ValueError, match="catalogue"):
        fv.MetricGrid(("cpu_usage", "no_such_metric"))


def test_a_marked_moment_is_a_dashed_red_line_in_every_panel_as_a_vline_overlaid(ds: wb.Dataset) -> None:
    """The transaction view marks the transaction's finish on its pod's charts: it overlaid an
    ``hv.VLine`` on each panel; the grid draws the same line (a height-wide span, in the colour,
    width and dash of the view's ``VLine``) without widening the time axis (HoloViews did not
    either), and hides it when the next data has no mark."""
    data = perf.browse(ds, workload="web", metrics=("cpu_usage", "memory_usage")).data
    at = T0 + dt.timedelta(minutes=17, seconds=30)
    holo = hv.renderer("bokeh").get_plot(
        hv.Curve([(T0.replace(tzinfo=None), 1.0)])
        * hv.VLine(at.replace(tzinfo=None)).opts(color="#d32f2f", line_dash="dashed")
    )
    (want,) = [r for r in [*holo.state.renderers, *holo.state.center] if isinstance(r, Span)]
    grid = fv.MetricGrid(fv.grid_metrics(data))
    grid.show(data)
    assert not [a for f in grid.figures for a in f.center if isinstance(a, Span) and a.visible]
    grid.show(data, mark=at)
    for fig in grid.figures:
        (span,) = [a for a in fig.center if isinstance(a, Span)]
        assert span.visible and span.location == at.timestamp() * 1000 == want.location
        for prop in ("dimension", "line_color", "line_width", "line_dash"):
            assert getattr(span, prop) == getattr(want, prop), prop
    x = grid.figures[0].x_range
    assert (x.start, x.end) == (min(_ms(data["ts"])), max(_ms(data["ts"])))
    later = at + dt.timedelta(minutes=5)
    grid.show(data, mark=later)  # the same lines moved
    spans = [a for f in grid.figures for a in f.center if isinstance(a, Span)]
    assert len(spans) == len(grid.figures) and {s.location for s in spans} == {later.timestamp() * 1000}
    grid.show(data)
    assert not any(s.visible for s in spans)


def test_time_axes_say_utc_in_the_page_and_the_notebooks(ds: wb.Dataset) -> None:
    """Every panel's time axis is labelled "time (UTC)" (not the column name ``ts``), in the
    page's grid and in the notebooks' HoloViews grid rendered by Bokeh."""
    data = perf.browse(ds, workload="web", metrics=list(perf.METRICS), step="10m").data
    grid = fv.MetricGrid(fv.grid_metrics(data))
    assert {fig.xaxis[0].axis_label for fig in grid.figures} == {"time (UTC)"}
    rendered = hv.render(fv.metric_grid(data), backend="bokeh")
    labels = {fig.xaxis[0].axis_label for row in rendered.children for fig in [row[0]]}
    assert labels == {"time (UTC)"}
