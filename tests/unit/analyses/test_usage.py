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
    samples = usage.samples_of(ds, series, start=None, end=None)
    ids = series.select("series_id", "metric")
    cpu = usage.series_stats(samples.filter(pl.col("series_id").is_in(
        ids.filter(pl.col("metric") == usage.CPU)["series_id"].implode())), kind="counter", quantiles=[50, 90, 99]).collect()
    mem = usage.series_stats(samples.filter(pl.col("series_id").is_in(
        ids.filter(pl.col("metric") == usage.MEMORY)["series_id"].implode())), kind="gauge", quantiles=[95]).collect()
    rates = np.array(web1_rates())
    for q in (50, 90, 99):
        assert cpu[f"p{q}"][0] == pytest.approx(np.percentile(rates, q), abs=1e-12)
    assert cpu["samples"][0] == 60 and cpu["mean"][0] == pytest.approx(rates.mean())
    # increase over the window: 29 min × 18 + 6 + 30 min × 36 (per minute: 0.3·60, 0.6·60)
    assert cpu["increase"][0] == pytest.approx(29 * 18 + 6 + 30 * 36)
    working_set = np.array([150.0 * MI + (k % 10) * 10 * MI for k in range(61)])
    assert mem["p95"][0] == pytest.approx(np.percentile(working_set, 95))
    assert mem["max"][0] == working_set.max() and mem["samples"][0] == 61


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
