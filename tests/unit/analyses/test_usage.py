"""Resource usage from raw counters and gauges: rates with resets, per-series statistics, usage
per container/pod/node over time, and the requests bound to each node."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.resources import MI, T0, T1, web1_rates, write_empty_snapshot, write_resource_snapshot
from workbench.analyses import usage


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


@pytest.fixture(scope="module")
def empty_ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_empty_snapshot(tmp_path_factory.mktemp("empty") / "snap"))


def _t(*seconds: int) -> list[dt.datetime]:
    return [T0 + dt.timedelta(seconds=s) for s in seconds]


def test_counter_rate_with_a_reset_equals_the_hand_computation() -> None:
    # 10 → 20 in 10 s: 1/s; 20 → 5: a reset, the increase is 5 in 10 s: 0.5/s; 5 → 15: 1/s.
    # The second series arrives out of order and is sorted by time first: 0 → 30 in 15 s: 2/s.
    frame = pl.DataFrame({
        "series_id": [1, 1, 2, 1, 1, 2],
        "ts": _t(0, 10, 15, 20, 30, 0),
        "value": [10.0, 20.0, 30.0, 5.0, 15.0, 0.0],
    })  # fmt: skip
    out = usage.counter_rate(frame)
    assert out.filter(pl.col("series_id") == 1)["value"].to_list() == [1.0, 0.5, 1.0]
    assert out.filter(pl.col("series_id") == 2)["value"].to_list() == [2.0]


def test_stream_rates_pair_samples_across_stored_parts_and_resets(ds: wb.Dataset) -> None:
    # web-1's CPU counter is stored in two parts (10:00–10:30, 10:31–11:00) and resets at 10:30;
    # the pair 10:30 → 10:31 spans the parts and must be there: 60 rates from 61 samples.
    sid = ds.series(metric=usage.CPU, pod="web-1")["series_id"].to_list()
    assert len(sid) == 1
    samples = ds.scan("metrics").filter(pl.col("series_id") == sid[0]).select("series_id", "ts", "value")
    rates = usage.stream_rates(samples).collect().sort("ts")
    assert rates.height == 60
    assert rates["value"].round(9).to_list() == web1_rates()
    assert rates["ts"][0] == T0 + dt.timedelta(minutes=1) and rates["ts"][-1] == T1


def test_series_stats_percentiles_equal_numpys_on_the_same_samples(ds: wb.Dataset) -> None:
    series = ds.series(metric=[usage.CPU, usage.MEMORY], pod="web-1")
    samples = ds.scan("metrics").select("series_id", "ts", "value")
    stats = usage.series_stats(samples, series, quantiles={usage.CPU: [50, 90, 99], usage.MEMORY: [95]})
    cpu, mem = (stats.filter(pl.col("metric") == m) for m in (usage.CPU, usage.MEMORY))
    rates = np.array(web1_rates())
    for q in (50, 90, 99):
        assert cpu[f"p{q}"][0] == pytest.approx(np.percentile(rates, q), abs=1e-12)
    assert cpu["samples"][0] == 60 and cpu["mean"][0] == pytest.approx(rates.mean())
    # increase over the window: 29 min × 18 + 6 + 30 min × 36 (per minute: 0.3·60, 0.6·60)
    assert cpu["increase"][0] == pytest.approx(29 * 18 + 6 + 30 * 36)
    assert cpu["p95"][0] is None  # asked for the memory only
    working_set = np.array([150.0 * MI + (k % 10) * 10 * MI for k in range(61)])
    assert mem["p95"][0] == pytest.approx(np.percentile(working_set, 95))
    assert mem["max"][0] == working_set.max() and mem["samples"][0] == 61
    assert mem["increase"][0] is None and mem["p50"][0] is None


def _random_series(rng: np.random.Generator, n_series: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Series of every awkward shape (resets, repeated timestamps, many equal values, a constant,
    a single sample, a NaN, an infinity, an irregular scrape interval) and their samples."""
    series, rows = [], []
    for i in range(n_series):
        metric = usage.CPU if i % 2 else usage.MEMORY
        n = int(rng.integers(1, 400)) if i % 7 else 1
        step = rng.integers(1, 4, n) * 10_000_000 if i % 5 else np.full(n, 15_000_000)
        if i % 11 == 3:
            step[n // 2] = 0  # two samples at the same time
        t = 1_800_000_000_000_000 + np.cumsum(step)
        if metric == usage.CPU:
            v = np.cumsum(rng.gamma(2.0, 3.0, n))
            if n > 5 and i % 3:
                v[n // 3 :] -= v[n // 3 - 1] - rng.random()  # a restart: the counter resets
        else:
            v = np.floor(rng.lognormal(3, 1, n)) * 4096.0 if i % 4 else np.full(n, 7.0)
            if i % 13 == 5:
                v[n // 2] = np.nan if i % 2 else np.inf
        series.append({"cluster": "c", "series_id": 1000 + i * 7919, "metric": metric})
        rows.append(pl.DataFrame({"series_id": np.full(n, 1000 + i * 7919, dtype=np.uint64),
                                  "ts": t, "value": v}))  # fmt: skip
    samples = pl.concat(rows).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    return pl.DataFrame(
        series, schema={"cluster": pl.String, "series_id": pl.UInt64, "metric": pl.String}
    ), samples


def _reference(samples: pl.DataFrame, series: pl.DataFrame, qs: list[float]) -> pl.DataFrame:
    """What the statistics must be, the slow way: sort, rate the counters, group and rank (NaN
    ranked last, as polars does)."""
    counters = series.filter(pl.col("metric") == usage.CPU)["series_id"]
    rates = usage.counter_rate(samples.filter(pl.col("series_id").is_in(counters.implode())))
    gauges = samples.filter(~pl.col("series_id").is_in(counters.implode()))
    x = pl.col("value")
    return (
        pl.concat([rates.select(gauges.columns), gauges])
        .group_by("series_id")
        .agg(
            x.len().alias("samples"),
            x.mean().alias("mean"),
            x.max().alias("max"),
            *[x.quantile(q / 100, interpolation="linear").alias(f"p{q:g}") for q in qs],
        )
        .sort("series_id")
    )


def test_series_stats_equal_a_sort_based_reference_for_every_kind_of_series() -> None:
    series, samples = _random_series(np.random.default_rng(7), 120)
    qs = [0, 5, 50, 90, 99, 99.9, 100]
    # stored as the snapshot stores them: three parts by time, each sorted by series and time
    t = samples["ts"]
    cuts = [t.min(), t.quantile(0.3), t.quantile(0.7), t.max() + dt.timedelta(1)]
    parts = [samples.filter(pl.col("ts") >= lo, pl.col("ts") < hi).sort("series_id", "ts")
             for lo, hi in zip(cuts, cuts[1:], strict=False)]  # fmt: skip
    got = usage.series_stats(pl.concat(parts).lazy(), series, quantiles=qs).sort("series_id")
    want = _reference(samples, series, qs)
    assert got["series_id"].to_list() == want["series_id"].to_list()  # single-sample counters have no rate
    assert got["samples"].to_list() == want["samples"].to_list()
    for c in ("mean", "max", *(f"p{q:g}" for q in qs)):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12, err_msg=c)
    # and percentiles equal numpy's where there is no NaN
    sid = 1000 + 2 * 7919  # a gauge of whole pages: many equal values
    x = samples.filter(pl.col("series_id") == sid)["value"].to_numpy()
    assert got.filter(pl.col("series_id") == sid)["p90"][0] == pytest.approx(np.percentile(x, 90), rel=1e-12)


def test_series_stats_sorts_parts_stored_out_of_time_order() -> None:
    series, samples = _random_series(np.random.default_rng(3), 30)
    mid = samples["ts"].median()
    early, late = samples.filter(pl.col("ts") < mid), samples.filter(pl.col("ts") >= mid)
    in_order = usage.series_stats(pl.concat([early, late]), series, quantiles=[50, 99])
    reversed_parts = usage.series_stats(pl.concat([late, early]), series, quantiles=[50, 99])
    assert_frame_equal(in_order, reversed_parts)


def test_metric_stats_read_in_parts_equal_one_pass(ds: wb.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big inputs are read in parts by series-id range: the answer must not change."""
    from workbench.analyses import _rates

    series = ds.series(metric=[usage.CPU, usage.MEMORY, usage.THROTTLED])
    one = usage.metric_stats(ds, series, quantiles=[50, 99])
    monkeypatch.setattr(_rates, "_PART_VALUES", 40)  # a few series per part
    parts = usage.metric_stats(ds, series, quantiles=[50, 99])
    assert one.height == series.height  # every series has samples (and every counter a rate)
    assert_frame_equal(one, parts)


def test_series_stats_of_columns_chunked_differently_equal_the_rechunked_samples() -> None:
    """A read can give a batch whose columns are cut into chunks at different rows (a filtered
    read gives the id column in two): converted piece by piece without copies, the statistics
    must equal those of the same samples in one chunk."""
    from workbench.analyses import _rates

    series, samples = _random_series(np.random.default_rng(11), 40)
    samples = samples.sort("series_id", "ts")
    n = samples.height
    cut = [n // 3, n // 2, 2 * n // 3]
    ids = samples["series_id"]
    sid = pl.concat([ids.slice(0, cut[0]), ids.slice(cut[0])], rechunk=False)
    value = pl.concat([samples["value"].slice(0, cut[1]), samples["value"].slice(cut[1], cut[2] - cut[1]),
                       samples["value"].slice(cut[2])], rechunk=False)  # fmt: skip
    chunked = pl.DataFrame([sid, samples["ts"], value])
    assert [c.n_chunks() for c in chunked.get_columns()] == [2, 1, 3]
    pieces = list(_rates._single_chunks(chunked))
    assert [p.height for p in pieces] == [cut[0], cut[1] - cut[0], cut[2] - cut[1], n - cut[2]]
    assert all(c.n_chunks() == 1 for p in pieces for c in p.get_columns())
    assert_frame_equal(pl.concat(pieces), samples)
    want = usage.series_stats(samples, series, quantiles=[50, 90, 99])
    assert_frame_equal(usage.series_stats(chunked, series, quantiles=[50, 90, 99]), want)
    assert_frame_equal(usage.series_stats(chunked.lazy(), series, quantiles=[50, 90, 99]), want)


def test_increments_pair_samples_per_key_with_null_keys() -> None:
    frame = pl.DataFrame({
        "pod": ["a", "a", None, None, "a"], "container": [None, None, "x", "x", None],
        "ts": _t(0, 10, 0, 20, 20), "value": [1.0, 3.0, 10.0, 4.0, 7.0],
    })  # fmt: skip
    out = usage.increments(frame, by=["pod", "container"]).collect()
    a = out.filter(pl.col("pod") == "a")
    assert a["increase"].to_list() == [None, 2.0, 4.0] and a["rate"].to_list() == [None, 0.2, 0.4]
    nulls = out.filter(pl.col("pod").is_null())  # one series, keyed by nulls: 10 → 4 is a reset
    assert nulls["increase"].to_list() == [None, 4.0] and nulls["seconds"].to_list() == [None, 20.0]


def test_series_stats_rejects_a_percentile_out_of_range(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="101"):
        usage.series_stats(ds.scan("metrics"), ds.series(metric=usage.CPU), quantiles=[50, 101])


def test_metric_stats_of_a_real_cadvisor_scrape(realdata: Path, tmp_path: Path) -> None:
    """One scrape: a counter has no rate yet (no row), a gauge's statistics are its value."""
    from workbench.sources.prometheus.exposition import import_exposition
    from workbench.store import SnapshotWriter

    path = realdata / "prometheus" / "nri_kubernetes_k8s_1_35" / "kubelet" / "metrics" / "cadvisor"
    with SnapshotWriter(tmp_path / "snap") as w:
        import_exposition(w, [path], cluster="minikube")
    ds = wb.open(tmp_path / "snap")
    series = usage.select_series(ds, [usage.CPU, usage.MEMORY], containers_only=True)
    stats = usage.metric_stats(ds, series, quantiles=[99]).join(series.select("series_id", "pod", "container"),
                                                                on="series_id")  # fmt: skip
    assert stats["metric"].unique().to_list() == [usage.MEMORY]
    etcd = stats.filter(pl.col("container") == "etcd")
    assert (etcd["samples"][0], etcd["max"][0], etcd["p99"][0]) == (1, ETCD_WORKING_SET, ETCD_WORKING_SET)
    assert etcd["pod"][0] == "etcd-datagen-1-35"


def test_container_usage_ignores_the_pause_container_and_cgroup_totals(ds: wb.Dataset) -> None:
    out = usage.container_usage(ds, step="10m")
    assert out.columns == list(usage.CONTAINER_USAGE_COLUMNS)
    assert set(out["container"]) == {"main", "db", "api"}
    web0 = out.filter(pl.col("pod") == "web-0")
    assert web0["cpu_cores"].round(9).unique().to_list() == [0.2]
    assert web0["memory_bytes"].unique().to_list() == [100.0 * MI]
    # buckets start inside the window only: 10:00 … 10:50
    assert web0["ts"].to_list() == [T0 + dt.timedelta(minutes=10 * k) for k in range(6)]
    # web-1's 10:30 bucket: the reset pair (0.1) and nine pairs at 0.6 → 0.55
    web1 = out.filter(pl.col("pod") == "web-1", pl.col("ts") == T0 + dt.timedelta(minutes=30))
    assert web1["cpu_cores"][0] == pytest.approx(0.55)


@pytest.mark.parametrize(("start", "end", "step"), [(None, None, "1m"), (T0 + dt.timedelta(minutes=7, seconds=13),
                                                    T0 + dt.timedelta(minutes=41), "5m"), (T0, T1, "15s")])  # fmt: skip
def test_container_usage_in_one_read_equals_each_metric_bucketed(
    ds: wb.Dataset, start: dt.datetime | None, end: dt.datetime | None, step: str
) -> None:
    """CPU and memory are read together, from where the CPU counter's rates need it (before
    ``start``): the same as bucketing each metric on its own, memory from ``start``."""
    got = usage.container_usage(ds, start=start, end=end, step=step)
    keys = ["cluster", "namespace", "pod", "container", "ts"]
    f = {"step": step, "start": start, "end": end, "containers_only": True}
    cpu = usage.bucketed(ds, usage.CPU, kind="counter", **f)
    cpu = cpu.group_by(keys).agg(pl.col("mean").max().alias("cpu_cores"))
    mem = usage.bucketed(ds, usage.MEMORY, kind="gauge", **f).group_by(keys).agg(
        pl.col("mean").max().alias("memory_bytes"), pl.col("max").max().alias("memory_max_bytes"))  # fmt: skip
    want = cpu.join(mem, on=keys, how="full", coalesce=True).sort(keys)
    assert got.height > 0
    assert_frame_equal(got.select(want.columns), want)


def test_pod_usage_adds_network_per_pod(ds: wb.Dataset) -> None:
    out = usage.pod_usage(ds, pod="web-0", step="30m")
    assert out["network_rx_bytes_per_s"].round(6).to_list() == [1000.0, 1000.0]
    assert out["network_tx_bytes_per_s"].round(6).to_list() == [2000.0, 2000.0]
    assert out["node"].unique().to_list() == ["n1"]


def test_node_usage_prefers_node_exporter_and_falls_back_to_containers(ds: wb.Dataset) -> None:
    out = usage.node_usage(ds, step="30m")
    n1 = out.filter(pl.col("node") == "n1")
    # node-exporter on n1: cpu0 user 0.9 + cpu1 system 0.6 = 1.5 busy cores; 8.5 − 6.5 GiB in use
    assert n1["source"].unique().to_list() == ["node-exporter"]
    assert n1["cpu_cores"].round(9).unique().to_list() == [1.5]
    assert n1["memory_bytes"].unique().to_list() == [2.0 * 2**30]
    n2 = out.filter(pl.col("node") == "n2")
    assert n2["source"].unique().to_list() == ["containers"]
    assert n2["cpu_cores"].round(9).unique().to_list() == [0.5]  # db-0 alone


@pytest.mark.parametrize(("start", "end", "step"), [(None, None, "10m"), (T0 + dt.timedelta(minutes=7, seconds=30),
                                                                         T0 + dt.timedelta(minutes=41), "5m")])  # fmt: skip
def test_bucketed_from_samples_read_once_equals_reading_the_table(
    ds: wb.Dataset, start: dt.datetime | None, end: dt.datetime | None, step: str
) -> None:
    """Several metrics' samples read once (counters from a look-back before the window, gauges
    from its start) give each metric what reading the table for it gives."""
    w = {"step": step, "start": start, "end": end}
    metrics = [usage.CPU, usage.MEMORY, usage.NET_RX, usage.NODE_CPU, usage.NODE_MEM_TOTAL]
    samples = usage.read_samples(ds, usage.select_series(ds, metrics), **w)
    assert samples.columns == ["series_id", "ts", "value"]
    for metric, kind in ((usage.CPU, "counter"), (usage.MEMORY, "gauge"), (usage.NET_RX, "counter"),
                         (usage.NODE_CPU, "counter"), (usage.NODE_MEM_TOTAL, "gauge")):  # fmt: skip
        # (rows of series that differ only in other labels, node-exporter's CPUs, tie on the sort)
        order = ["cluster", "metric", "namespace", "pod", "container", "node", "labels", "ts"]
        alone = usage.bucketed(ds, metric, kind=kind, **w).sort(order)
        assert not alone.is_empty()
        once = usage.bucketed(ds, metric, kind=kind, samples=samples, **w).sort(order)
        assert_frame_equal(once, alone, abs_tol=1e-9)


def test_bucketed_series_filter_keeps_the_series_it_selects(ds: wb.Dataset) -> None:
    busy = ~pl.col("labels").str.json_path_match("$.mode").is_in(usage.IDLE_MODES)
    order = ["node", "labels", "ts"]
    everything = usage.bucketed(ds, usage.NODE_CPU, kind="counter", step="30m").sort(order)
    assert_frame_equal(usage.bucketed(ds, usage.NODE_CPU, kind="counter", step="30m", series_filter=busy).sort(order),
                       everything.filter(busy))  # fmt: skip
    assert set(everything.filter(~busy)["labels"].str.json_path_match("$.mode")) == {"idle"}


def test_requests_over_time_follow_binding_and_termination(ds: wb.Dataset) -> None:
    out = usage.requests_over_time(ds, step="10m")
    n2 = out.filter(pl.col("node") == "n2").sort("ts")
    # db-0 (1 core) all along; job-x (0.25) until its Succeeded revision at 10:30
    assert n2["cpu_requests"].to_list() == [1.25, 1.25, 1.25, 1.25, 1.0, 1.0]
    assert n2["pods"].to_list() == [2, 2, 2, 2, 1, 1]
    n1 = out.filter(pl.col("node") == "n1").sort("ts")
    # web-0 + web-1 (0.5 each), new-0 (0.2) bound from 10:10:05
    assert n1["cpu_requests"].round(9).to_list() == [1.0, 1.2, 1.2, 1.2, 1.2, 1.2]
    assert n1["memory_limits"][-1] == 2 * 512 * MI + 128 * MI


def test_empty_snapshot_gives_empty_frames_with_columns(empty_ds: wb.Dataset) -> None:
    for frame, cols in (
        (usage.container_usage(empty_ds), usage.CONTAINER_USAGE_COLUMNS),
        (usage.pod_usage(empty_ds), usage.POD_USAGE_COLUMNS),
        (usage.node_usage(empty_ds), usage.NODE_USAGE_COLUMNS),
        (usage.requests_over_time(empty_ds), usage.REQUESTS_COLUMNS),
    ):
        assert frame.is_empty()
        assert_frame_equal(frame, pl.DataFrame(schema=cols))


def test_bucketed_rejects_a_bad_step(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="step"):
        usage.container_usage(ds, step="ten minutes")


def test_usage_reads_a_real_cadvisor_scrape(realdata: Path, tmp_path: Path) -> None:
    """The minikube cAdvisor scrape: one sample per series, so no rate, but the working set of
    a container is read as exposed, and the pause container and cgroup totals are left out."""
    from workbench.sources.prometheus.exposition import import_exposition
    from workbench.store import SnapshotWriter

    path = realdata / "prometheus" / "nri_kubernetes_k8s_1_35" / "kubelet" / "metrics" / "cadvisor"
    with SnapshotWriter(tmp_path / "snap") as w:
        import_exposition(w, [path], cluster="minikube")
    ds = wb.open(tmp_path / "snap")
    mem = usage.container_usage(ds, step="1m")
    # read off the file: container_memory_working_set_bytes{container="etcd",…,pod="etcd-datagen-1-35"}
    etcd = mem.filter(pl.col("container") == "etcd")
    assert etcd.height == 1
    assert etcd["memory_bytes"][0] == ETCD_WORKING_SET
    assert etcd["cpu_cores"].is_null().all()  # one scrape: no rate
    assert "POD" not in mem["container"].to_list()


#: ``container_memory_working_set_bytes{container="etcd",…,pod="etcd-datagen-1-35"} 4.4290048e+07``
#: in the minikube cAdvisor scrape.
ETCD_WORKING_SET = 4.4290048e07


def _gappy_snapshot(path: Path) -> wb.Dataset:
    """Counters and gauges every 15 s (10:00–11:00) with what makes a window's first rates
    differ: a CPU counter silent 10:12–10:26 that then resets, another silent 10:40–10:47:30,
    a sample at the time of the one before, a pod starting at 10:31, stored in three parts."""
    from tests.support.resources import _series
    from workbench.store import SnapshotWriter

    every = [T0 + dt.timedelta(seconds=15 * k) for k in range(241)]
    gap1 = [t for t in every if not T0 + dt.timedelta(minutes=12) < t < T0 + dt.timedelta(minutes=26)]
    gap2 = [
        t for t in every if not T0 + dt.timedelta(minutes=40) < t < T0 + dt.timedelta(minutes=47, seconds=30)
    ]
    late = [t for t in every if t >= T0 + dt.timedelta(minutes=31)]
    c = {"namespace": "shop", "container": "main", "node": "n1"}

    def counter(times: list[dt.datetime], rate: float, reset_at: dt.datetime | None = None) -> list[float]:
        return [
            rate * (t - (reset_at if reset_at and t >= reset_at else T0)).total_seconds() + 3.0 for t in times
        ]

    twice = [*every[:30], every[29], *every[30:]]
    wide = pl.concat([
        _series(usage.CPU, counter(gap1, 0.25, T0 + dt.timedelta(minutes=26)), gap1, pod="a-0", **c),
        _series(usage.CPU, counter(gap2, 0.5), gap2, pod="b-0", **c),
        _series(usage.CPU, [0.1 * k for k in range(len(twice))], twice, pod="c-0", **c),
        _series(usage.CPU, counter(late, 0.75), late, pod="d-0", **c),
        _series(usage.MEMORY, [1e6 * (k % 7) for k in range(len(gap1))], gap1, pod="a-0", **c),
        _series(usage.NET_RX, counter(gap2, 100.0), gap2, pod="b-0", namespace="shop", node="n1", interface="eth0"),
        _series(usage.NODE_CPU, counter(gap1, 0.5), gap1, node="n1", cpu="0", mode="user"),
        _series(usage.NODE_MEM_TOTAL, [8e9] * 241, every, node="n1"),
        _series(usage.NODE_MEM_AVAILABLE, [6e9 - 1e6 * (k % 5) for k in range(241)], every, node="n1"),
    ])  # fmt: skip
    with SnapshotWriter(path) as w:
        w.add_source("test", note="gaps")
        w.set_window(T0, T1)
        for lo, hi in ((T0, T0 + dt.timedelta(minutes=20)), (T0 + dt.timedelta(minutes=20), T0 + dt.timedelta(minutes=45)),
                       (T0 + dt.timedelta(minutes=45), T1 + dt.timedelta(seconds=1))):  # fmt: skip
            w.write_metrics(wide.filter(pl.col("ts") >= lo, pl.col("ts") < hi))
    return wb.open(path)


#: Windows the cells serve (a start on 5 minutes, an end on the step), around the gaps and the
#: reset: a window from 10:25 reads from 10:20, inside a-0's silence, so a-0's sample at 10:26
#: has no rate; one from 10:45 reads b-0 from 10:40, its last sample before its silence, so
#: b-0's sample at 10:47:30 has its rate; with 15m buckets from 10:15 a-0's has its rate.
_CELL_WINDOWS = [
    (T0 + dt.timedelta(minutes=25), T1, "5m"), (T0 + dt.timedelta(minutes=45), T1, "5m"),
    (None, None, "5m"), (T0 + dt.timedelta(minutes=30), T1, "5m"), (T0 + dt.timedelta(minutes=15), T1, "15m"),
    (T0 + dt.timedelta(minutes=35), T0 + dt.timedelta(minutes=50), "5m"), (T0 + dt.timedelta(minutes=50), T1, "5m"),
    (T0 + dt.timedelta(minutes=25), T0 + dt.timedelta(minutes=45), "15m"), (T0 - dt.timedelta(hours=1), T1, "1h"),
    (T0 + dt.timedelta(minutes=55), T1, "1h"), (T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(minutes=45), "15m"),
]  # fmt: skip


@pytest.mark.parametrize(("start", "end", "step"), _CELL_WINDOWS)
def test_buckets_from_cells_equal_bucketed_from_the_samples(
    tmp_path: Path, start: dt.datetime | None, end: dt.datetime | None, step: str
) -> None:
    """Per-series cells made once over the whole snapshot give, cut to a window, the rows a read
    of that window gives: rates after a gap dropped when the read starts inside it, resets,
    samples at the same time, a series starting late, and every node usage figure."""
    from workbench.analyses import _usage_cells

    ds = _gappy_snapshot(tmp_path / "gaps")
    series = usage.node_series(ds)
    cells = _usage_cells.cells_of(ds, series)
    assert cells is not None and cells.heads.height == 4  # a-0's and b-0's CPU, b-0's rx, the node's CPU
    w = {"step": step, "start": start, "end": end}
    buckets = usage.cell_buckets(ds, cells, series, **w)
    assert buckets is not None
    order = ["cluster", "metric", "namespace", "pod", "container", "node", "labels", "ts"]
    for metric, kind in ((usage.CPU, "counter"), (usage.MEMORY, "gauge"), (usage.NET_RX, "counter"),
                         (usage.NODE_CPU, "counter"), (usage.NODE_MEM_AVAILABLE, "gauge")):  # fmt: skip
        direct = usage.bucketed(ds, metric, kind=kind, **w).sort(order)
        assert not direct.is_empty()
        assert_frame_equal(usage.bucketed(ds, metric, kind=kind, buckets=buckets, **w).sort(order), direct,
                           abs_tol=1e-9)  # fmt: skip
    assert_frame_equal(usage.node_usage(ds, buckets=buckets, **w), usage.node_usage(ds, **w), abs_tol=1e-9)


def test_cells_serve_only_windows_on_their_grid(ds: wb.Dataset) -> None:
    """A start off the 5-minute grid, an end off the step's, a step shorter than 5 minutes: no
    buckets from the cells (the caller reads the samples)."""
    from workbench.analyses import _usage_cells

    series = usage.node_series(ds)
    cells = _usage_cells.cells_of(ds, series)
    assert cells is not None
    assert (
        usage.cell_buckets(ds, cells, series, step="5m", start=T0 + dt.timedelta(minutes=5), end=T1)
        is not None
    )
    for start, end, step in ((T0 + dt.timedelta(minutes=7), T1, "5m"), (T0, T0 + dt.timedelta(minutes=50), "15m"),
                             (T0, T1, "1m")):  # fmt: skip
        assert usage.cell_buckets(ds, cells, series, step=step, start=start, end=end) is None


def test_cells_are_not_made_from_null_values(tmp_path: Path) -> None:
    from tests.support.resources import _series
    from workbench.analyses import _usage_cells
    from workbench.store import SnapshotWriter

    times = [T0 + dt.timedelta(minutes=k) for k in range(10)]
    with SnapshotWriter(tmp_path / "nulls") as w:
        w.add_source("test", note="nulls")
        w.write_metrics(
            _series(usage.MEMORY, [1.0, None, *[2.0] * 8], times, pod="a", namespace="x", container="c")
        )
    ds = wb.open(tmp_path / "nulls")
    assert _usage_cells.cells_of(ds, usage.node_series(ds)) is None
