"""The demo simulator's building blocks and its determinism (small windows: a few seconds)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench
from workbench.errors import ParameterError
from workbench.kube import pod_status
from workbench.schema import TABLES
from workbench.sources.demo import DEFAULT_START, generate
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.incidents import backoff_times
from workbench.sources.demo.pods import pod_manifest, pod_revision_times
from workbench.sources.demo.scenario import build_plan
from workbench.sources.demo.scheduler import NodeView, failure_message, pvc_missing_message, tolerates
from workbench.sources.demo.world import EKS, GKE, build_clusters

START = DEFAULT_START
END = START + dt.timedelta(hours=6)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns[:6], nulls_last=True)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("demo")
    a = generate(root / "a", hours=1, seed=7)
    b = generate(root / "b", hours=1, seed=7)
    c = generate(root / "c", hours=1, seed=8)
    return a, b, c


def test_same_seed_gives_identical_tables(two_runs: tuple[Path, Path, Path]) -> None:
    a, b, _ = (workbench.open(str(p)) for p in two_runs)
    assert a.row_counts == b.row_counts
    for table in TABLES:
        left, right = a.scan(table, latest=False).collect(), b.scan(table, latest=False).collect()
        assert_frame_equal(_sorted(left), _sorted(right), check_row_order=False)
    assert json.loads((two_runs[0] / "ground_truth.json").read_text()) == json.loads(
        (two_runs[1] / "ground_truth.json").read_text()
    )


def test_another_seed_gives_other_data(two_runs: tuple[Path, Path, Path]) -> None:
    a, _, c = (workbench.open(str(p)) for p in two_runs)
    assert set(a.pods()["uid"]).isdisjoint(set(c.pods()["uid"]))
    va = a.metrics(metric="container_memory_working_set_bytes")["value"].sum()
    vc = c.metrics(metric="container_memory_working_set_bytes")["value"].sum()
    assert va != vc


def test_every_table_is_filled_and_window_is_the_requested_one(two_runs: tuple[Path, Path, Path]) -> None:
    ds = workbench.open(str(two_runs[0]))
    assert all(n > 0 for n in ds.row_counts.values()), ds.row_counts
    assert ds.window == (START, START + dt.timedelta(hours=1))
    assert sorted(ds.clusters) == sorted([EKS, GKE])
    spans = ds.spans()
    assert spans["start"].min() >= START and spans["start"].max() < START + dt.timedelta(hours=1)


def test_generate_refuses_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="scale"):
        generate(tmp_path / "x", scale=0)
    with pytest.raises(ParameterError, match="timezone"):
        generate(tmp_path / "x", start=dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ParameterError, match="hours"):
        generate(tmp_path / "x", hours=0)


def test_scheduler_message_matches_kube_scheduler_format() -> None:
    gib = 1 << 30
    views = [NodeView(f"n{i}", 3.0, 12 * gib, {"pool": "general"}, []) for i in range(4)]
    views.append(NodeView("gpu", 3.0, 12 * gib, {"pool": "gpu"}, [{"key": "dedicated", "value": "gpu",
                                                                    "effect": "NoSchedule"}]))  # fmt: skip
    msg = failure_message(views, cpu=12.0, memory=0, selector={}, tolerations=[])
    assert msg == (
        "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 4 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, "
        "4 No preemption victims found for incoming pod."
    )
    selector = failure_message(views, cpu=0.1, memory=0, selector={"pool": "big"}, tolerations=[])
    assert selector is not None and "4 node(s) didn't match Pod's node affinity/selector" in selector
    assert failure_message(views, cpu=0.1, memory=0, selector={}, tolerations=[]) is None
    assert pvc_missing_message(6, "data-x").startswith(
        '0/6 nodes are available: persistentvolumeclaim "data-x" not found.'
    )
    assert tolerates([{"operator": "Exists"}], {"key": "dedicated", "effect": "NoSchedule"})
    assert not tolerates([{"key": "dedicated", "value": "cpu", "effect": "NoSchedule"}],
                         {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"})  # fmt: skip


def test_backoff_doubles_to_five_minutes() -> None:
    tries = backoff_times(START, START + dt.timedelta(hours=1))
    gaps = [(b - a).total_seconds() for a, b in zip(tries, tries[1:], strict=False)]
    assert gaps[:6] == [10, 20, 40, 80, 160, 300]
    assert set(gaps[6:]) == {300}


def _eks_plan():  # noqa: ANN202
    ids = Ids(seed=0)
    eks = next(c for c in build_clusters(ids, start=START, scale=1) if c.name == EKS)
    return ids, build_plan(ids, eks, start=START, end=END, scale=1)


def test_pod_manifests_follow_the_kubelet_status_flow() -> None:
    ids, (plan, truths) = _eks_plan()
    oom = next(t for t in truths if t["kind"] == "oom_killed")
    pod = next(p for p in plan.all_pods() if p.name == oom["pods"][0])
    statuses = [pod_status(pod_manifest(ids, pod, t)) for t in pod_revision_times(pod, START, END)]
    # Running, then OOMKilled, the back-off wait, and running again, twice
    assert statuses[0] == "Running"
    assert statuses.count("OOMKilled") == 2
    assert statuses.count("CrashLoopBackOff") == 2
    assert statuses[-1] == "Running"
    last = pod_manifest(ids, pod, END)["status"]["containerStatuses"][0]
    assert last["restartCount"] == 2
    assert last["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert last["lastState"]["terminated"]["exitCode"] == 137
    pull = next(t for t in truths if t["kind"] == "image_pull_backoff")
    pod = next(p for p in plan.all_pods() if p.name == pull["pods"][0])
    seen = {pod_status(pod_manifest(ids, pod, t)) for t in pod_revision_times(pod, START, END)}
    assert {"ErrImagePull", "ImagePullBackOff"} <= seen


def test_resource_versions_increase_with_time() -> None:
    from workbench.sources.demo.objects import render_objects

    ids, (plan, _) = _eks_plan()
    objects = render_objects(ids, plan, 0)[0]["objects"]
    ordered = objects.sort("observed_at", maintain_order=True)["resource_version"].cast(pl.Int64)
    assert ordered.is_sorted()
    assert ordered.n_unique() == objects.height


def test_ids_are_stable_and_shaped_like_kubernetes_ones() -> None:
    ids = Ids(seed=3)
    assert ids.uid("Pod", "a") == Ids(seed=3).uid("Pod", "a")
    assert len(ids.uid("Pod", "a")) == 36 and ids.uid("Pod", "a")[14] == "4"
    assert set(ids.suffix("x")) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert len(ids.template_hash("x")) == 10


def test_series_written_from_the_buffer_match_the_stores_write_metrics(tmp_path: Path) -> None:
    """The demo computes series ids itself (no per-sample join); the tables must be exactly what
    ``SnapshotWriter.write_metrics`` makes of the same samples in the wide form."""
    import numpy as np

    from workbench.sources.demo.series import SeriesBuffer, metrics_frame
    from workbench.store import SnapshotWriter

    grid = np.arange(0.0, 600.0, 15.0)
    buf = SeriesBuffer("c1", START, grid)
    first, second = grid < 200, grid >= 300  # one container, two runs: one series, two stretches
    buf.add("container_cpu_usage_seconds_total", grid * 0.1, first, namespace="shop", pod="p-1", container="app",
            node="n1", labels={"image": "app:1"})  # fmt: skip
    buf.add("container_cpu_usage_seconds_total", grid * 0.2, second, namespace="shop", pod="p-1", container="app",
            node="n1", labels={"image": "app:1"})  # fmt: skip
    buf.add("kube_node_status_allocatable", 4.0, np.ones(grid.shape, dtype=bool), node="n1",
            labels={"unit": "core", "resource": "cpu"})  # fmt: skip
    buf.add(
        "node_memory_MemTotal_bytes", 1e9, np.zeros(grid.shape, dtype=bool), node="n1"
    )  # no samples: no series
    seen: set[int] = set()
    with SnapshotWriter(tmp_path / "direct") as w:
        w.write("series", buf.new_series(seen))
        w.write("metrics", metrics_frame("c1", *buf.samples()))
    assert buf.new_series(seen).height == 0, "a series is written once"
    t0 = int(START.timestamp() * 1e6)
    rows = [
        {"cluster": "c1", "metric": m, "namespace": ns, "pod": pod, "container": c, "node": "n1", "labels": lab,
         "ts": t0 + int(g * 1e6), "value": v}
        for m, ns, pod, c, lab, xs in (
            ("container_cpu_usage_seconds_total", "shop", "p-1", "app", '{"image":"app:1"}',
             [(g, g * 0.1) for g in grid[first]] + [(g, g * 0.2) for g in grid[second]]),
            ("kube_node_status_allocatable", None, None, None, '{"resource":"cpu","unit":"core"}',
             [(g, 4.0) for g in grid]),
        )
        for g, v in xs
    ]  # fmt: skip
    wide = pl.DataFrame(rows).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    with SnapshotWriter(tmp_path / "wide") as w:
        w.write_metrics(wide)
    direct, via_store = workbench.open(tmp_path / "direct"), workbench.open(tmp_path / "wide")
    assert direct.row_counts == via_store.row_counts
    assert (direct.row_counts["series"], direct.row_counts["metrics"]) == (2, len(rows))
    for table in ("series", "metrics"):
        assert_frame_equal(
            direct.scan(table, latest=False).collect(), via_store.scan(table, latest=False).collect()
        )


@pytest.mark.slow
def test_batches_of_any_size_write_the_same_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory is bounded by writing in batches; tiny batches (many more files) change nothing.
    Two hours of signals (two chunks): series seen in the first are not written again."""
    import workbench.sources.demo as demo

    normal = workbench.open(generate(tmp_path / "normal", hours=1.25, seed=3))
    monkeypatch.setattr(demo._Batcher, "ROWS", {"metrics": 20_000, "spans": 2_000, "logs": 500})
    monkeypatch.setattr(demo._Batcher, "BYTES", 256 * 1024)
    small = workbench.open(generate(tmp_path / "small", hours=1.25, seed=3))
    for table in ("metrics", "spans"):
        files = [len(list((p / table).rglob("*.parquet"))) for p in (normal.path, small.path)]
        assert files[1] >= 2 * files[0], (table, files)
    series = small.scan("series", latest=False).collect()
    assert series["series_id"].n_unique() == series.height, "a series is written once, whatever the batches"
    assert small.row_counts == normal.row_counts
    for table in TABLES:
        left, right = normal.scan(table, latest=False).collect(), small.scan(table, latest=False).collect()
        assert_frame_equal(_sorted(left), _sorted(right), check_row_order=False)


def test_a_larger_scale_copies_the_healthy_shop_and_spreads_daemonsets(tmp_path: Path) -> None:
    ds = workbench.open(generate(tmp_path / "s2", scale=2, hours=0.25))
    pods = ds.pods().filter(pl.col("deleted").is_null())
    copy = pods.filter(pl.col("namespace") == "shop-02")
    assert copy.height >= 25 and copy["status"].is_in(["Running", "Completed"]).all()
    nodes = ds.nodes().group_by("cluster").len()
    kube_proxy = pods.filter(pl.col("workload_name") == "kube-proxy").group_by("cluster").len()
    assert_frame_equal(kube_proxy.sort("cluster"), nodes.sort("cluster"))
    series = ds.scan("series", latest=False).collect()
    assert series["series_id"].n_unique() == series.height, "each series is written once"
