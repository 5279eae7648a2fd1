"""The normaliser on every real Kubernetes sample: facts read off the files by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from workbench.kube import Normalizer, normalize
from workbench.schema import validate
from workbench.sources.files import read_manifest_tree, read_manifests

K8S = ("k8s",)


def _tables(path: Path) -> dict[str, pl.DataFrame]:
    reader = read_manifest_tree(path) if path.is_dir() else read_manifests(path)
    tables = normalize(reader, cluster="real")
    assert reader.problems == []
    return tables


def _row(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    rows = frame.filter(*(pl.col(k) == v for k, v in where.items())).to_dicts()
    assert len(rows) == 1, f"{len(rows)} rows match {where}"
    return rows[0]


def test_every_kubernetes_sample_normalizes_into_valid_tables(realdata: Path) -> None:
    reader = read_manifest_tree(realdata / "k8s")
    normalizer = Normalizer(cluster="real")
    kinds: dict[str, int] = {}
    for manifest in reader:
        kinds[manifest.obj["kind"]] = kinds.get(manifest.obj["kind"], 0) + 1
        normalizer.add(manifest.obj, origin=manifest.origin)
    tables = normalizer.tables()
    assert reader.problems == []
    for name, frame in tables.items():
        validate(name, frame)
    assert tables["objects"].height == sum(kinds.values()) - len(normalizer.warnings)
    for table in ("pods", "containers", "nodes", "workloads", "services", "events"):
        assert tables[table].height > 0, table
    # the only objects skipped are the ones the samples themselves strip of metadata
    assert normalizer.warnings
    assert all("without 'metadata'" in w for w in normalizer.warnings), normalizer.warnings
    assert set(tables["pods"]["status"].unique()) >= {
        "Running",
        "Pending",
        "Error",
        "Completed",
        "CrashLoopBackOff",
        "Init:CrashLoopBackOff",
        "ImagePullBackOff",
    }


def test_nri_135_pod_list(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/nri_kubernetes_k8s_1_35/pods.yaml")
    pods = tables["pods"]
    counts = dict(pods.group_by("namespace").len().iter_rows())
    assert counts == {"kube-system": 9, "scraper": 16}
    pending = _row(pods, name="e2e-container-pending")
    assert (pending["phase"], pending["status"], pending["node"]) == ("Pending", "Pending", None)
    assert pending["scheduling_message"] == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to "
        "deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )
    failed = pods.filter(pl.col("name").str.starts_with("e2e-failjob-"))
    assert failed["phase"].cast(pl.String).unique().to_list() == ["Failed"]
    assert failed["workload_kind"].unique().to_list() == ["Job"]
    assert failed["workload_name"].unique().to_list() == ["e2e-failjob"]
    coredns = _row(pods, name="coredns-7d764666f9-qdcxt")
    assert (coredns["owner_kind"], coredns["owner_name"]) == ("ReplicaSet", "coredns-7d764666f9")
    assert (coredns["workload_kind"], coredns["workload_name"]) == ("Deployment", "coredns")
    assert (coredns["qos_class"], coredns["cpu_request"], coredns["memory_limit"]) == (
        "Burstable",
        0.1,
        170 * 2**20,
    )
    assert _row(pods, name="kindnet-zkpn8")["workload_kind"] == "DaemonSet"
    assert _row(pods, name="e2e-statefulset-0")["workload_name"] == "e2e-statefulset"
    etcd = _row(pods, name="etcd-datagen-1-35")
    assert (etcd["workload_kind"], etcd["workload_name"]) == ("Node", "datagen-1-35")  # a mirror pod
    assert _row(pods, name="storage-provisioner")["workload_kind"] == "Pod"  # no owner


def test_nri_135_dump_nodes_and_services(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/nri_kubernetes_k8s_1_35")
    node = _row(tables["nodes"], name="datagen-1-35")
    assert node["cpu_allocatable"] == 14.0
    assert node["memory_allocatable"] == 8024304 * 1024
    assert node["pods_allocatable"] == 110
    assert (node["status"], node["ready"], node["roles"]) == ("Ready", True, "control-plane")
    assert (node["kubelet_version"], node["internal_ip"]) == ("v1.35.0", "192.168.67.2")
    services = tables["services"]
    kube_dns = _row(services, name="kube-dns")
    assert kube_dns["pods"] == ["coredns-7d764666f9-qdcxt"]
    assert kube_dns["ports"] == "53/UDP,53/TCP,9153/TCP"
    assert _row(services, name="e2e-statefulset")["pods"] == ["e2e-statefulset-0", "e2e-statefulset-1"]
    lb = _row(services, name="e2e-lb")
    assert (lb["type"], lb["ports"], lb["pods"]) == ("LoadBalancer", "80:32645/TCP", [])
    assert _row(services, name="kubernetes")["pods"] == []  # no selector selects nothing


def test_kubelet_pod_list_items_without_kind_become_pods(realdata: Path) -> None:
    path = realdata / "k8s/nri_kubernetes_k8s_1_35/kubelet/pods"
    raw = json.loads(path.read_text())
    assert raw["kind"] == "PodList" and "kind" not in raw["items"][0]
    tables = _tables(path)
    assert tables["pods"].height == len(raw["items"])
    assert set(tables["objects"]["kind"].unique()) == {"Pod"}
    # the kubelet's copies carry managedFields; the stored manifests never do
    assert "managedFields" in raw["items"][0]["metadata"]
    assert not tables["objects"]["manifest"].str.contains("managedFields").any()
    first = json.loads(tables["objects"]["manifest"][0])
    expected = {**raw["items"][0], "kind": "Pod", "apiVersion": "v1"}
    expected["metadata"] = {k: v for k, v in expected["metadata"].items() if k != "managedFields"}
    assert first == expected


def test_openshift_insights_pods_and_nodes(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/openshift_insights_archive_sample")
    pods = tables["pods"]
    router = _row(pods, name="router-default-7bbdcfcf9b-7xdln")
    assert (router["phase"], router["status"]) == ("Pending", "Pending")
    assert router["scheduling_message"] == (
        "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
        "1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate."
    )
    assert router["observed_at"] == datetime(2021, 7, 7, 16, 14, 55, tzinfo=UTC)  # its newest timestamp
    vsystem = _row(pods, name="vsystem-867f4b77cc-pqcns")
    assert (vsystem["status"], vsystem["restarts"]) == ("Init:CrashLoopBackOff", 7527)
    assert (vsystem["workload_kind"], vsystem["workload_name"]) == ("Deployment", "vsystem")
    init = _row(tables["containers"], pod="vsystem-867f4b77cc-pqcns", name="vsystem-hana-init")
    assert (init["is_init"], init["state"], init["reason"], init["restarts"]) == (
        True,
        "waiting",
        "CrashLoopBackOff",
        7527,
    )
    audit = _row(pods, name="auditlog-retention-28566720-t22qj")
    assert (audit["phase"], audit["status"], audit["workload_kind"]) == ("Failed", "Error", "Job")
    assert _row(tables["containers"], pod="auditlog-retention-28566720-t22qj")["exit_code"] == 3
    operator = _row(tables["containers"], name="openshift-config-operator")
    assert (operator["restarts"], operator["last_reason"], operator["last_exit_code"]) == (14, "Error", 255)
    prometheus = _row(pods, name="prometheus-k8s-0")  # 70m + 6 × 1m, 1Gi + 180Mi
    assert (prometheus["cpu_request"], prometheus["memory_request"]) == (
        pytest.approx(0.076),
        2**30 + 180 * 2**20,
    )
    assert (prometheus["containers_ready"], prometheus["containers_total"]) == (7, 7)

    nodes = tables["nodes"]
    master = _row(nodes, name="master-0.imeixner20210707.lab.upshift.rdu2.redhat.com")
    worker = _row(nodes, name="worker-0.imeixner20210707.lab.upshift.rdu2.redhat.com")
    assert (master["cpu_allocatable"], master["memory_allocatable"], master["pods_allocatable"]) == (
        7.5,
        15258956 * 1024,
        250,
    )
    assert (worker["cpu_allocatable"], worker["memory_allocatable"]) == (3.5, 7002280 * 1024)
    assert (master["roles"], worker["roles"]) == ("master", "worker")
    assert json.loads(master["taints"])[0]["key"] == "node-role.kubernetes.io/master"


def test_openshift_insights_reduced_events(realdata: Path) -> None:
    events = _tables(realdata / "k8s/openshift_insights_archive_sample/events")["events"]
    assert events.height == 2
    first = _row(events, last_time=datetime(2022, 8, 24, 9, 40, 44, tzinfo=UTC))  # 11:40:44+02:00
    assert (first["namespace"], first["type"], first["reason"]) == (
        "openshift-machine-api",
        "Warning",
        "FailedUpdate",
    )
    assert (
        first["message"]
        == "cluster-lrqft-worker-us-east-2a-jsmg4: reconciler failed to Update machine: requeue in: 20s"
    )
    assert first["name"].startswith("FailedUpdate.")  # the archive strips names; a stable one is made
    again = _tables(realdata / "k8s/openshift_insights_archive_sample/events")["events"]
    assert sorted(again["name"]) == sorted(events["name"])


def test_workloads(realdata: Path) -> None:
    k9s = _tables(realdata / "k8s/k9s_testdata")["workloads"]
    icx = _row(k9s, kind="Deployment", name="icx-db")
    assert (icx["namespace"], icx["desired"], icx["ready"], icx["available"], icx["updated"]) == (
        "icx",
        1,
        1,
        1,
        1,
    )
    assert (icx["strategy"], icx["max_surge"], icx["max_unavailable"]) == ("RollingUpdate", "25%", "25%")
    cron = _row(k9s, kind="CronJob", name="hello")
    assert (cron["schedule"], cron["suspend"]) == ("*/1 * * * *", False)
    job = _row(k9s, kind="Job", name="hello-1567179180")
    assert (job["owner_kind"], job["owner_name"], job["succeeded"]) == ("CronJob", "hello", 1)
    rs = _row(k9s, kind="ReplicaSet", name="nginx-pv-6476d7d5c8")
    assert (rs["owner_kind"], rs["owner_name"]) == ("Deployment", "nginx-pv")

    argo = realdata / "k8s/argo_gitops_engine_health"
    daemonset = _row(_tables(argo / "daemonset-ondelete.yaml")["workloads"], kind="DaemonSet")
    assert (daemonset["strategy"], daemonset["max_unavailable"]) == ("OnDelete", None)
    degraded = _row(_tables(argo / "deployment-degraded.yaml")["workloads"], kind="Deployment")
    assert (degraded["name"], degraded["desired"], degraded["strategy"]) == (
        "guestbook-ui",
        1,
        "RollingUpdate",
    )
    failed_job = _row(_tables(argo / "job-failed.yaml")["workloads"], kind="Job")
    assert (failed_job["failed"], failed_job["succeeded"]) == (1, 0)


def test_gke_2016_events_and_pods(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/datadog_dd_agent_gke_2016")
    events = tables["events"]
    assert events.height == 19
    assert dict(events.group_by("reason").len().iter_rows()) == {
        "Scheduled": 3,
        "Pulled": 3,
        "Created": 3,
        "Started": 3,
        "SuccessfulCreate": 3,
        "SuccessfulDelete": 4,
    }
    scheduled = _row(events, name="hello-node-47289321-a3x8n.14527a0efb469137")
    assert scheduled["message"] == (
        "Successfully assigned hello-node-47289321-a3x8n to gke-test-agent58-massi-default-pool-a5024221-ieeh"
    )
    assert (scheduled["source"], scheduled["involved_kind"], scheduled["count"]) == (
        "default-scheduler",
        "Pod",
        1,
    )
    assert scheduled["first_time"] == datetime(2016, 5, 27, 16, 37, 13, tzinfo=UTC)
    started = _row(events, name="hello-node-47289321-91tfd.14527a0f12e90221")
    assert started["source"] == "kubelet/gke-test-agent58-massi-default-pool-a5024221-klj2"
    pods = tables["pods"]
    assert sorted(pods["name"]) == ["dd-agent", "dd-agent-1rxlh", "dd-agent-iw7mo", "dd-agent-ntepl"]
    daemon_pod = _row(pods, name="dd-agent-1rxlh")  # owner from the pre-1.8 created-by annotation
    assert (daemon_pod["status"], daemon_pod["workload_kind"], daemon_pod["workload_name"]) == (
        "Running",
        "DaemonSet",
        "dd-agent",
    )
    assert _row(pods, name="dd-agent")["status"] == "Pending"


def test_must_gather_event_list(realdata: Path) -> None:
    path = realdata / "k8s/openshift_must_gather_4.8_partial/namespaces/kube-system/core/events.yaml"
    events = _tables(path)["events"]
    assert events.height == 11
    leader = _row(events, name="kube-controller-manager.1697c10ae4023437")
    assert (leader["involved_kind"], leader["involved_name"], leader["reason"], leader["type"]) == (
        "ConfigMap",
        "kube-controller-manager",
        "LeaderElection",
        "Normal",
    )
    assert leader["message"] == "ip-10-0-22-225_660ebfd3-9835-42be-9351-bfcd4d090c89 became leader"
    assert (leader["source"], leader["count"]) == ("kube-controller-manager", 1)
    assert leader["first_time"] == leader["last_time"] == datetime(2021, 8, 3, 9, 14, 2, tzinfo=UTC)
    scc = _row(events, name="kube-system.1697c1175c4c2c69")
    assert (scc["reason"], scc["source"]) == ("CreatedSCCRanges", "namespace-security-allocation-controller")


def test_must_gather_pods_and_services(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/openshift_must_gather_4.8_partial")
    assert {"etcd-quorum-guard-85b4c88c96-nmk5g", "etcd-ip-10-0-187-218.ec2.internal"} <= set(
        tables["pods"]["name"]
    )
    guard = _row(tables["pods"], name="etcd-quorum-guard-85b4c88c96-nmk5g")
    assert (guard["workload_kind"], guard["workload_name"]) == ("Deployment", "etcd-quorum-guard")
    assert _row(tables["services"], name="kubelet")["namespace"] == "kube-system"
    kinds = set(tables["objects"]["kind"])
    assert {"Namespace", "ConfigMap", "Endpoints", "Event", "Pod", "Service"} <= kinds


def test_only_core_services_become_service_rows(realdata: Path) -> None:
    tables = _tables(realdata / "k8s/argo_gitops_engine_health/knative-service.yaml")
    assert tables["objects"]["api_version"].to_list() == ["serving.knative.dev/v1alpha1"]
    assert tables["services"].height == 0
