"""Pending pod analysis: scheduler messages read off real clusters' files, the demo's known
pending pods and quota refusal, and small hand-made snapshots with known answers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.snapshots import write_small_snapshot
from workbench.analyses import pending
from workbench.errors import ParameterError
from workbench.kube import Normalizer
from workbench.sources.files import read_manifest_tree, read_manifests
from workbench.store import SnapshotWriter

INSIGHTS_POD = (
    "openshift_insights_archive_sample/config/pod/openshift-ingress/router-default-7bbdcfcf9b-7xdln.json"
)
INSIGHTS_MESSAGE = (
    "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
    "1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate."
)
NRI_MESSAGE = (
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to "
    "deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
)
#: The demo's ground-truth causes → the analysis' categories.
CAUSES = {
    "insufficient_cpu": "insufficient_cpu",
    "insufficient_memory": "insufficient_memory",
    "node_selector": "node_selector",
    "untolerated_taint": "untolerated_taint",
    "missing_pvc": "pvc_missing",
}
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


def snapshot(
    out: Path, paths: list[Path], *, cluster: str = "real", window: tuple[Any, Any] | None = None
) -> wb.Dataset:
    """A snapshot made by the normaliser from real files, as `workbench import` makes one."""
    n = Normalizer(cluster=cluster)
    for path in paths:
        reader = read_manifest_tree(path) if path.is_dir() else read_manifests(path)
        for m in reader:
            n.add(m.obj, origin=m.origin)
    with SnapshotWriter(out) as w:
        w.add_source("test")
        if window:
            w.set_window(*window)
        for table, frame in n.tables().items():
            if frame.height:
                w.write(table, frame)
    return wb.open(out)


@pytest.fixture(scope="module")
def insights(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    root = realdata / "k8s/openshift_insights_archive_sample/config"
    return snapshot(tmp_path_factory.mktemp("snap") / "insights", [root / "pod", root / "node"])


@pytest.fixture(scope="module")
def nri(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    root = realdata / "k8s/nri_kubernetes_k8s_1_35"
    return snapshot(tmp_path_factory.mktemp("snap") / "nri", [root / "pods.yaml", root / "nodes.yaml"])


@pytest.fixture(scope="module")
def demo(demo_snapshot: Path) -> wb.Dataset:
    return wb.open(demo_snapshot)


@pytest.fixture(scope="module")
def empty_ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    path = tmp_path_factory.mktemp("snap") / "empty"
    with SnapshotWriter(path) as w:
        w.add_source("test")
    return wb.open(path)


# -- messages ----------------------------------------------------------------------------------
def test_old_openshift_message_counts_ports_and_the_master_taint(realdata: Path) -> None:
    pod = json.loads((realdata / "k8s" / INSIGHTS_POD).read_text())
    message = next(c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert message == INSIGHTS_MESSAGE
    parsed = pending.parse_message(message)
    assert parsed.nodes_total == 2
    assert [(r.category, r.nodes, r.detail) for r in parsed.reasons] == [
        ("host_ports", 1, None),
        ("untolerated_taint", 1, "{node-role.kubernetes.io/master: }"),
    ]
    assert parsed.primary == "host_ports"  # a tie goes to the category listed first


def test_new_message_keeps_preemption_and_notes_apart() -> None:
    parsed = pending.parse_message(NRI_MESSAGE)
    assert (parsed.nodes_total, parsed.primary, parsed.categories) == (1, "node_selector", ["node_selector"])
    assert parsed.preemption == "1 Preemption is not helpful for scheduling"
    assert parsed.notes == ("no new claims to deallocate",)


def test_primary_is_the_largest_count_and_selector_mismatch_counts_last() -> None:
    both = pending.parse_message("0/6 nodes are available: 3 Insufficient memory, 4 Insufficient cpu.")
    assert (both.primary, both.categories) == (
        "insufficient_cpu",
        ["insufficient_cpu", "insufficient_memory"],
    )
    gpu = pending.parse_message(
        "0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "5 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: "
        "6 Preemption is not helpful for scheduling."
    )
    assert gpu.primary == "untolerated_taint"
    assert gpu.categories == ["untolerated_taint", "node_selector"]


@pytest.mark.parametrize(
    ("text", "category", "detail"),
    [
        ('0/3 nodes are available: persistentvolumeclaim "data" not found.', "pvc_missing", "data"),
        ("0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.", "pvc_unbound", None),
        (
            "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
            "insufficient_resource",
            "nvidia.com/gpu",
        ),
        ("0/3 nodes are available: 3 Too many pods.", "too_many_pods", None),
        ("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.", "pod_affinity", None),
        ("0/3 nodes are available: 3 node(s) were unschedulable.", "node_unschedulable", None),
    ],
)
def test_each_reason_gets_its_category(text: str, category: str, detail: str | None) -> None:
    (reason,) = pending.parse_message(text).reasons
    assert (reason.category, reason.nodes, reason.detail) == (category, 3, detail)


def test_quota_refusal_message() -> None:
    got = pending.parse_quota_message(
        'Error creating: pods "w-1" is forbidden: exceeded quota: compute, requested: requests.cpu=1, '
        "used: requests.cpu=2, limited: requests.cpu=2"
    )
    assert (got.pod, got.quota, got.requested, got.used, got.limited) == (
        "w-1", "compute", "requests.cpu=1", "requests.cpu=2", "requests.cpu=2")  # fmt: skip


# -- real clusters -----------------------------------------------------------------------------
def test_openshift_router_pod_is_pending_with_the_scheduler_message(insights: wb.Dataset) -> None:
    got = pending.pending_pods(insights)
    assert got.columns == list(pending.PENDING_COLUMNS)
    row = got.row(0, named=True)
    assert got.height == 1
    assert (row["namespace"], row["pod"], row["state"], row["still_pending"]) == (
        "openshift-ingress", "router-default-7bbdcfcf9b-7xdln", "pending", True)  # fmt: skip
    assert row["message"] == INSIGHTS_MESSAGE
    assert (row["qos_class"], row["workload_kind"], row["workload_name"]) == (
        "Burstable",
        "Deployment",
        "router-default",
    )
    assert (row["cpu_request"], row["memory_request"]) == (0.1, 256 * 2**20)
    assert (row["nodes_total"], row["categories"]) == (2, ["host_ports", "untolerated_taint"])
    assert row["created"] == dt.datetime(2021, 7, 7, 16, 14, 55, tzinfo=dt.UTC)


def test_openshift_master_is_no_candidate_for_the_router(insights: wb.Dataset) -> None:
    fit = pending.fit(insights)
    rows = {r["node"].split(".")[0]: r for r in fit.iter_rows(named=True)}
    assert set(rows) == {"master-0", "worker-0"}
    assert rows["master-0"]["candidate"] is False
    # the master's NoSchedule taint and the pod's node-role.kubernetes.io/worker selector
    assert rows["master-0"]["blocked_by"] == "taint {node-role.kubernetes.io/master: }, node selector"
    assert rows["worker-0"]["candidate"] is True
    # the pod that holds the host ports on worker-0 is not in the archive: the advice says so
    assert "host_ports" in rows["worker-0"]["advice"]


def test_nri_pending_pod_does_not_match_the_only_node(nri: wb.Dataset) -> None:
    got = pending.pending_pods(nri)
    assert got.select("namespace", "pod", "qos_class", "primary", "nodes_total").rows() == [
        ("scraper", "e2e-container-pending", "BestEffort", "node_selector", 1)
    ]
    assert got["message"][0] == NRI_MESSAGE
    reasons = pending.reasons(got)
    assert reasons.select("category", "nodes", "primary").rows() == [("node_selector", 1, True)]
    fit = pending.fit(nri, pending=got)
    assert fit.select("node", "candidate", "blocked_by").rows() == [("datagen-1-35", False, "node selector")]


# -- the demo ----------------------------------------------------------------------------------
def _incidents(ds: wb.Dataset, kind: str) -> list[dict[str, Any]]:
    return [i for i in ds.ground_truth["incidents"] if i["kind"] == kind]


def test_every_demo_pending_cause_is_found_with_its_category(demo: wb.Dataset) -> None:
    got = pending.pending_pods(demo)
    incidents = _incidents(demo, "pending_pod")
    assert {i["details"]["cause"] for i in incidents} == set(CAUSES)
    for inc in incidents:
        (pod,) = inc["pods"]
        rows = got.filter(pl.col("cluster") == inc["cluster"], pl.col("pod") == pod)
        assert rows.height == 1, pod
        row = rows.row(0, named=True)
        assert row["primary"] == CAUSES[inc["details"]["cause"]], (pod, row["message"])
        assert inc["details"]["message_contains"] in row["message"]
        assert (row["state"], row["workload_name"], row["namespace"]) == (
            "pending",
            inc["object"]["name"],
            inc["namespace"],
        )
        assert row["events"] > 0 and "events" in row["sources"]  # its FailedScheduling events


def test_demo_pending_pods_carry_their_own_qos_class_and_all_three_occur(demo: wb.Dataset) -> None:
    got = pending.pending_pods(demo).filter(pl.col("state") == "pending")
    objects = demo.objects(kind="Pod").filter(pl.col("uid").is_in(got["uid"].to_list())).sort("observed_at")
    manifest_qos = {
        r["uid"]: json.loads(r["manifest"])["status"]["qosClass"] for r in objects.iter_rows(named=True)
    }
    assert dict(zip(got["uid"], got["qos_class"], strict=True)) == manifest_qos
    assert set(manifest_qos.values()) == {"Guaranteed", "Burstable", "BestEffort"}
    summary = pending.summary(got, by="qos_class")
    assert summary["pods"].sum() == got.height
    assert set(summary["qos_class"]) == {"Guaranteed", "Burstable", "BestEffort"}


def test_demo_quota_refusal_comes_from_the_replicaset_failedcreate_event(demo: wb.Dataset) -> None:
    (inc,) = _incidents(demo, "quota_exceeded")
    got = pending.pending_pods(demo).filter(pl.col("state") == "refused")
    assert got.height == 1
    row = got.row(0, named=True)
    assert (row["pod"], row["owner_kind"], row["owner_name"]) == (None, "ReplicaSet", inc["object"]["name"])
    assert (row["workload_name"], row["primary"], row["namespace"]) == (
        inc["details"]["deployment"], "quota_exceeded", inc["namespace"])  # fmt: skip
    assert row["detail"].startswith(inc["details"]["quota"] + ":")
    assert row["pending_since"] >= dt.datetime.fromisoformat(inc["start"])
    assert row["qos_class"] in ("Guaranteed", "Burstable", "BestEffort")  # from the ReplicaSet's pod template


def test_demo_free_allocatable_is_allocatable_minus_bound_requests(demo: wb.Dataset) -> None:
    cluster = demo.clusters[0]
    head = pending.headroom(demo, cluster=cluster)
    pods = demo.pods(cluster=cluster).filter(
        pl.col("node").is_not_null(),
        pl.col("deleted").is_null(),
        ~pl.col("phase").is_in(["Succeeded", "Failed"]),
    )
    requested = dict(pods.group_by("node").agg(pl.col("cpu_request").fill_null(0).sum()).iter_rows())
    nodes = demo.nodes(cluster=cluster)
    assert sorted(head["node"]) == sorted(nodes["name"])
    for row in head.iter_rows(named=True):
        assert row["cpu_requested"] == pytest.approx(requested.get(row["node"], 0.0))
        assert row["cpu_free"] == pytest.approx(row["cpu_allocatable"] - row["cpu_requested"])


def test_demo_pod_bigger_than_any_node_never_fits_and_the_advice_says_how_much(demo: wb.Dataset) -> None:
    (inc,) = [i for i in _incidents(demo, "pending_pod") if i["details"]["cause"] == "insufficient_cpu"]
    fit = pending.fit(demo, cluster=inc["cluster"]).filter(pl.col("pod") == inc["pods"][0])
    candidates = fit.filter(pl.col("candidate"))
    assert candidates.height > 0 and not candidates["fits"].any()
    for row in candidates.iter_rows(named=True):
        assert row["cpu_short"] == pytest.approx(row["cpu_request"] - row["cpu_free"])
        assert row["advice"].startswith(f"fits on {row['node']} if its cpu request were ≤ ")
    short = pending.shortfall(demo, cluster=inc["cluster"]).row(0, named=True)
    largest = demo.nodes(cluster=inc["cluster"])["cpu_allocatable"].max()
    assert candidates["cpu_request"][0] > largest
    assert short["larger_than_any_node"] >= 1 and short["cpu_needed"] >= candidates["cpu_request"][0]
    assert "more for" in short["summary"]


# -- hand-made snapshots -------------------------------------------------------------------------
def _pod(phase: str, *, node: str | None, scheduled: str | None, message: str | None) -> dict[str, Any]:
    cond = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled}] if scheduled else [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
         "lastTransitionTime": "2026-03-01T10:00:05Z"}]  # fmt: skip
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "app:1",
                                             "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]}  # fmt: skip
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec, "status": {"phase": phase, "conditions": cond},
            "metadata": {"name": "late-1", "namespace": "batch", "uid": "u-late",
                         "creationTimestamp": "2026-03-01T10:00:00Z"}}  # fmt: skip


def test_a_pod_that_waited_then_got_a_node_is_found_from_its_revisions(tmp_path: Path) -> None:
    n = Normalizer(cluster="c1")
    n.add(_pod("Pending", node=None, scheduled=None, message="0/2 nodes are available: 2 Insufficient cpu."),
          observed_at=T0 + dt.timedelta(seconds=5))  # fmt: skip
    n.add(
        _pod("Running", node="n1", scheduled="2026-03-01T10:07:00Z", message=None),
        observed_at=T0 + dt.timedelta(minutes=7),
    )
    with SnapshotWriter(tmp_path / "s") as w:
        w.set_window(T0, T0 + dt.timedelta(hours=1))
        for table, frame in n.tables().items():
            if frame.height:
                w.write(table, frame)
    ds = wb.open(tmp_path / "s")
    got = pending.pending_pods(ds)
    row = got.row(0, named=True)
    assert (got.height, row["state"], row["still_pending"], row["sources"]) == (
        1,
        "scheduled",
        False,
        ["objects"],
    )
    assert row["pending_for"] == dt.timedelta(minutes=7)
    assert (row["primary"], row["cpu_request"]) == ("insufficient_cpu", 2.0)
    assert pending.pending_pods(ds, include_past=False).is_empty()
    assert pending.pending_pods(
        ds, start=T0 + dt.timedelta(minutes=10)
    ).is_empty()  # it waited before the window


def test_small_snapshot_pending_pod_merges_its_event_without_uid(tmp_path: Path) -> None:
    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    got = pending.pending_pods(ds)
    assert got.select("cluster", "namespace", "pod", "primary", "nodes_total", "events").rows() == [
        ("kind-a", "batch", "pending-z", "insufficient_cpu", 2, 1)
    ]
    assert got["sources"][0].to_list() == ["events", "pods"]


def test_headroom_without_stored_revisions_uses_the_pods_table(tmp_path: Path) -> None:
    ds = wb.open(write_small_snapshot(tmp_path / "small"))
    got = dict(pending.headroom(ds, cluster="kind-a").select("node", "pods_bound").iter_rows())
    # web-1, cart-0, api-2, worker-3, cache-4 and coredns; not the finished jobs, the deleted
    # old-5 or the unscheduled pending-z
    assert got == {"node-1": 6, "node-2": 0}


def test_empty_snapshot_gives_empty_results_with_their_columns(empty_ds: wb.Dataset) -> None:
    got = pending.pending_pods(empty_ds)
    assert got.is_empty() and got.columns == list(pending.PENDING_COLUMNS)
    assert pending.reasons(got).columns == list(pending.REASON_COLUMNS)
    assert pending.summary(got, by="namespace").columns == ["namespace", *pending.SUMMARY_COLUMNS]
    assert pending.fit(empty_ds).columns == list(pending.FIT_COLUMNS)
    assert pending.shortfall(empty_ds).columns == list(pending.SHORTFALL_COLUMNS)
    assert pending.headroom(empty_ds).columns == list(pending.HEADROOM_COLUMNS)


def test_bad_parameters_name_the_closest_choices(demo: wb.Dataset) -> None:
    with pytest.raises(ParameterError, match="closest: ml"):
        pending.pending_pods(demo, namespace="mll")
    with pytest.raises(ParameterError, match="closest: eks-prod-us-east-1"):
        pending.pending_pods(demo, cluster="eks-prod-us-east")
    with pytest.raises(ParameterError, match="no parameter 'namespce'; closest: namespace"):
        pending.pending_pods(demo, namespce="ml")
    with pytest.raises(ParameterError, match="group by"):
        pending.summary(pending.pending_pods(demo), by="colour")


def test_kept_capacities_give_the_same_fit_shortfall_and_headroom(demo: wb.Dataset) -> None:
    caps = pending.Capacities(demo, size=2)
    rows = pending.pending_pods(demo)
    for cluster in [None, *demo.clusters]:
        want = pending.headroom(demo, cluster=cluster)
        assert_frame_equal(pending.headroom(demo, cluster=cluster, capacity=caps), want)
    assert_frame_equal(pending.fit(demo, pending=rows, capacity=caps), pending.fit(demo, pending=rows))
    want = pending.shortfall(demo, pending=rows)
    assert_frame_equal(pending.shortfall(demo, pending=rows, capacity=caps), want)
    # each cluster and moment is read once and kept, the last two only
    end = demo.window[1]
    first = caps(demo.clusters[0], end)
    assert caps(demo.clusters[0], end) is first
    caps(demo.clusters[1], end)
    caps(None, end)
    assert caps(demo.clusters[0], end) is not first


def test_kept_pending_revisions_give_the_revisions_and_pods_a_read_of_the_scope_gives(
    demo: wb.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small snapshot's pending Pod revisions are read once for every scope and time; each
    scope and end takes the rows (in the order) a read of its own gives."""
    from workbench.analyses.pending import _collect

    lo, hi = demo.window
    assert lo is not None and hi is not None
    ends = [lo + (hi - lo) * f for f in (0.25, 0.5, 1.0)]
    scopes = [(None, None), (demo.clusters[0], None), (None, "shop"), (demo.clusters[-1], "kube-system")]
    kept = [_collect._pending_revisions(demo, c, ns, end) for c, ns in scopes for end in ends]
    cases = [(c, ns, end) for c, ns in scopes for end in ends]
    pods = [pending.pending_pods(demo, cluster=c, namespace=ns, start=lo, end=end) for c, ns, end in cases]
    monkeypatch.setattr(_collect, "KEEP_REVISIONS", -1)  # every scope reads its own
    own = [_collect._pending_revisions(demo, c, ns, end) for c, ns in scopes for end in ends]
    for a, b in zip(kept, own, strict=True):
        assert_frame_equal(a, b)
    for a, (c, ns, end) in zip(pods, cases, strict=True):
        assert_frame_equal(a, pending.pending_pods(demo, cluster=c, namespace=ns, start=lo, end=end))
    assert sum(r.height for r in own) > 0 and sum(p.height for p in pods) > 0
