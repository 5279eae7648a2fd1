"""Collecting the catalogue from a real Prometheus: exact values, pushed-down aggregation,
long windows split and stitched, filters, bad queries, a server that dies mid-collection."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import workbench as wb
from tests.integration.prometheus.conftest import DAYS, T0, PromData
from tests.support.prometheus import PrometheusServer
from workbench.errors import SourceError
from workbench.sources.prometheus import (
    CATALOGUE,
    ChunkProgress,
    PrometheusClient,
    PrometheusQueryError,
    PrometheusSettings,
    QuerySpec,
    collect_prometheus,
    spec,
)
from workbench.store import SnapshotWriter

pytestmark = pytest.mark.prometheus

STEP = 15
WINDOW_END = T0 + dt.timedelta(days=DAYS) - dt.timedelta(seconds=STEP)  # 17,280 points at 15 s
POINTS = 17_280


@pytest.fixture(scope="module")
def collected(prom: PromData, tmp_path_factory: pytest.TempPathFactory) -> tuple[wb.Dataset, object]:
    out = tmp_path_factory.mktemp("collect") / "snap"
    settings = PrometheusSettings(url=prom.url, cluster_label="cluster", backoff=0)
    with SnapshotWriter(out) as w:
        stats = collect_prometheus(w, settings, start=T0, end=WINDOW_END)
    return wb.open(out), stats


def _series(ds: wb.Dataset, metric: str, **filters: object) -> pl.DataFrame:
    container = filters.pop("container", None)
    df = ds.metrics(metric=metric, **filters)
    if container is not None:
        df = df.filter(pl.col("container") == container)
    return df.sort("ts")


def test_gauge_samples_are_exactly_the_generated_values(prom: PromData, collected) -> None:
    ds, _ = collected
    df = _series(ds, "container_memory_working_set_bytes", cluster="c1", pod="cart-0", container="cart")
    assert df.height == POINTS
    expected = [prom.truth.at(("mem", "c1", "shop", "cart-0", "cart"), t) for t in df["ts"]]
    # Two HA replicas export this series: max by (…) keeps one value, a sum would double it.
    assert df["value"].to_list() == expected
    row = df.row(1000, named=True)
    assert (row["namespace"], row["node"], row["labels"]) == ("shop", "node-a", None)
    # Spot checks a person can follow: on a sample and half a step after it.
    for when in (T0, T0 + dt.timedelta(hours=36, seconds=30), T0 + dt.timedelta(hours=36, seconds=45)):
        got = df.filter(pl.col("ts") == when)["value"].item()
        assert got == prom.truth.at(("mem", "c1", "shop", "cart-0", "cart"), when)


def test_counters_are_stored_raw_and_pause_containers_left_out(prom: PromData, collected) -> None:
    ds, _ = collected
    df = ds.metrics(metric="container_cpu_usage_seconds_total", cluster="c1")
    assert df["container"].null_count() == 0
    assert sorted(df["container"].unique().to_list()) == ["cart", "envoy", "web", "worker"]
    for (ns, pod, container), part in df.group_by(["namespace", "pod", "container"]):
        part = part.sort("ts")
        expected = [prom.truth.at(("cpu", "c1", ns, pod, container), t) for t in part["ts"]]
        assert part["value"].to_list() == expected, (pod, container)


def test_sum_by_adds_the_parts_a_query_drops(prom: PromData, collected) -> None:
    ds, _ = collected
    rx = _series(ds, "container_network_receive_bytes_total", cluster="c1", pod="cart-0")
    assert rx.height == POINTS and rx["container"].null_count() == POINTS
    truth = prom.truth
    expected = [
        truth.at(("rx", "c1", "shop", "cart-0", "eth0"), t)
        + truth.at(("rx", "c1", "shop", "cart-0", "eth1"), t)
        for t in rx["ts"]
    ]
    assert rx["value"].to_list() == pytest.approx(expected, rel=1e-15)
    cpu = (
        ds.metrics(metric="node_cpu_seconds_total", node="node-a")
        .filter(pl.col("labels").str.json_path_match("$.mode") == "idle")
        .sort("ts")
    )
    assert cpu.height == POINTS
    expected = [
        truth.at(("node_cpu", "node-a", "0", "idle"), t) + truth.at(("node_cpu", "node-a", "1", "idle"), t)
        for t in cpu["ts"]
    ]
    assert cpu["value"].to_list() == pytest.approx(expected, rel=1e-15)


def test_kube_state_requests_in_cores_and_bytes(collected) -> None:
    ds, _ = collected
    df = _series(ds, "kube_pod_container_resource_requests", cluster="c1", pod="cart-0", container="cart")
    by_resource = {json.loads(t)["resource"]: g for (t,), g in df.group_by("labels")}
    assert set(by_resource) == {"cpu", "memory"}
    assert by_resource["cpu"]["value"].unique().to_list() == [0.25]
    assert by_resource["memory"]["value"].unique().to_list() == [256 * 2**20]
    assert json.loads(by_resource["cpu"]["labels"][0]) == {"resource": "cpu", "unit": "core"}


def test_cluster_label_value_becomes_the_cluster_column(prom: PromData, collected) -> None:
    ds, _ = collected
    assert ds.clusters == ["c1", "c2"]
    c2 = _series(ds, "container_memory_working_set_bytes", cluster="c2", pod="cart-0", container="cart")
    assert c2["node"].unique().to_list() == ["node-z"]
    assert c2["value"].to_list() == [
        prom.truth.at(("mem", "c2", "shop", "cart-0", "cart"), t) for t in c2["ts"]
    ]
    assert all("cluster" not in (t or "") for t in ds.series()["labels"].to_list())


def test_long_window_is_split_under_the_limit_and_stitched_without_gaps(collected) -> None:
    ds, stats = collected
    assert stats.step == STEP
    assert stats.chunks == 2 * stats.queries  # 17,280 points > 11,000 per request
    assert stats.requests == stats.chunks and stats.retries == 0
    df = _series(ds, "container_memory_working_set_bytes", cluster="c1", pod="cart-0", container="cart")
    ts = df["ts"]
    assert ts.n_unique() == ts.len() == POINTS
    assert ts.min() == T0 and ts.max() == WINDOW_END
    assert ts.diff().drop_nulls().unique().to_list() == [dt.timedelta(seconds=STEP)]


def test_node_exporter_instance_names_the_node_unless_it_is_an_ip(collected) -> None:
    ds, _ = collected
    mem = ds.metrics(metric="node_memory_MemAvailable_bytes").unique(["node", "labels"])
    got = {json.loads(r["labels"])["instance"]: r["node"] for r in mem.iter_rows(named=True)}
    assert got == {"node-a:9100": "node-a", "10.0.0.12:9100": None}


def test_collection_is_recorded_without_warnings(prom: PromData, collected) -> None:
    ds, _ = collected
    (source,) = ds.sources
    assert source["name"] == "prometheus" and source["url"] == prom.url and source["step_seconds"] == STEP
    assert source["queries"] == [s.metric for s in CATALOGUE]
    assert ds.warnings == []


def test_namespace_and_cluster_filters_are_pushed_down(prom: PromData, tmp_path: Path) -> None:
    settings = PrometheusSettings(url=prom.url, cluster_label="cluster")
    with SnapshotWriter(tmp_path / "snap") as w:
        stats = collect_prometheus(
            w,
            settings,
            start=T0 + dt.timedelta(days=1),
            end=T0 + dt.timedelta(days=1, hours=1),
            namespaces=["batch"],
            cluster="c1",
        )
    series = wb.open(tmp_path / "snap").series()
    assert series["cluster"].unique().to_list() == ["c1"]
    assert set(series["namespace"].unique().to_list()) == {"batch", None}
    assert set(series.filter(pl.col("namespace").is_null())["metric"].unique()) == {
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
    }
    assert series.filter(pl.col("namespace") == "batch")["pod"].unique().to_list() == ["report-28930-abcde"]
    assert stats.chunks == stats.queries  # one hour at 15 s: one request per query


def test_bad_promql_raises_a_source_error_naming_the_query(prom: PromData, tmp_path: Path) -> None:
    settings = PrometheusSettings(url=prom.url)
    with PrometheusClient(settings) as client, pytest.raises(PrometheusQueryError) as err:
        client.query_range(
            "sum(rate(container_cpu_usage_seconds_total[5m])",
            start=T0,
            end=T0 + dt.timedelta(hours=1),
            step=60,
            name="broken-cpu",
        )
    assert isinstance(err.value, SourceError) and err.value.status == 400
    assert (
        "'broken-cpu'" in str(err.value) and "bad_data" in str(err.value) and "parse error" in str(err.value)
    )

    broken = QuerySpec(
        metric="container_memory_working_set_bytes",
        family="memory",
        exporter="cadvisor",
        kind="gauge",
        description="bad regex",
        selector='container=~"("',
    )
    with pytest.raises(SourceError, match="container_memory_working_set_bytes.*bad_data"):
        with SnapshotWriter(tmp_path / "snap") as w:
            collect_prometheus(w, settings, start=T0, end=T0 + dt.timedelta(hours=1), queries=[broken])
    assert not (tmp_path / "snap").exists()  # nothing half-written


def test_server_stopped_mid_collection_keeps_what_was_fetched_and_warns(
    prom: PromData, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(prom.data_dir, data, ignore=shutil.ignore_patterns("lock"))
    server = PrometheusServer(data).start()
    try:
        settings = PrometheusSettings(
            url=server.url, cluster_label="cluster", retries=3, backoff=0.01, max_backoff=0.02
        )
        seen: list[ChunkProgress] = []

        def stop_after_first_chunk(p: ChunkProgress) -> None:
            seen.append(p)
            if p.done == 1:
                server.stop()

        queries = [spec("container_memory_working_set_bytes"), spec("container_cpu_usage_seconds_total")]
        with SnapshotWriter(tmp_path / "snap") as w:
            stats = collect_prometheus(
                w, settings, start=T0, end=WINDOW_END, queries=queries, progress=stop_after_first_chunk
            )
    finally:
        server.stop()
    assert len(seen) == 1 and seen[0].chunks == 2
    assert stats.retries == 2  # three attempts for the second chunk, then one for the next query
    assert stats.failed == ["container_memory_working_set_bytes", "container_cpu_usage_seconds_total"]
    ds = wb.open(tmp_path / "snap")
    warnings = ds.warnings
    assert [w["what"] for w in warnings] == stats.failed
    second_chunk = T0 + dt.timedelta(seconds=11_000 * STEP)
    assert (
        second_chunk.isoformat() in warnings[0]["message"]
        and WINDOW_END.isoformat() in warnings[0]["message"]
    )
    assert "did not answer" in warnings[0]["message"]
    kept = _series(ds, "container_memory_working_set_bytes", cluster="c1", pod="cart-0", container="cart")
    assert kept.height == 11_000 and kept["ts"].max() == second_chunk - dt.timedelta(seconds=STEP)
    assert kept["value"].to_list() == [
        prom.truth.at(("mem", "c1", "shop", "cart-0", "cart"), t) for t in kept["ts"]
    ]
    assert ds.metrics(metric="container_cpu_usage_seconds_total").is_empty()
