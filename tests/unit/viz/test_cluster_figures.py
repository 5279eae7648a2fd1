"""The cluster page's charts over time (Bokeh figures redrawn in place) draw the same lines and
cells as the notebooks' HoloViews charts of the same frames."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holoviews as hv
import numpy as np
import polars as pl
import pytest

import workbench as wb
from tests.support.resources import T0, write_empty_snapshot, write_resource_snapshot
from workbench.analyses import cluster
from workbench.viz import cluster as cv


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> cluster.ClusterOverview:
    ds = wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))
    return cluster.analyse(ds, step="10m")


Lines = dict[str, tuple[list[float], list[float]]]


def _ms(values: np.ndarray) -> list[float]:
    return (values.astype("datetime64[us]").astype(np.int64) / 1000.0).tolist()


def _lines(chart: cv.ResourcesChart | cv.NetworkChart) -> Lines:
    data = chart.source.data
    return {ln.name: (list(data["ts"]), list(data[ln.name])) for ln in chart.lines}


def _curves(overlay: hv.Overlay) -> Lines:
    return {c.label: (_ms(c.dimension_values(0)), c.dimension_values(1).tolist()) for c in overlay}


def _same(got: Lines, want: Lines) -> None:
    assert got.keys() == want.keys()
    for name, (x, y) in want.items():
        assert got[name][0] == x
        np.testing.assert_allclose(got[name][1], y, equal_nan=True)


def test_resource_and_network_charts_draw_the_notebook_curves(view: cluster.ClusterOverview) -> None:
    for resource in ("cpu", "memory"):
        chart = cv.ResourcesChart(resource)
        chart.draw(view.cluster_resources, cluster="c1")
        want = cv.resources_over_time(view.cluster_resources, resource=resource, cluster="c1")
        _same(_lines(chart), _curves(want))
        assert chart.figure.title.text == want.opts.get().kwargs["title"]
        values = np.concatenate([v for _, v in _lines(chart).values()])
        assert chart.figure.y_range.start < np.nanmin(values) and chart.figure.y_range.end > np.nanmax(values)
    net = cv.NetworkChart()
    net.draw(view.node_resources, cluster="c1")
    want = cv.network_curves(view.node_resources, cluster="c1")
    _same(_lines(net), _curves(want))
    assert net.figure.title.text == want.opts.get().kwargs["title"] == "c1: network in/out (MiB/s)"


def test_heatmap_draws_the_notebook_cells(view: cluster.ClusterOverview) -> None:
    heat = cv.NodeHeatmap()
    heat.draw(view.node_resources)
    want = cv.node_heatmap(view.node_resources).dframe()
    got = heat.source.data
    cells = {(t, r): v for t, r, v in zip(got["ts"], got["row"], got["value"], strict=True)}
    expect = {(ts.timestamp() * 1000, r): v
              for ts, r, v in zip(want["ts"].dt.tz_localize("UTC"), want["node"], want["cpu_usage_pct"], strict=True)
              if not np.isnan(v)}  # fmt: skip
    assert cells.keys() == expect.keys()
    assert [cells[k] for k in expect] == pytest.approx(list(expect.values()))
    assert list(heat.figure.y_range.factors) == sorted(set(view.node_resources["node"]))
    assert set(got["width"]) == {600_000.0}  # one 10-minute bucket wide
    assert heat.figure.height == 200


def test_charts_are_redrawn_in_place_and_say_when_there_is_no_data(
    view: cluster.ClusterOverview, tmp_path: Path
) -> None:
    chart, heat = cv.ResourcesChart("cpu"), cv.NodeHeatmap()
    chart.draw(view.cluster_resources)
    heat.draw(view.node_resources)
    figure, source = chart.figure, chart.source
    later = view.cluster_resources.filter(pl.col("ts") >= T0 + dt.timedelta(minutes=30))
    chart.draw(later)
    assert chart.figure is figure and chart.source is source
    assert chart.figure.x_range.start == later["ts"].min().timestamp() * 1000
    empty = cluster.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    chart.draw(empty.cluster_resources)
    heat.draw(empty.node_resources)
    assert chart.figure.title.text == "CPU over time: no data" and len(chart.source.data["ts"]) == 0
    assert heat.figure.title.text.endswith("no data") and len(heat.source.data["ts"]) == 0


def test_time_axes_say_utc_in_the_page_and_the_notebooks(view: cluster.ClusterOverview) -> None:
    """The charts over time label their time axis "time (UTC)" (not the column name ``ts``), in
    the page's figures and in the notebooks' HoloViews charts rendered by Bokeh."""
    charts = [cv.ResourcesChart("cpu"), cv.ResourcesChart("memory"), cv.NetworkChart()]
    assert {c.figure.xaxis[0].axis_label for c in charts} == {"time (UTC)"}
    overlays = [
        cv.resources_over_time(view.cluster_resources, resource=r, cluster="c1") for r in ("cpu", "memory")
    ]
    overlays.append(cv.network_curves(view.node_resources, cluster="c1"))
    assert {hv.render(o, backend="bokeh").xaxis[0].axis_label for o in overlays} == {"time (UTC)"}
