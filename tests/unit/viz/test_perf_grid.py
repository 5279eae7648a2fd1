"""The performance page's metric grid (Bokeh figures redrawn in place) draws what the analysis
returns, as the notebooks' HoloViews grid does: a panel per metric in the unit shown, a line per
pod with the pod's colour in every panel, requests and limits as steps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from bokeh.models import Legend

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
        (renderer,) = fig.renderers
        shown = renderer.data_source.data
        want = data.filter(pl.col("metric") == metric)
        assert list(shown["pod"]) == sorted(set(want["pod"]))
        for pod, xs, ys, colour in zip(shown["pod"], shown["xs"], shown["ys"], shown["color"], strict=True):
            rows = want.filter(pl.col("pod") == pod).sort("ts")
            x, y = _ms(rows["ts"]), (rows["value"] / div).to_list()
            if metric.endswith(("_request", "_limit")) or metric.startswith("events_"):
                # steps: each value held until the next point
                assert list(xs[0::2]) == x and list(xs[1::2]) == x[1:]
                assert list(ys[0::2]) == pytest.approx(y) and list(ys[1::2]) == pytest.approx(y[:-1])
            else:
                assert list(xs) == x and list(ys) == pytest.approx(y)
            assert colours.setdefault(pod, colour) == colour  # the same colour in every panel
        values = np.concatenate(shown["ys"])
        assert fig.y_range.start <= np.nanmin(values) and fig.y_range.end >= np.nanmax(values)
    assert len(set(colours.values())) == len(pods)  # one colour per pod
    x = grid.figures[0].x_range
    assert (x.start, x.end) == (min(_ms(data["ts"])), max(_ms(data["ts"])))


def test_grid_draws_a_line_per_pod_as_the_analysis_returns_it(ds: wb.Dataset) -> None:
    data = perf.browse(ds, workload="web", metrics=list(perf.METRICS), step="10m").data
    grid = fv.MetricGrid(fv.grid_metrics(data))
    grid.show(data)
    _check(grid, data)
    # the legend under the first panel names each pod; panels of one unit share their value axis
    (legend,) = [x for x in grid.figures[0].below if isinstance(x, Legend)]
    assert legend.items[0].label.field == "pod"
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
    # the first row makes room for a legend of one pod
    assert grid.figures[0].height == grid.figures[1].height == grid.figures[2].height + 24
    grid.show(everything)
    _check(grid, everything)


def test_grid_refuses_data_of_other_metrics(ds: wb.Dataset) -> None:
    data = perf.browse(ds, workload="web", metrics=("cpu_usage", "memory_usage")).data
    grid = fv.MetricGrid(("cpu_usage",))
    with pytest.raises(ValueError, match="build a new grid"):
        grid.show(data)
    with pytest.raises(ValueError, match="catalogue"):
        fv.MetricGrid(("cpu_usage", "no_such_metric"))
