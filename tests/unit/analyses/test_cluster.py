"""The cluster overview: nodes, pods by status, problem pods and the node resource matrix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.resources import GI, MI, T0, T1, write_empty_snapshot, write_resource_snapshot
from workbench.analyses import cluster, overview, usage


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    return wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap"))


def test_matrix_usage_requests_and_allocatable_per_node(ds: wb.Dataset) -> None:
    m = cluster.node_matrix(ds, step="10m")
    assert m.columns == list(cluster.MATRIX_COLUMNS)
    n1 = m.filter(pl.col("node") == "n1").row(0, named=True)
    # bound at 11:00: web-0, web-1 (0.5 cores, 256Mi each) and new-0 (0.2 cores, 64Mi)
    assert n1["pods"] == 3
    assert n1["cpu_requests"] == pytest.approx(1.2) and n1["cpu_requests_pct"] == pytest.approx(30.0)
    assert n1["memory_requests"] == (256 + 256 + 64) * MI
    assert n1["memory_requests_pct"] == pytest.approx(576 * MI / (8 * GI) * 100)
    # node-exporter: 1.5 busy cores of 4, 2 GiB of 8
    assert n1["cpu_usage_pct"] == pytest.approx(37.5) and n1["memory_usage_pct"] == pytest.approx(25.0)
    assert n1["network_rx_bytes_per_s"] == pytest.approx(1000.0)
    n2 = m.filter(pl.col("node") == "n2").row(0, named=True)
    # job-x finished at 10:30, so only db-0 (1 core of 2) is bound at the end
    assert (n2["pods"], n2["cpu_requests_pct"], n2["ready"]) == (1, pytest.approx(50.0), False)


def test_cluster_matrix_adds_the_nodes(ds: wb.Dataset) -> None:
    m = cluster.node_matrix(ds, step="10m")
    c = cluster.cluster_matrix(m).row(0, named=True)
    assert (c["nodes"], c["nodes_ready"], c["pods"]) == (2, 1, 4)
    assert c["cpu_allocatable"] == 6.0
    assert c["cpu_requests_pct"] == pytest.approx(2.2 / 6 * 100)


def test_node_resources_over_time(ds: wb.Dataset) -> None:
    res = cluster.node_resources(ds, step="10m")
    assert res.columns == list(cluster.NODE_RESOURCE_COLUMNS)
    n2 = res.filter(pl.col("node") == "n2").sort("ts")
    assert n2["cpu_requests_pct"].to_list() == [62.5, 62.5, 62.5, 62.5, 50.0, 50.0]
    assert n2["ts"].to_list() == [T0 + dt.timedelta(minutes=10 * k) for k in range(6)]
    total = cluster.cluster_resources(res)
    assert total["nodes"].unique().to_list() == [2]
    assert total["cpu_allocatable"].unique().to_list() == [6.0]


def test_nodes_table(ds: wb.Dataset) -> None:
    n = cluster.nodes(ds)
    assert n.columns == list(cluster.NODE_COLUMNS)
    row = n.filter(pl.col("name") == "n1").row(0, named=True)
    assert (row["zone"], row["instance_type"], row["roles"], row["pods"]) == (
        "zone-a",
        "m5.xlarge",
        "worker",
        3,
    )
    assert row["age"] == T1 - (T0 - dt.timedelta(days=10))


def test_problem_pods_and_status_are_the_overviews(ds: wb.Dataset) -> None:
    view = cluster.analyse(ds, step="10m")
    assert_frame_equal(view.problem_pods, overview.problem_pods(ds))
    assert_frame_equal(view.pods_by_status, overview.pods_by_status(ds))
    titles = [f.title for f in view.findings]
    assert "node n2 is NotReady" in titles
    assert any(t.startswith("2 problem pod(s) in c1") for t in titles)  # db-0 restarted, pend-0 Pending


def test_bad_parameters_name_the_closest(ds: wb.Dataset) -> None:
    with pytest.raises(wb.ParameterError, match="closest: c1"):
        cluster.analyse(ds, cluster="c2")
    with pytest.raises(wb.ParameterError, match="closest: shop"):
        cluster.nodes(ds, namespace="shpo")
    with pytest.raises(wb.ParameterError, match="step"):
        cluster.ClusterParams(step="soon")
    with pytest.raises(wb.ParameterError, match="has no parameter 'stp'; closest: step"):
        cluster.analyse(ds, stp="5m")


def test_empty_snapshot_gives_empty_frames_with_columns(tmp_path: Path) -> None:
    view = cluster.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    for frame, cols in ((view.nodes, cluster.NODE_COLUMNS), (view.matrix, cluster.MATRIX_COLUMNS),
                        (view.node_resources, cluster.NODE_RESOURCE_COLUMNS),
                        (view.cluster_resources, cluster.CLUSTER_RESOURCE_COLUMNS),
                        (view.cluster_matrix, cluster.CLUSTER_MATRIX_COLUMNS)):  # fmt: skip
        assert_frame_equal(frame, pl.DataFrame(schema=cols))
    assert view.findings == []


# -- real data: a minikube cluster dumped with kubectl ----------------------------------------------


@pytest.fixture(scope="module")
def minikube(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    from tests.conftest import REALDATA
    from workbench.kube import normalize
    from workbench.sources.files import read_manifests
    from workbench.store import SnapshotWriter

    base = REALDATA / "k8s" / "nri_kubernetes_k8s_1_35"
    seen = dt.datetime(2026, 6, 26, 10, 15, tzinfo=dt.UTC)
    items = [m for f in ("nodes.yaml", "pods.yaml") for m in read_manifests(base / f)]
    tables = normalize(items, cluster="minikube", observed_at=seen)
    path = tmp_path_factory.mktemp("minikube") / "snap"
    with SnapshotWriter(path) as w:
        for name, frame in tables.items():
            if frame.height:
                w.write(name, frame)
    return wb.open(path)


def test_requests_commitment_of_a_real_node(minikube: wb.Dataset) -> None:
    """Read off pods.yaml: the pods on datagen-1-35 that are not Succeeded/Failed request
    100m (coredns) + 100m (etcd) + 100m (kindnet) + 250m (kube-apiserver) + 200m
    (kube-controller-manager) + 100m (kube-scheduler) + 100m (metrics-server) + 5m
    (e2e-container-creating) + 40m (e2e-daemonset) + 2 × 50m (e2e-deployment: pod-level
    ``spec.resources.requests`` of 50m/20Mi, which count instead of the container's 40m/15Mi)
    + 200m (e2e-hpa) + 2 × 40m (e2e-statefulset) = 1375m of the node's 14 allocatable cores
    (nodes.yaml); memory 70Mi + 100Mi + 50Mi + 200Mi + 5M + 15Mi + 2 × 20Mi + 2 × 15Mi of
    8024304Ki."""
    m = cluster.node_matrix(minikube).row(0, named=True)
    assert m["node"] == "datagen-1-35" and m["cpu_allocatable"] == 14.0
    assert m["cpu_requests"] == pytest.approx(1.375)
    assert m["cpu_requests_pct"] == pytest.approx(1.375 / 14 * 100)
    assert m["memory_requests"] == 505 * MI + 5_000_000
    assert m["memory_allocatable"] == 8024304 * 1024
    assert m["pods"] == 18  # 25 pods: 6 finished (2 cronjob, 4 failjob), 1 Pending without a node


def test_commitment_of_a_real_node_equals_a_direct_sum(minikube: wb.Dataset) -> None:
    pods = minikube.pods()
    live = pods.filter(
        pl.col("node") == "datagen-1-35", ~pl.col("phase").cast(pl.String).is_in(["Succeeded", "Failed"])
    )
    m = cluster.node_matrix(minikube).row(0, named=True)
    assert m["cpu_requests"] == pytest.approx(live["cpu_request"].fill_null(0).sum())
    assert m["memory_requests"] == live["memory_request"].fill_null(0).sum()


# -- the demo --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


@pytest.mark.slow
def test_demo_overview(demo: wb.Dataset) -> None:
    view = cluster.analyse(demo)
    assert_frame_equal(view.problem_pods, overview.problem_pods(demo))
    # each problem pod's last warning is its newest Warning event, of those at the same time the
    # one created last (the greatest event name), as a loop over the events finds it (the demo's
    # image pulls make Failed and BackOff events at the same second: the pick used to vary)
    at_end = overview.pods_at_end(demo).iter_rows(named=True)
    uids = {(r["cluster"], r["namespace"], r["name"]): r["uid"] for r in at_end}
    newest: dict[tuple[str, str, str], tuple[tuple[dt.datetime, str, str], str]] = {}
    for e in demo.events(type="Warning").iter_rows(named=True):
        ns = e["namespace"] if e["involved_namespace"] is None else e["involved_namespace"]
        pod = (e["cluster"], ns, e["involved_name"])
        if e["involved_kind"] not in (None, "Pod") or e["involved_uid"] not in (None, uids.get(pod)):
            continue
        text = f"{e['reason'] or 'Warning'}: {e['message']}" if e["message"] else e["reason"]
        rank = (e["last_time"] or e["first_time"] or e["observed_at"], e["name"], text)
        if pod not in newest or rank > newest[pod][0]:
            newest[pod] = (rank, text)
    for r in view.problem_pods.iter_rows(named=True):
        _rank, want = newest.get((r["cluster"], r["namespace"], r["name"]), (None, None))
        assert r["last_warning"] == want, r["name"]
    # usage can never exceed what a node has (a little slack for scrape timing)
    for col in ("cpu_usage_pct", "memory_usage_pct"):
        assert view.node_resources[col].drop_nulls().max() <= 105.0
    # the failed node of the demo is reported
    truth = [i for i in demo.ground_truth["incidents"] if i["kind"] == "node_failure"][0]
    assert f"node {truth['object']['name']} is NotReady" in [f.title for f in view.findings]


@pytest.mark.slow
def test_demo_commitment_equals_a_direct_sum_over_the_pods_table(demo: wb.Dataset) -> None:
    end = demo.window[1]
    view = cluster.node_matrix(demo)
    node = view.sort("pods", descending=True)["node"][0]
    pods = demo.pods().filter(
        pl.col("node") == node, ~pl.col("phase").cast(pl.String).is_in(["Succeeded", "Failed"]),
        pl.col("deleted").is_null() | (pl.col("deleted") > end), pl.col("scheduled") <= end,
    )  # fmt: skip
    alloc = demo.nodes().filter(pl.col("name") == node)["cpu_allocatable"][0]
    row = view.filter(pl.col("node") == node).row(0, named=True)
    assert row["cpu_requests"] == pytest.approx(pods["cpu_request"].fill_null(0).sum())
    assert row["cpu_requests_pct"] == pytest.approx(pods["cpu_request"].fill_null(0).sum() / alloc * 100)
    assert row["memory_requests"] == pods["memory_request"].fill_null(0).sum()


@pytest.mark.slow
def test_previous_result_is_reused_only_for_the_same_nodes_and_window(demo: wb.Dataset) -> None:
    """A dashboard passes its last result: a new namespace gives what a fresh analysis gives,
    from the same node frames; a new window computes them again."""
    first = cluster.analyse(demo)
    ns = overview.problem_pods(demo)["namespace"][0]
    again = cluster.analyse(demo, namespace=ns, previous=first)
    fresh = cluster.analyse(demo, namespace=ns)
    assert again.node_resources is first.node_resources
    for name in ("nodes", "pods_by_status", "problem_pods", "matrix", "cluster_matrix", "node_resources",
                 "cluster_resources"):  # fmt: skip
        assert_frame_equal(getattr(again, name), getattr(fresh, name))
    assert [f.title for f in again.findings] == [f.title for f in fresh.findings]
    later = cluster.analyse(demo, start=demo.window[1] - dt.timedelta(hours=1), previous=first)
    assert later.node_resources is not first.node_resources
    assert later.node_resources["ts"].min() >= demo.window[1] - dt.timedelta(hours=1)


def test_charts_render(ds: wb.Dataset, tmp_path: Path) -> None:
    import holoviews as hv

    from workbench.viz import cluster as cv

    hv.extension("bokeh")
    view = cluster.analyse(ds, step="10m")
    empty = cluster.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    for v in (view, empty):
        for chart in (cv.matrix_bars(v.matrix), cv.matrix_bars(v.matrix, resource="memory"),
                      cv.resources_over_time(v.cluster_resources), cv.node_heatmap(v.node_resources),
                      cv.network_curves(v.node_resources), cv.nodes_table(v.nodes)):  # fmt: skip
            assert hv.render(chart) is not None
    # the matrix chart shows one bar per node and measure, with the analysis' percentages
    bars = cv.matrix_bars(view.matrix)
    got = {(r["node"], r["measure"]): r["percent"] for r in bars.dframe().to_dict("records")}
    assert got[("n1", "requests")] == pytest.approx(30.0) and got[("n2", "usage")] == pytest.approx(25.0)


@pytest.mark.slow
def test_every_clusters_result_narrowed_to_one_cluster_equals_its_own_analysis(
    demo: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard that showed every cluster and then one of them, over the same window, keeps
    the node views to that cluster instead of computing them again: the same frames."""
    lo = demo.window[0]
    node_usage = cluster.usage.node_usage

    def not_again(*_: object, **__: object) -> None:
        raise AssertionError("the node views were computed again")

    hour = {"start": lo + dt.timedelta(minutes=63), "end": lo + dt.timedelta(minutes=127), "step": "1m"}
    for window in ({}, hour):
        every = cluster.analyse(demo, **window)
        for name in demo.clusters:
            monkeypatch.setattr(cluster.usage, "node_usage", not_again)
            narrowed = cluster.analyse(demo, cluster=name, namespace="shop", previous=every, **window)
            monkeypatch.setattr(cluster.usage, "node_usage", node_usage)
            fresh = cluster.analyse(demo, cluster=name, namespace="shop", **window)
            assert narrowed.node_resources.height and set(narrowed.node_resources["cluster"]) == {name}
            for view in ("nodes", "pods_by_status", "problem_pods", "matrix", "cluster_matrix", "node_resources",
                         "cluster_resources"):  # fmt: skip
                assert_frame_equal(getattr(narrowed, view), getattr(fresh, view), abs_tol=1e-9)
            assert narrowed.findings == fresh.findings


def _scopes(ds: wb.Dataset) -> list[dict[str, object]]:
    """Clusters (every one, each), namespaces and windows (the snapshot's, an hour not on the
    bucket grid with 1m buckets, one reaching before the snapshot, 15m buckets)."""
    lo, hi = ds.window
    assert lo is not None and hi is not None
    hour = dt.timedelta(hours=1)
    windows: list[dict[str, object]] = [
        {}, {"start": lo + dt.timedelta(minutes=63), "end": lo + dt.timedelta(minutes=127), "step": "1m"},
        {"start": lo - hour, "end": lo + hour}, {"start": hi - hour, "end": hi, "step": "15m"},
    ]  # fmt: skip
    namespaces = [None, *overview.problem_pods(ds)["namespace"].unique().sort().to_list()[:2]]
    return [
        {"cluster": c, "namespace": ns, **w}
        for c in [None, *ds.clusters]
        for ns in namespaces
        for w in windows
        if ns is None or ns in overview.namespaces(ds, cluster=c)
    ]


def _kept_paths_equal_the_direct_computations(ds: wb.Dataset) -> None:
    samples = 0
    for scope in _scopes(ds):
        p = cluster.ClusterParams(**scope)  # type: ignore[arg-type]
        where = {"cluster": p.cluster, "namespace": p.namespace}
        view = cluster.analyse(ds, p)
        # the pods' views: every pod's, kept and filtered, are the scope's own
        assert_frame_equal(view.problem_pods, overview.problem_pods(ds, **where), check_exact=True)
        assert_frame_equal(view.pods_by_status, overview.pods_by_status(ds, **where), check_exact=True)
        # every cluster's pod intervals, kept and filtered, are the cluster's own
        assert_frame_equal(
            cluster._intervals(ds, p), usage.pod_intervals(ds, cluster=p.cluster), check_exact=True
        )
        # the kept samples give the rows a read of the window gives, in the same order
        lo, hi = cluster._window(ds, p)
        read = usage.read_samples(ds, usage.node_series(ds, cluster=p.cluster), step=p.step, start=lo, end=hi)
        samples += read.height
        assert_frame_equal(cluster._node_samples(ds, p), read, check_exact=True)  # type: ignore[arg-type]
        # so the node views are those of usage read from the table (polars' threads add the
        # same numbers in varying order from run to run: equal to the last bits, not always bit
        # for bit)
        direct = usage.node_usage(ds, cluster=p.cluster, start=lo, end=hi, step=p.step)
        if hi is not None:
            direct = direct.filter(pl.col("ts") < hi)
        got = view.node_resources.filter(pl.col("source").is_not_null()).select(
            "cluster", "node", "ts", pl.col("cpu_usage").alias("cpu_cores"),
            pl.col("memory_usage").alias("memory_bytes"), "network_rx_bytes_per_s", "network_tx_bytes_per_s", "source",
        )  # fmt: skip
        want = direct.select(got.columns)
        assert_frame_equal(got, want, abs_tol=1e-9)
    assert samples  # the snapshot has node metrics


def test_kept_paths_equal_the_direct_computations_on_two_clusters(tmp_path: Path) -> None:
    """The pods' views, pod intervals and metric samples kept per snapshot version and then
    filtered give what the direct computations give, scope by scope."""
    from tests.support.snapshots import write_small_snapshot

    _kept_paths_equal_the_direct_computations(wb.open(write_small_snapshot(tmp_path / "small")))


@pytest.mark.slow
def test_kept_paths_equal_the_direct_computations_on_the_demo(demo: wb.Dataset) -> None:
    _kept_paths_equal_the_direct_computations(demo)


@pytest.mark.slow
def test_every_cluster_put_together_from_single_clusters_equals_its_own_analysis(
    demo: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard that showed single clusters and then every cluster, over the same window,
    computes only the clusters it has not shown: the same frames as a fresh analysis."""
    lo = demo.window[0]
    node_usage = cluster.usage.node_usage
    computed: list[object] = []

    def counted(*args: object, **kwargs: object) -> pl.DataFrame:
        computed.append(kwargs.get("cluster"))
        return node_usage(*args, **kwargs)  # type: ignore[arg-type]

    hour = {"start": lo + dt.timedelta(minutes=63), "end": lo + dt.timedelta(minutes=127), "step": "1m"}
    for window in ({}, hour):
        fresh = cluster.analyse(demo, namespace="shop", **window)
        singles = {c: cluster.analyse(demo, cluster=c, **window) for c in demo.clusters}
        for shown in ([demo.clusters[0]], [demo.clusters[-1]], demo.clusters):
            computed.clear()
            monkeypatch.setattr(cluster.usage, "node_usage", counted)
            together = cluster.analyse(demo, namespace="shop", previous=[singles[c] for c in shown], **window)
            monkeypatch.setattr(cluster.usage, "node_usage", node_usage)
            assert computed == [c for c in sorted(demo.clusters) if c not in shown]
            for view in ("nodes", "pods_by_status", "problem_pods", "matrix", "cluster_matrix", "node_resources",
                         "cluster_resources"):  # fmt: skip
                assert_frame_equal(getattr(together, view), getattr(fresh, view), abs_tol=1e-9)
            assert together.findings == fresh.findings


def test_node_usage_from_kept_cells_equals_the_direct_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot too big to keep its samples keeps its node usage series' cells: every scope
    whose window they serve (a start on 5 minutes, an end on the step) takes its buckets from
    them, the others read their samples, and the node views are those of usage read from the
    table."""
    from tests.support.snapshots import write_small_snapshot

    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    monkeypatch.setattr(cluster, "KEEP_SAMPLES", 0)
    served = rows = 0
    for scope in _scopes(ds):
        p = cluster.ClusterParams(**scope)  # type: ignore[arg-type]
        assert cluster._node_samples(ds, p) is None
        served += cluster._node_buckets(ds, p) is not None
        view = cluster.analyse(ds, p)
        lo, hi = cluster._window(ds, p)
        direct = usage.node_usage(ds, cluster=p.cluster, start=lo, end=hi, step=p.step).filter(
            pl.col("ts") < hi
        )
        got = view.node_resources.filter(pl.col("source").is_not_null()).select(
            "cluster", "node", "ts", pl.col("cpu_usage").alias("cpu_cores"),
            pl.col("memory_usage").alias("memory_bytes"), "network_rx_bytes_per_s", "network_tx_bytes_per_s", "source",
        )  # fmt: skip
        rows += got.height
        assert_frame_equal(got, direct.select(got.columns), abs_tol=1e-9)
    assert rows  # the snapshot has node metrics
    assert 0 < served < len(_scopes(ds))  # the 1m-bucket window reads its samples
