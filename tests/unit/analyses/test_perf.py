"""The performance browser: chosen metrics of chosen pods, aligned per bucket, and their summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.resources import MI, T0, write_empty_snapshot, write_resource_snapshot
from workbench.analyses import perf

M = dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


def _values(data: pl.DataFrame, pod: str, metric: str) -> list[float]:
    return (
        data.filter(pl.col("pod") == pod, pl.col("metric") == metric).sort("ts")["value"].round(9).to_list()
    )


def test_every_catalogue_metric_of_a_workload(ds: wb.Dataset) -> None:
    v = perf.browse(ds, workload="web", metrics=list(perf.METRICS), step="10m")
    assert v.data.columns == list(perf.LONG_COLUMNS)
    assert sorted(v.data["pod"].unique()) == ["web-0", "web-1"]
    assert _values(v.data, "web-0", "cpu_usage") == [200.0] * 6  # 0.2 cores in millicores
    assert _values(v.data, "web-1", "cpu_usage") == [300.0, 300.0, 300.0, 550.0, 600.0, 600.0]
    assert _values(v.data, "web-0", "cpu_request") == [500.0] * 6
    assert _values(v.data, "web-0", "cpu_limit") == [1000.0] * 6
    assert _values(v.data, "web-1", "cpu_throttled") == [30.0] * 6  # 180 of 600 periods a minute
    assert _values(v.data, "web-0", "memory_usage") == [100.0 * MI] * 6
    assert _values(v.data, "web-0", "memory_limit") == [512.0 * MI] * 6
    assert _values(v.data, "web-0", "network_rx") == [1000.0] * 6
    assert _values(v.data, "web-0", "network_tx") == [2000.0] * 6
    # six Unhealthy warnings between 10:30 and 10:32:30, all in the 10:30 bucket
    assert _values(v.data, "web-1", "events_warning") == [0.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    assert _values(v.data, "web-1", "events_normal") == [0.0] * 6
    units = dict(v.data.select("metric", "unit").unique().iter_rows())
    assert (
        units["cpu_usage"] == "millicores"
        and units["memory_usage"] == "bytes"
        and units["network_rx"] == "bytes/s"
    )


def test_events_seen_many_times_are_spread_over_their_buckets(ds: wb.Dataset) -> None:
    v = perf.browse(ds, pods=("web-1",), metrics=("events_warning",), step="1m")
    # count 6 from 10:30:00 to 10:32:30: buckets 10:30, 10:31, 10:32 get 2 each
    got = v.data.filter(pl.col("value") > 0).select("ts", "value").rows()
    assert got == [(T0 + 30 * M, 2.0), (T0 + 31 * M, 2.0), (T0 + 32 * M, 2.0)]


def test_summary_matches_numpy(ds: wb.Dataset) -> None:
    v = perf.browse(ds, workload="web", metrics=("cpu_usage", "memory_usage"), step="1m")
    row = v.summary.filter(pl.col("pod") == "web-1", pl.col("metric") == "memory_usage").row(0, named=True)
    values = (
        v.data.filter(pl.col("pod") == "web-1", pl.col("metric") == "memory_usage")
        .sort("ts")["value"]
        .to_numpy()
    )
    assert row["p95"] == pytest.approx(np.percentile(values, 95))
    assert row["mean"] == pytest.approx(values.mean()) and row["max"] == values.max()
    assert row["last"] == values[-1] and row["samples"] == len(values) == 60
    assert v.summary.columns == list(perf.SUMMARY_COLUMNS)


def test_requests_only_while_the_pod_exists(ds: wb.Dataset) -> None:
    v = perf.browse(ds, pods=("new-0",), metrics=("cpu_request",), step="10m")
    # new-0 was created at 10:10: no request is drawn in the 10:00 bucket
    assert v.data["ts"].min() == T0 + 10 * M and _values(v.data, "new-0", "cpu_request") == [200.0] * 5


def test_bad_choices_name_the_closest(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="unknown metric 'cpu_usgae'; did you mean cpu_usage"):
        perf.browse(ds, metrics=("cpu_usgae",))
    with pytest.raises(wb.ParameterError, match="no pod named 'web-2'; closest: web-1, web-0"):
        perf.browse(ds, workload="web", pods=("web-2",))
    with pytest.raises(wb.ParameterError, match="no workload named 'wbe'"):
        perf.browse(ds, workload="wbe")


def test_empty_snapshot(tmp_path: Path) -> None:
    v = perf.browse(wb.open(write_empty_snapshot(tmp_path / "e")))
    assert_frame_equal(v.data, pl.DataFrame(schema=perf.LONG_COLUMNS))
    assert_frame_equal(v.summary, pl.DataFrame(schema=perf.SUMMARY_COLUMNS))


@pytest.mark.slow
def test_demo_throttled_pod_shows_its_throttling(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    truth = next(i for i in ds.ground_truth["incidents"] if i["kind"] == "cpu_throttling")
    v = perf.browse(ds, cluster=truth["cluster"], namespace=truth["namespace"], workload=truth["object"]["name"],
                    metrics=("cpu_usage", "cpu_limit", "cpu_throttled"), step="5m")  # fmt: skip
    pod = truth["pods"][0]
    during = v.data.filter(pl.col("pod") == pod, pl.col("ts") >= dt.datetime.fromisoformat(truth["start"]),
                           pl.col("ts") < dt.datetime.fromisoformat(truth["end"]))  # fmt: skip
    limit = truth["details"]["cpu_limit"] * 1000
    assert during.filter(pl.col("metric") == "cpu_limit")["value"].unique().to_list() == [limit]
    assert during.filter(pl.col("metric") == "cpu_throttled")["value"].max() > 10.0
    assert during.filter(pl.col("metric") == "cpu_usage")["value"].max() > 0.8 * limit


def test_charts_render(ds: wb.Dataset) -> None:
    import holoviews as hv

    from workbench.viz import perf as fv

    hv.extension("bokeh")
    v = perf.browse(ds, workload="web", metrics=list(perf.METRICS), step="10m")
    grid = fv.metric_grid(v.data)
    assert hv.render(grid) is not None and hv.render(fv.summary_table(v.summary)) is not None
    assert len(grid) == v.data["metric"].n_unique()  # one panel per metric
    assert hv.render(fv.metric_grid(v.data.head(0))) is not None
