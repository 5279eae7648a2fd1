"""``metric_series`` on a snapshot (keyed on ``series_id``, one compiled pass over the samples in
storage order) against the formula it replaced, kept here as the reference: on the demo and on
awkward series written part by part (counter resets, samples at the same time, gaps, NaN and
null values, a series across parts and dates, parts out of time order, several raw series per
key, a ``where`` over the labels)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import anomalies as an
from workbench.analyses.patterns import step_duration
from workbench.errors import ParameterError
from workbench.store import SnapshotWriter

TS = pl.Datetime("us", "UTC")
RAW = ["cluster", "metric", "namespace", "pod", "container", "node", "labels"]
AGGS = {"sum": pl.Expr.sum, "mean": pl.Expr.mean, "max": pl.Expr.max, "min": pl.Expr.min}
#: 23:50 UTC: the samples cross midnight, so a series spans two date partitions.
T0 = dt.datetime(2026, 3, 1, 23, 50, tzinfo=dt.UTC)


def reference(wide: pl.DataFrame, *, by: Sequence[str] = ("namespace", "pod", "container"), step: str = "1m",
              agg: str = "sum", counter: bool | None = None, where: pl.Expr | None = None) -> pl.DataFrame:  # fmt: skip
    """The formula ``metric_series`` used before (sort on the label columns, window functions
    per raw series), on a wide frame in storage order. Its sort keeps that order for samples
    at the same time (the old sort did not promise any order for them)."""
    lf = wide.lazy()
    if where is not None:  # evaluated once per raw series
        lf = lf.join(lf.select(RAW).unique().filter(where), on=RAW, how="semi", nulls_equal=True)
    is_counter = (
        pl.lit(counter) if counter is not None else pl.col("metric").str.contains("(_total|_count|_sum)$")
    )
    lf = lf.with_columns(is_counter.alias("_counter"))
    every = f"{int(step_duration(step).total_seconds())}s"
    bucket = pl.col("ts").dt.truncate(every).alias("ts")
    c = lf.filter("_counter").sort([*RAW, "ts"], nulls_last=True, maintain_order=True)
    same = pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift()) for k in RAW]) & pl.int_range(
        pl.len()
    ).gt(0)
    v = pl.col("value")
    seconds = pl.col("ts").diff().dt.total_microseconds().cast(pl.Float64) / 1e6
    rates = (
        c.with_columns(pl.when(same).then(pl.when(v < v.shift()).then(v).otherwise(v - v.shift())).alias("increase"),
                       pl.when(same).then(seconds).alias("seconds"))
        .filter(pl.col("seconds").is_not_null())
        .group_by(*RAW, bucket)
        .agg((pl.col("increase").sum() / pl.col("seconds").sum()).alias("value"))
    )  # fmt: skip
    gauges = lf.filter(~pl.col("_counter")).group_by(*RAW, bucket).agg(pl.col("value").mean())
    keys = ["cluster", "metric", *by]
    out = pl.concat([rates, gauges]).group_by(*keys, "ts").agg(AGGS[agg](pl.col("value")).alias("value"))
    return (
        out.sort([*keys, "ts"])
        .collect()
        .with_columns(pl.col("ts").cast(TS), pl.col("value").cast(pl.Float64))
    )


def wide_in_storage_order(
    ds: wb.Dataset, metric: str | list[str] | None = None, **filters: object
) -> pl.DataFrame:
    """The samples of ``ds.scan_metrics`` in the order the snapshot stores them."""
    series, samples = ds.metric_samples(metric=metric, **filters)
    joined = samples.join(series.lazy(), on=["cluster", "series_id"], how="inner", maintain_order="left")
    return joined.select(*RAW, "ts", "value").collect()


def check(ds: wb.Dataset, metric: str | list[str] | None = None, *, by: Sequence[str] = ("namespace", "pod", "container"),
          step: str = "1m", agg: str = "sum", counter: bool | None = None, where: pl.Expr | None = None,
          **filters: object) -> pl.DataFrame:  # fmt: skip
    """``metric_series`` of ``ds`` equals the reference on its samples; returns it."""
    got = an.metric_series(ds, metric, by=by, step=step, agg=agg, counter=counter, where=where, **filters)
    want = reference(wide_in_storage_order(ds, metric, **filters), by=by, step=step, agg=agg, counter=counter,
                     where=where)  # fmt: skip
    assert got.columns == ["cluster", "metric", *by, "ts", "value"]
    assert got.select(pl.exclude("value")).equals(want.select(pl.exclude("value")))
    # the values of one raw series are the same to the bit; sums over several raw series may
    # differ in their last bits (the old formula did not fix the order it added them in either)
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=0.0)
    return got


def _rows(metric: str, pod: str, container: str | None, times: Sequence[float], values: Sequence[float | None],
          labels: dict[str, str] | None = None) -> pl.DataFrame:  # fmt: skip
    return pl.DataFrame(
        {"cluster": "c1", "metric": metric, "namespace": "shop", "pod": pod, "container": container, "node": "n1",
         "labels": json.dumps(labels or {}), "ts": [T0 + dt.timedelta(seconds=s) for s in times], "value": values},
        schema_overrides={"value": pl.Float64, "container": pl.String},
    ).with_columns(pl.col("ts").cast(TS))  # fmt: skip


CPU = "x_cpu_seconds_total"
MEM = "x_memory_bytes"


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    """Awkward series in a snapshot written in three batches (so in several parts)."""
    t15 = [15.0 * i for i in range(80)]  # 20 minutes of 15 s scrapes, across midnight
    resets = [float(i % 30) * 4 + 1 for i in range(80)]  # a counter restarting every 30 samples
    gaps = [t for t in t15 if not 300 <= t < 720]  # a 7-minute hole
    nan_counter = [float(i) * 2 for i in range(len(gaps))]
    nan_counter[5], nan_counter[9], nan_counter[10] = float("nan"), None, None  # type: ignore[call-overload]
    mem = [1e6 + 1000 * (i % 7) for i in range(80)]
    mem[3], mem[20] = float("nan"), None  # type: ignore[call-overload]
    mem[40:44] = [None] * 4  # a whole bucket of nulls
    dup_t = [0, 15, 15, 30, 30, 30, 45, 60, 60, 75, 90]  # samples at the same time
    dup_v = [1.0, 5, 3, 7, 7, 2, 9, 9, 12, 13, 13]
    frames = [
        _rows(CPU, "a", "main", t15, resets),
        _rows(CPU, "a", "main", t15, [2 * v for v in resets], {"cpu": "1"}),  # a second raw series, same key
        _rows(CPU, "a", "side", dup_t, dup_v),
        _rows(CPU, "b", "main", gaps, nan_counter),
        _rows(CPU, "b", "lone", [30.0], [5.0]),  # one sample: no rate
        _rows(MEM, "a", "main", t15, mem),
        _rows(MEM, "a", "main", t15, [None if v is None else v * 3 for v in mem], {"numa": "0"}),
        _rows(CPU, "d", "", t15, resets),  # pod-level sum of pod d
        _rows(CPU, "d", "POD", t15, resets),  # pause container
        _rows(CPU, "d", "app", t15, resets),
        _rows(CPU, "e", "", t15, [2 * v for v in resets]),  # pod e: only its pod-level sum
        _rows(CPU, "e", "POD", t15, [3 * v for v in resets]),
    ]
    samples = pl.concat(frames)
    cut1, cut2 = T0 + dt.timedelta(seconds=202), T0 + dt.timedelta(seconds=733)  # not on a bucket's edge
    late = samples.filter(pl.col("ts") >= cut2)
    # pod c: its later samples are written first, so its parts are out of time order
    c_early = _rows(CPU, "c", "main", t15[:40], resets[:40])
    c_late = _rows(CPU, "c", "main", t15[40:], resets[40:])
    path = tmp_path_factory.mktemp("awkward") / "snap"
    with SnapshotWriter(path) as w:
        w.write_metrics(pl.concat([samples.filter(pl.col("ts") < cut1), c_late]))
        w.write_metrics(
            pl.concat([samples.filter(pl.col("ts").is_between(cut1, cut2, closed="left")), c_early])
        )
        w.write_metrics(late)
    return wb.open(path)


def _containers_only() -> pl.Expr:
    """As triage uses it: a pod's named containers, its pod-level series only when it has none."""
    named = pl.col("container").is_not_null() & ~pl.col("container").is_in(["", "POD"])
    pod_level = ~named.any().over("cluster", "metric", "namespace", "pod") & (
        pl.col("container").fill_null("") != "POD"
    )
    return pl.col("pod").is_not_null() & (named | pod_level)


def test_the_awkward_snapshot_really_is_awkward(awkward: wb.Dataset) -> None:
    files = awkward.files("metrics")
    assert len(files) >= 4 and {f.parent.name for f in files} == {"date=2026-03-01", "date=2026-03-02"}
    stored = wide_in_storage_order(awkward, CPU, pod="c")
    assert not stored["ts"].is_sorted()  # the later samples come first


@pytest.mark.parametrize("agg", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("by", [("namespace", "pod", "container"), ("namespace",), ("node",), ("pod",)])
def test_awkward_series_as_the_reference_computes_them(
    awkward: wb.Dataset, by: tuple[str, ...], agg: str
) -> None:
    # pods a, b, d, e: every series in time order (one pass); with pod c: sorted first
    check(awkward, [CPU, MEM], by=by, agg=agg, pod=["a", "b", "d", "e"])
    check(awkward, [CPU, MEM], by=by, agg=agg)


def test_awkward_counters_hold_what_they_should(awkward: wb.Dataset) -> None:
    got = check(awkward, CPU, pod=["a", "b"])
    # samples at the same time: their pairs add their increase and no seconds
    assert got.filter(pl.col("container") == "side")["value"].is_finite().to_list() == [True, True]
    assert got.filter(pl.col("container") == "lone").is_empty()  # one sample: no rate
    # a reset every 30 samples: the rate of pod a's two raw series (1× and 2×) is 3 × 4/15 per
    # second, except in the minutes holding a reset
    main = got.filter(pl.col("pod") == "a", pl.col("container") == "main")["value"]
    assert (main - 0.8).abs().lt(1e-12).sum() >= main.len() - 3
    nan = got.filter(pl.col("pod") == "b", pl.col("container") == "main")
    assert nan["value"].is_nan().any() and nan["value"].is_not_nan().any()
    # the 7-minute hole (23:55 to 00:02): no bucket for the minutes without a pair ending in them
    minutes = {t.minute for t in nan["ts"].to_list()}
    assert not minutes & {55, 56, 57, 58, 59, 0, 1} and 2 in minutes


def test_awkward_gauges_hold_nan_and_null_buckets(awkward: wb.Dataset) -> None:
    mean = check(awkward, MEM, agg="mean", pod="a")
    total = check(awkward, MEM, agg="sum", pod="a")
    assert mean["value"].is_nan().any() and mean["value"].null_count() == 1  # the bucket of nulls
    assert total["value"].null_count() == 0  # a sum of nothing is 0, as before


def test_counter_forced_and_steps_and_windows(awkward: wb.Dataset) -> None:
    check(awkward, MEM, counter=True, pod="a")
    check(awkward, CPU, counter=False)
    check(awkward, [CPU, MEM], step="5m")
    check(awkward, [CPU, MEM], step="1h", by=("pod",))
    check(awkward, [CPU, MEM], start=T0 + dt.timedelta(minutes=3), end=T0 + dt.timedelta(minutes=13))
    empty = check(awkward, "no_such_metric")
    assert empty.is_empty()


def test_where_is_evaluated_per_series(awkward: wb.Dataset) -> None:
    got = check(awkward, CPU, where=_containers_only(), pod=["d", "e"])
    assert set(got.select("pod", "container").rows()) == {("d", "app"), ("e", "")}
    # the wide-frame path (sorting by the labels) agrees: these series have no samples at the same time
    wide = an.metric_series(wide_in_storage_order(awkward, CPU, pod=["d", "e"]), where=_containers_only())
    assert_frame_equal(wide, got, check_exact=False, rel_tol=1e-12)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from workbench.sources.demo import generate

    return wb.open(generate(tmp_path_factory.mktemp("demo") / "snap", hours=1, seed=0))


def test_demo_series_as_the_reference_computes_them(demo: wb.Dataset) -> None:
    from workbench.ui.anomalies import METRICS

    got = check(demo, list(METRICS), step="1m")
    assert got.height > 1000 and got["metric"].n_unique() >= 5
    check(demo, list(METRICS), by=("namespace",), agg="mean")
    check(demo, ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes"], by=("node",),
          where=pl.col("node").is_not_null() & ~pl.col("labels").fill_null("").str.contains('"mode":"idle"'))  # fmt: skip
    check(demo, "container_cpu_usage_seconds_total", namespace="shop", where=_containers_only(), step="2m")
    lo, hi = demo.window
    assert lo is not None and hi is not None
    check(demo, None, by=("pod",), agg="max", start=lo + (hi - lo) / 3, end=hi - (hi - lo) / 3)


def test_samples_already_read_give_the_same_series(demo: wb.Dataset) -> None:
    from workbench.ui.anomalies import METRICS

    # 15 s buckets: about a cell per sample, so the cells outgrow their first arrays
    fine = check(demo, list(METRICS), step="15s")
    assert fine.height > 100_000
    # a (series, samples) pair whose samples hold every other metric's too
    series, _ = demo.metric_samples(metric=list(METRICS))
    _, everything = demo.metric_samples()
    pair = an.metric_series((series, everything.collect()), step="15s")
    assert_frame_equal(pair, fine)
    cpu = an.metric_series((series, everything), "container_cpu_usage_seconds_total", by=("pod",))
    assert_frame_equal(cpu, an.metric_series(demo, "container_cpu_usage_seconds_total", by=("pod",)))
    with pytest.raises(ParameterError, match="filters .*namespace.* apply to a Dataset"):
        an.metric_series((series, everything), namespace="shop")


def test_the_wide_frame_path_is_the_reference(demo: wb.Dataset) -> None:
    wide = wide_in_storage_order(demo, "container_cpu_usage_seconds_total", namespace="shop")
    assert_frame_equal(an.metric_series(wide), reference(wide), check_exact=False, rel_tol=1e-12)


def test_metric_samples_are_what_scan_metrics_joins(demo: wb.Dataset, tmp_path: Path) -> None:
    series, samples = demo.metric_samples(metric="container_memory_working_set_bytes", namespace="shop")
    assert set(series["metric"]) == {"container_memory_working_set_bytes"} and set(series["namespace"]) == {
        "shop"
    }
    wide = demo.scan_metrics(metric="container_memory_working_set_bytes", namespace="shop").collect()
    assert samples.collect().height == wide.height > 0
