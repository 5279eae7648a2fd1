"""Normaliser rules: revisions, deletions, Secrets, bad input, Lists, event APIs, resources."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import ParameterError
from workbench.kube import NORMALIZED_TABLES, Normalizer, normalize
from workbench.schema import validate
from workbench.sources.files import read_manifests

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _pod(realdata: Path, name: str = "pod-running-restart-always") -> dict[str, Any]:
    (manifest,) = list(read_manifests(realdata / "k8s/argo_gitops_engine_health" / f"{name}.yaml"))
    return manifest.obj


def test_empty_input_gives_empty_tables_with_the_schema() -> None:
    tables = normalize([], cluster="c1")
    assert tuple(tables) == NORMALIZED_TABLES
    for name, frame in tables.items():
        assert frame.height == 0
        validate(name, frame)


def test_latest_revision_wins_and_every_revision_is_an_object(realdata: Path) -> None:
    running = _pod(realdata, "pod-running-restart-always")
    crashing = copy.deepcopy(_pod(realdata, "pod-running-restart-onfailure"))
    crashing["metadata"]["uid"] = running["metadata"]["uid"]
    n = Normalizer(cluster="c1")
    n.add(crashing, observed_at=T0 + timedelta(minutes=5))
    n.add(running, observed_at=T0)  # older, added later: does not win
    tables = n.tables()
    assert tables["objects"].height == 2
    assert tables["pods"]["status"].to_list() == ["CrashLoopBackOff"]
    assert tables["pods"]["observed_at"].to_list() == [T0 + timedelta(minutes=5)]
    n.add(running, observed_at=T0 + timedelta(minutes=5))  # a tie: the later add wins
    assert n.tables()["pods"]["status"].to_list() == ["Running"]


def test_a_deletion_marks_the_pod_deleted_and_unselects_it(realdata: Path) -> None:
    (pod,) = [
        m.obj
        for m in read_manifests(realdata / "k8s/nri_kubernetes_k8s_1_35/pods.yaml")
        if m.obj["metadata"]["name"] == "coredns-7d764666f9-qdcxt"
    ]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": pod["metadata"]["namespace"]},
        "spec": {"selector": dict(pod["metadata"]["labels"]), "ports": [{"port": 80}]},
    }
    n = Normalizer(cluster="c1")
    n.add(pod, observed_at=T0)
    n.add(service, observed_at=T0)
    assert n.tables()["services"]["pods"].to_list() == [[pod["metadata"]["name"]]]
    n.add(pod, observed_at=T0 + timedelta(seconds=30), deleted=True)
    tables = n.tables()
    assert tables["pods"]["deleted"].to_list() == [T0 + timedelta(seconds=30)]
    assert tables["objects"]["deleted"].to_list() == [False, False, True]
    assert tables["services"]["pods"].to_list() == [[]]
    assert tables["services"]["ports"].to_list() == ["80/TCP"]  # protocol defaults to TCP


def test_secrets_are_never_stored(realdata: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-password", "namespace": "shop"},
        "data": {"password": "aHVudGVyMg=="},
    }
    n = Normalizer(cluster="c1")
    n.add(secret)
    n.add(
        {
            "apiVersion": "v1",
            "kind": "SecretList",
            "items": [{**secret, "metadata": {"name": "other", "namespace": "shop"}}],
        }
    )
    n.add(_pod(realdata))
    objects = n.tables()["objects"]
    assert objects["kind"].to_list() == ["Pod"]
    assert not objects["manifest"].str.contains("aHVudGVyMg==").any()
    assert [w for w in n.warnings if "Secret" in w] == [
        "skipped Secret shop/db-password: Secrets are never collected",
        "item 0: skipped Secret shop/other: Secrets are never collected",
    ]


def test_managed_fields_are_removed_without_touching_the_input(realdata: Path) -> None:
    pod = _pod(realdata)
    pod["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update"}]
    tables = normalize([pod], cluster="c1", observed_at=T0)
    stored = json.loads(tables["objects"]["manifest"][0])
    assert "managedFields" not in stored["metadata"]
    assert stored["metadata"]["name"] == pod["metadata"]["name"]
    assert "managedFields" in pod["metadata"]  # the caller's dict is unchanged


def test_bad_manifests_are_skipped_with_a_warning_and_the_rest_kept(realdata: Path) -> None:
    n = Normalizer(cluster="c1")
    n.add(["not", "a", "dict"], origin="x.yaml document 1")  # type: ignore[arg-type]
    n.add({"metadata": {"name": "no-kind"}, "data": {}}, origin="x.yaml document 2")
    n.add(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "a"}}, origin="x.yaml document 3"
    )
    n.add({"apiVersion": "v1", "kind": "ConfigMap"}, origin="x.yaml document 4")
    n.add({"apiVersion": "v1", "kind": "List", "items": [42, _pod(realdata)]}, origin="x.yaml document 5")
    assert n.warnings == [
        "x.yaml document 1: skipped a manifest that is not a mapping but list",
        "x.yaml document 2: skipped an object without 'kind' (keys: data, metadata); is it a Kubernetes object?",
        "x.yaml document 3: skipped a ConfigMap without 'metadata.name'",
        "x.yaml document 4: skipped a ConfigMap without 'metadata'",
        "x.yaml document 5: item 0: skipped an item that is not a mapping but int",
    ]
    assert n.tables()["pods"].height == 1


def test_a_malformed_object_is_left_out_of_its_table_but_kept_as_an_object(realdata: Path) -> None:
    broken = copy.deepcopy(_pod(realdata, "pod-failed"))
    broken["metadata"]["uid"] = "broken"
    broken["status"] = "Running"  # a string where the API has a mapping
    n = Normalizer(cluster="c1")
    n.add(broken)
    n.add(_pod(realdata))
    tables = n.tables()
    assert tables["objects"].height == 2
    assert tables["pods"]["uid"].to_list() == [_pod(realdata)["metadata"]["uid"]]
    (warning,) = n.warnings
    assert warning.startswith("left Pod argocd/my-pod out of the pods table: its manifest is malformed")


def test_typed_list_items_get_their_kind(realdata: Path) -> None:
    pod = {k: v for k, v in _pod(realdata).items() if k not in ("kind", "apiVersion")}
    tables = normalize([{"apiVersion": "v1", "kind": "PodList", "items": [pod]}], cluster="c1")
    assert tables["objects"].select("kind", "api_version").row(0) == ("Pod", "v1")
    assert tables["pods"].height == 1


def test_observed_at_must_be_timezone_aware(realdata: Path) -> None:
    with pytest.raises(ParameterError, match="timezone-aware"):
        Normalizer(cluster="c1").add(_pod(realdata), observed_at=datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ParameterError, match="cluster"):
        Normalizer(cluster="")


def test_events_k8s_io_v1_and_core_v1_give_the_same_row(realdata: Path) -> None:
    (core,) = [
        m.obj
        for m in read_manifests(realdata / "k8s/datadog_dd_agent_gke_2016/events.json")
        if m.obj["metadata"]["name"] == "hello-node-47289321-91tfd.14527a0f12e90221"
    ]
    new_api = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": core["metadata"],
        "regarding": core["involvedObject"],
        "reason": core["reason"],
        "note": core["message"],
        "type": core["type"],
        "deprecatedSource": core["source"],
        "deprecatedFirstTimestamp": core["firstTimestamp"],
        "deprecatedLastTimestamp": core["lastTimestamp"],
        "deprecatedCount": core["count"],
    }
    rows = [
        normalize([e], cluster="c1", observed_at=T0)["events"].row(0, named=True) for e in (core, new_api)
    ]
    assert rows[0] == rows[1]
    assert rows[0]["source"] == "kubelet/gke-test-agent58-massi-default-pool-a5024221-klj2"

    series = {k: v for k, v in new_api.items() if not k.startswith("deprecated")}
    series.update(
        eventTime="2024-05-01T10:00:00.000000Z",
        series={"count": 7, "lastObservedTime": "2024-05-01T11:30:00.500000Z"},
        reportingController="kubelet",
        reportingInstance="node-1",
    )
    row = normalize([series], cluster="c1")["events"].row(0, named=True)
    assert (row["count"], row["source"]) == (7, "kubelet/node-1")
    assert row["first_time"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert row["last_time"] == datetime(2024, 5, 1, 11, 30, 0, 500000, tzinfo=UTC)
    assert row["observed_at"] == row["last_time"]  # the newest time the event carries


def test_pod_requests_follow_the_scheduler_rule_with_sidecars(realdata: Path) -> None:
    (sidecar,) = [
        m.obj for m in read_manifests(realdata / "k8s/k9s_testdata/render/testdata/po_sidecar.json")
    ]
    row = normalize([sidecar], cluster="c1")["pods"].row(0, named=True)
    # app 30m/10Mi + sidecar 20m/40Mi < the init container's 333m/333Mi run before the sidecar
    assert (row["cpu_request"], row["memory_request"]) == (0.333, 333 * 2**20)
    assert (row["cpu_limit"], row["memory_limit"]) == (0.333, 333 * 2**20)
    containers = normalize([sidecar], cluster="c1")["containers"]
    assert containers.select("name", "is_init", "state").rows() == [
        ("init", True, "terminated"),
        ("sidecar", True, "running"),
        ("sleep", False, "running"),
    ]


def test_workload_resolution_through_added_replicasets_and_jobs(realdata: Path) -> None:
    (rs,) = [m.obj for m in read_manifests(realdata / "k8s/k9s_testdata/xray/testdata/rs.json")]
    (job,) = [m.obj for m in read_manifests(realdata / "k8s/k9s_testdata/render/testdata/job.json")]
    pod = _pod(realdata)
    by_rs = copy.deepcopy(pod)
    by_rs["metadata"].update(
        uid="p1",
        labels={},
        ownerReferences=[{"kind": "ReplicaSet", "name": rs["metadata"]["name"], "controller": True}],
    )
    by_rs["metadata"]["namespace"] = rs["metadata"]["namespace"]
    by_job = copy.deepcopy(pod)
    by_job["metadata"].update(
        uid="p2", ownerReferences=[{"kind": "Job", "name": job["metadata"]["name"], "controller": True}]
    )
    by_job["metadata"]["namespace"] = job["metadata"]["namespace"]
    orphan_job = copy.deepcopy(by_job)
    orphan_job["metadata"].update(
        uid="p3", ownerReferences=[{"kind": "Job", "name": "not-added", "controller": True}]
    )
    pods = normalize([by_rs, by_job, orphan_job, rs, job], cluster="c1")["pods"]
    assert pods.select("uid", "workload_kind", "workload_name").rows() == [
        ("p1", "Deployment", "nginx-pv"),  # from the ReplicaSet's own ownerReference
        ("p2", "CronJob", "hello"),
        ("p3", "Job", "not-added"),
    ]
