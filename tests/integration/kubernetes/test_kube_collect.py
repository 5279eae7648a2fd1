"""``collect_kubernetes`` against the kmock API emulator loaded with recorded objects.

The emulator serves (see conftest): the nri-kubernetes minikube 1.35 cluster (6 namespaces,
1 node, 25 pods: 16 in ``scraper``, 9 in ``kube-system``; 7 services), five argo-cd health
fixtures (``argocd/my-pod`` in CrashLoopBackOff, ``default/guestbook-ui-errimagepullbackoff-…``,
Deployment ``default/guestbook-ui``, StatefulSet ``default/redis-master``, Job
``argoci-workflows/fail``, PVC ``argocd/testpvc``), a k9s EndpointSlice, two etcd pods of an
OpenShift must-gather with their recorded logs, the must-gather's 11 kube-system events (core/v1
and, as the API server converts them, events.k8s.io/v1), and one Secret.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from kube_data import FAST, INSTALLER, NRI, TOKEN, Recorded

import workbench as wb
from tests.support.kmock_server import read_objects
from workbench.errors import SourceError
from workbench.sources.kubernetes import CollectProgress, LogOptions, collect_kubernetes
from workbench.store import SnapshotWriter

NO_LOGS = LogOptions(enabled=False)


def collect(rec: Recorded, out: Path, **options):
    options.setdefault("retry", FAST)
    with SnapshotWriter(out) as writer:
        summary = collect_kubernetes(writer, kubeconfig=str(rec.kubeconfig), **options)
    return summary, wb.open(out)


def snapshot_text(path: Path) -> str:
    """Every byte of the snapshot's files (Parquet pages are zstd-compressed, so read tables too)."""
    ds = wb.open(path)
    parts = [(path / "manifest.json").read_text()]
    for table in ds.manifest["tables"]:
        for row in ds.scan(table, latest=False).collect().iter_rows():
            parts.append(repr(row))
    return "\n".join(parts)


def test_full_collection_matches_the_recorded_objects(recorded: Recorded, tmp_path: Path) -> None:
    summary, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS)

    per_ns = dict(ds.pods().group_by("namespace").len().iter_rows())
    assert per_ns == {"scraper": 16, "kube-system": 9, "argocd": 1, "default": 1, "openshift-etcd": 2}
    status = dict(ds.pods().select("name", "status").iter_rows())
    assert status["my-pod"] == "CrashLoopBackOff"
    assert status["guestbook-ui-errimagepullbackoff-66cfffb669-45w2j"] == "ImagePullBackOff"
    assert status["e2e-failjob-28dqq"] == "Error"
    assert status["e2e-container-pending"] == "Pending"
    assert status["e2e-cronjob-29707813-dhlr2"] == "Completed"
    assert status["coredns-7d764666f9-qdcxt"] == "Running"

    node = ds.nodes().row(0, named=True)
    assert (node["name"], node["cpu_allocatable"], node["memory_allocatable"], node["pods_allocatable"]) == (
        "datagen-1-35",
        14.0,
        8024304 * 1024,
        110,
    )
    assert ds.services().height == 7
    assert sorted(ds.workloads().select(pl.col("kind").cast(pl.String), "namespace", "name").iter_rows()) == [
        ("Deployment", "default", "guestbook-ui"),
        ("Job", "argoci-workflows", "fail"),
        ("StatefulSet", "default", "redis-master"),
    ]
    kinds = dict(ds.objects().group_by("kind").len().iter_rows())
    assert kinds["Namespace"] == 6 and kinds["PersistentVolumeClaim"] == 1 and kinds["EndpointSlice"] == 1

    c = summary.clusters[0]
    assert c.cluster == "kmock" and c.counts["pods"] == 29 and c.counts["namespaces"] == 6
    assert summary.warnings == [] and ds.warnings == []
    source = ds.sources[0]
    assert source["name"] == "kubernetes" and source["server"] == recorded.cluster.url
    assert TOKEN not in snapshot_text(tmp_path / "snap")


def test_pagination_follows_continue_tokens(recorded: Recorded, tmp_path: Path) -> None:
    summary, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["pods"], page_size=4)

    pod_lists = [q for m, p, q in recorded.cluster.requests() if p == "/api/v1/pods"]
    assert len(pod_lists) == math.ceil(29 / 4)
    assert all(q["limit"] == "4" for q in pod_lists)
    assert sum("continue" in q for q in pod_lists) == len(pod_lists) - 1
    assert ds.pods().height == 29 and ds.pods()["uid"].n_unique() == 29
    assert summary.count("pods") == 29


def test_forbidden_namespace_is_a_warning_and_the_rest_is_collected(
    recorded: Recorded, tmp_path: Path
) -> None:
    recorded.cluster.emulator.forbidden.add(("pods", "scraper"))
    _summary, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, namespaces=["scraper", "kube-system"])

    assert [(w["message"], w["what"]) for w in ds.warnings] == [
        (
            "403 Forbidden listing pods in namespace 'scraper' — grant list on pods (see docs/collecting.md)",
            "pods/scraper",
        )
    ]
    assert dict(ds.pods().group_by("namespace").len().iter_rows()) == {"kube-system": 9}
    assert dict(ds.services().group_by("namespace").len().iter_rows()) == {"scraper": 4, "kube-system": 2}
    assert sorted(ds.objects(kind="Namespace")["name"]) == ["kube-system", "scraper"]


def test_forbidden_all_namespaces_falls_back_to_each_namespace(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.forbidden.add(("pods", None))
    _summary, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["namespaces", "pods"])

    paths = [p for _m, p, _q in recorded.cluster.requests()]
    assert "/api/v1/namespaces/scraper/pods" in paths and "/api/v1/namespaces/kube-system/pods" in paths
    # The recorded namespaces are default, kube-node-lease, kube-public, kube-system, local-path-storage
    # and scraper: the pods of those two are collected; argocd/openshift-etcd are not namespaces there.
    assert dict(ds.pods().group_by("namespace").len().iter_rows()) == {
        "scraper": 16,
        "kube-system": 9,
        "default": 1,
    }
    assert any("403 Forbidden listing pods in all namespaces" in w["message"] for w in ds.warnings)


def test_events_from_core_and_events_k8s_io(recorded: Recorded, tmp_path: Path) -> None:
    _summary, ds = collect(
        recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["events", "events.events.k8s.io"]
    )

    versions = dict(ds.objects(kind="Event").group_by("api_version").len().iter_rows())
    assert versions == {"v1": 11, "events.k8s.io/v1": 11}
    events = ds.events()
    assert events.height == 11 and set(events["namespace"]) == {"kube-system"}
    row = events.filter(pl.col("name") == "bootstrap-finished").row(0, named=True)
    assert row["message"] == "Required control plane pods have been created"
    assert events.filter(pl.col("reason") == "LeaderElection").height == 8


def test_secrets_are_never_requested_nor_stored(recorded: Recorded, tmp_path: Path) -> None:
    collect(recorded, tmp_path / "snap", logs=NO_LOGS)

    assert recorded.cluster.requests(), "the collection made requests"
    assert not [p for _m, p, _q in recorded.cluster.requests() if "secrets" in p]
    text = snapshot_text(tmp_path / "snap")
    assert recorded.secret_value not in text and '"kind":"Secret"' not in text


def test_redact_env_replaces_literal_env_values(recorded: Recorded, tmp_path: Path) -> None:
    _s, plain = collect(recorded, tmp_path / "plain", logs=NO_LOGS, kinds=["statefulsets", "pods"])
    _s, redacted = collect(
        recorded, tmp_path / "redacted", logs=NO_LOGS, kinds=["statefulsets", "pods"], redact_env=True
    )

    def envs(ds: wb.Dataset, kind: str, name: str) -> dict:
        obj = json.loads(ds.objects(kind=kind).filter(pl.col("name") == name)["manifest"][0])
        spec = obj["spec"]["template"]["spec"] if kind == "StatefulSet" else obj["spec"]
        return {e["name"]: e.get("value") for c in spec["containers"] for e in c.get("env", [])}

    assert envs(plain, "StatefulSet", "redis-master")["REDIS_DISABLE_COMMANDS"] == "FLUSHDB,FLUSHALL"
    assert envs(redacted, "StatefulSet", "redis-master")["REDIS_DISABLE_COMMANDS"] == "<redacted>"
    etcd = envs(redacted, "Pod", "etcd-ip-10-0-187-218.ec2.internal")
    assert etcd["ALL_ETCD_ENDPOINTS"] == "<redacted>"
    assert "https://10.0.187.218:2379,https://10.0.189.142:2379" not in snapshot_text(tmp_path / "redacted")


def test_pod_logs_of_named_and_problem_pods(recorded: Recorded, tmp_path: Path) -> None:
    logs = LogOptions(pods=(f"openshift-etcd/{INSTALLER}",))
    summary, ds = collect(recorded, tmp_path / "snap", kinds=["pods"], logs=logs)

    got = ds.logs(pod=INSTALLER)
    # The recorded installer log: 93 klog I-lines and 2 W-lines (the two cipher warnings).
    assert got.filter(pl.col("level") == "WARN")["message"].to_list() == [
        'cipher is not supported for use with etcd: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"',
        'cipher is not supported for use with etcd: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"',
    ]
    assert got.filter(pl.col("level") == "INFO").height == 93
    assert got["ts"].min().isoformat() == "2021-08-03T09:21:41.164454+00:00"
    assert summary.clusters[0].log_lines == ds.logs().height

    log_requests = [(p.split("/")[-2], q) for _m, p, q in recorded.cluster.requests() if p.endswith("/log")]
    assert all(q["timestamps"] == "true" for _pod, q in log_requests)
    # The CrashLoopBackOff pod restarted: its previous container's log is asked for (the emulator
    # has none and answers 400, which is normal and silent); the failed job pods never restarted.
    assert ("my-pod", "true") in {(pod, q["previous"]) for pod, q in log_requests}
    assert ("e2e-failjob-28dqq", "true") not in {(pod, q["previous"]) for pod, q in log_requests}
    assert {pod for pod, _q in log_requests} >= {"e2e-failjob-28dqq", "e2e-container-creating", INSTALLER}
    assert "coredns-7d764666f9-qdcxt" not in {pod for pod, _q in log_requests}
    assert ds.warnings == []


def test_pod_logs_tail_lines(recorded: Recorded, tmp_path: Path) -> None:
    logs = LogOptions(pods=(INSTALLER,), problem_pods=False, tail_lines=5)
    _s, ds = collect(recorded, tmp_path / "snap", kinds=["pods"], logs=logs)

    got = ds.logs(pod=INSTALLER)
    # The 5th line from the end of the recorded log is stamped 09:21:42.131600240.
    assert 1 <= got.height <= 5
    assert got["ts"].min().isoformat() == "2021-08-03T09:21:42.131600+00:00"


def test_transient_errors_are_retried(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.faults["/api/v1/pods"] = [503, 500]
    summary, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["pods"])

    assert len([p for _m, p, _q in recorded.cluster.requests() if p == "/api/v1/pods"]) == 3
    assert ds.pods().height == 29 and summary.warnings == []


def test_persistent_errors_warn_and_other_kinds_are_collected(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.faults["/apis/apps/v1/deployments"] = [503] * 10
    _s, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["deployments", "statefulsets"])

    assert (
        len([p for _m, p, _q in recorded.cluster.requests() if p == "/apis/apps/v1/deployments"])
        == FAST.attempts
    )
    assert [w["what"] for w in ds.warnings] == ["deployments"]
    assert "503" in ds.warnings[0]["message"]
    assert ds.workloads()["name"].to_list() == ["redis-master"]


def test_kind_not_served_is_a_warning(recorded: Recorded, tmp_path: Path) -> None:
    recorded.cluster.emulator.not_served.add("autoscaling/v2/horizontalpodautoscalers")
    _s, ds = collect(recorded, tmp_path / "snap", logs=NO_LOGS, kinds=["hpa", "services"])

    assert [w["message"] for w in ds.warnings] == [
        "the cluster does not serve autoscaling/v2 horizontalpodautoscalers (404); skipped"
    ]
    assert ds.services().height == 7


def test_progress_reports_every_step(recorded: Recorded, tmp_path: Path) -> None:
    seen: list[CollectProgress] = []
    collect(
        recorded,
        tmp_path / "snap",
        logs=LogOptions(problem_pods=False),
        kinds=["nodes", "pods"],
        progress=seen.append,
    )

    assert {p.what for p in seen if p.stage == "list"} == {"nodes", "pods"}
    assert seen[-1].done == seen[-1].total == 4  # two kinds, logs, writing
    assert [p.items for p in seen if p.stage == "list" and p.what == "pods" and p.done == 2] == [29]


def test_server_down_is_a_clear_source_error(tmp_path: Path) -> None:
    from tests.support.kmock_server import free_port, write_kubeconfig

    port = free_port()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server=f"http://127.0.0.1:{port}", context="down")
    with pytest.raises(SourceError) as err, SnapshotWriter(tmp_path / "snap") as writer:
        collect_kubernetes(writer, kubeconfig=str(kubeconfig), retry=FAST)
    message = str(err.value)
    assert (
        f"127.0.0.1:{port}" in message and "`kubectl get ns` should work" in message and "'down'" in message
    )
    assert not (tmp_path / "snap").exists()


def test_managed_fields_are_stripped(kmock_cluster, tmp_path: Path) -> None:
    """The kubelet's /pods dump of the 1.35 cluster carries managedFields on 20 of its 24 pods (not the static pods)."""
    pods = read_objects(NRI / "kubelet" / "pods")
    assert sum("managedFields" in p["metadata"] for p in pods) == 20
    kmock_cluster.load(pods)
    kubeconfig = kmock_cluster.kubeconfig(tmp_path / "kubeconfig")
    with SnapshotWriter(tmp_path / "snap") as writer:
        collect_kubernetes(writer, kubeconfig=str(kubeconfig), kinds=["pods"], logs=NO_LOGS, retry=FAST)

    manifests = wb.open(tmp_path / "snap").objects(kind="Pod")["manifest"]
    assert manifests.len() == 24
    assert not [m for m in manifests if "managedFields" in json.loads(m)["metadata"]]


def test_window_sets_the_log_since_seconds(recorded: Recorded, tmp_path: Path) -> None:
    logs = LogOptions(pods=(INSTALLER,), problem_pods=False)
    _s, ds = collect(recorded, tmp_path / "snap", kinds=["pods"], logs=logs, since=timedelta(hours=2))

    start, end = ds.window
    assert end - start == timedelta(hours=2)
    since = {int(q["sinceSeconds"]) for _m, p, q in recorded.cluster.requests() if p.endswith("/log")}
    assert len(since) == 1 and 7200 <= since.pop() <= 7260
