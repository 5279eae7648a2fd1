"""kubectl's STATUS/READY/RESTARTS, the describe-style reason, node status and QoS, on real pods.

Expected values are what kubectl's printPod prints for these manifests (read off the files and
kubectl's logic), not what the files are named.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from workbench.kube import node_status, pod_reason, pod_status, pod_summary, qos_class
from workbench.sources.files import read_manifest_tree, read_manifests


def _one(path: Path) -> dict[str, Any]:
    (manifest,) = list(read_manifests(path))
    return manifest.obj


def _pods(path: Path) -> dict[str, dict[str, Any]]:
    return {m.obj["metadata"]["name"]: m.obj for m in read_manifests(path) if m.obj["kind"] == "Pod"}


@pytest.mark.parametrize(
    ("name", "status", "ready", "restarts"),
    [
        ("pod-crashloop", "CrashLoopBackOff", 0, 3),
        ("pod-imagepullbackoff", "ImagePullBackOff", 0, 0),
        # waiting for PodInitializing is a non-empty waiting reason: kubectl prints it
        ("pod-pending", "PodInitializing", 0, 0),
        # the container is terminated with reason Error while the pod is still Running
        ("pod-error", "Error", 0, 2),
        ("pod-failed", "Error", 0, 0),
        ("pod-succeeded", "Completed", 0, 0),
        # running but not ready still prints Running, READY 0/1
        ("pod-running-not-ready", "Running", 0, 0),
        # deletionTimestamp on a Pending pod
        ("pod-deletion", "Terminating", 0, 0),
        ("pod-running-restart-onfailure", "CrashLoopBackOff", 0, 4),
        ("pod-running-restart-always", "Running", 1, 0),
    ],
)
def test_argo_pods_print_what_kubectl_prints(
    realdata: Path, name: str, status: str, ready: int, restarts: int
) -> None:
    pod = _one(realdata / "k8s" / "argo_gitops_engine_health" / f"{name}.yaml")
    assert pod_summary(pod) == (status, ready, 1, restarts)
    assert pod_status(pod) == status


def test_insights_pending_pod_is_pending_with_the_scheduler_message(realdata: Path) -> None:
    pod = _one(
        realdata
        / "k8s/openshift_insights_archive_sample/config/pod/openshift-ingress/router-default-7bbdcfcf9b-7xdln.json"
    )
    assert pod_status(pod) == "Pending"
    assert pod_reason(pod) == (
        "Unschedulable: 0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
        "1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate."
    )


def test_insights_init_container_crash_loop(realdata: Path) -> None:
    pod = _one(
        realdata / "k8s/openshift_insights_archive_sample/config/pod/di-288312/vsystem-867f4b77cc-pqcns.json"
    )
    assert pod_summary(pod) == ("Init:CrashLoopBackOff", 0, 2, 7527)
    reason = pod_reason(pod)
    assert reason is not None
    assert reason.startswith(
        "init container vsystem-hana-init: CrashLoopBackOff: back-off 5m0s restarting failed"
    )


def test_insights_init_waiting_for_its_turn_prints_init_n_of_m(realdata: Path) -> None:
    path = "k8s/openshift_insights_archive_sample/config/pod/di-288312/"
    pod = _one(realdata / path / "data-hub-flow-agent-1a3a7e88888b7fe0630189-qcwhm-547b57cc5fvmg8.json")
    assert pod_status(pod) == "Init:0/1"
    assert (
        pod_reason(pod) == "ContainersNotInitialized: containers with incomplete status: [vsystem-iptables]"
    )


@pytest.mark.parametrize(
    ("file", "exit_code"),
    [("auditlog-retention-28566720-t22qj.json", 3), ("default-2k58azz-backup-deletion-5rdw4.json", 1)],
)
def test_insights_failed_job_pods(realdata: Path, file: str, exit_code: int) -> None:
    pod = _one(realdata / "k8s/openshift_insights_archive_sample/config/pod/di-288312" / file)
    assert pod["status"]["phase"] == "Failed"
    assert pod_status(pod) == "Error"
    assert f"Error (exit code {exit_code})" in (pod_reason(pod) or "")


def test_operator_restarted_after_error_is_running_and_healthy(realdata: Path) -> None:
    pod = _one(
        realdata
        / "k8s/openshift_insights_archive_sample/config/pod/openshift-config-operator/openshift-config-operator-7db5898cdf-m9bqf.json"
    )
    assert pod_summary(pod) == ("Running", 1, 1, 14)
    assert pod_reason(pod) is None


def test_nri_pods(realdata: Path) -> None:
    pods_135 = _pods(realdata / "k8s/nri_kubernetes_k8s_1_35/pods.yaml")
    pending = pods_135["e2e-container-pending"]
    assert pod_status(pending) == "Pending"
    assert (pod_reason(pending) or "").startswith(
        "Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    )
    # the container exited 0 and is waiting for its next restart: kubectl prints Completed
    assert pod_summary(pods_135["e2e-container-creating"]) == ("Completed", 0, 1, 2)
    assert (
        pod_reason(pods_135["e2e-container-creating"])
        == "ContainersNotReady: containers with unready status: [alpine]"
    )
    assert {pod_status(p) for n, p in pods_135.items() if n.startswith("e2e-failjob-")} == {"Error"}
    assert {pod_status(p) for n, p in pods_135.items() if n.startswith("e2e-cronjob-")} == {"Completed"}

    pods_134 = _pods(realdata / "k8s/nri_kubernetes_k8s_1_34/pods.yaml")
    crashing = pods_134["e2e-container-creating"]
    assert pod_summary(crashing) == ("CrashLoopBackOff", 0, 1, 2)
    assert (pod_reason(crashing) or "").startswith(
        "container alpine: CrashLoopBackOff: back-off 20s restarting"
    )
    assert all(
        "Error (exit code 42)" in (pod_reason(p) or "")
        for n, p in pods_134.items()
        if n.startswith("e2e-failjob-")
    )


def test_restartable_init_container_counts_as_a_ready_container(realdata: Path) -> None:
    pod = _one(realdata / "k8s/k9s_testdata/render/testdata/po_sidecar.json")
    assert pod_summary(pod) == ("Running", 2, 2, 0)


def test_healthy_pods_have_no_reason(realdata: Path) -> None:
    pods = _pods(realdata / "k8s/nri_kubernetes_k8s_1_35/pods.yaml")
    assert pod_reason(pods["coredns-7d764666f9-qdcxt"]) is None
    assert pod_reason(pods["e2e-cronjob-29707813-dhlr2"]) is None  # Succeeded


def test_kubectl_edge_rules_on_a_real_pod(realdata: Path) -> None:
    base = _one(realdata / "k8s/argo_gitops_engine_health/pod-running-restart-always.yaml")

    lost = copy.deepcopy(base)
    lost["metadata"]["deletionTimestamp"] = "2018-12-03T10:16:04Z"
    lost["status"]["reason"] = "NodeLost"
    assert pod_status(lost) == "Unknown"

    gated = copy.deepcopy(base)
    gated["status"] = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
    }
    assert pod_status(gated) == "SchedulingGated"

    evicted = copy.deepcopy(base)
    evicted["status"] = {
        "phase": "Failed",
        "reason": "Evicted",
        "message": "The node was low on resource: memory.",
    }
    assert pod_status(evicted) == "Evicted"
    assert pod_reason(evicted) == "Evicted: The node was low on resource: memory."

    signalled = copy.deepcopy(base)
    signalled["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 137, "signal": 9}}
    assert pod_status(signalled) == "Signal:9"
    signalled["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 2}}
    assert pod_status(signalled) == "ExitCode:2"

    # hasRunning: the pod reason says Completed but a container is still running and ready
    completed = copy.deepcopy(base)
    completed["status"]["reason"] = "Completed"
    assert pod_status(completed) == "Running"
    completed["status"]["conditions"] = [c for c in completed["status"]["conditions"] if c["type"] != "Ready"]
    assert pod_status(completed) == "NotReady"

    init_failed = copy.deepcopy(base)
    init_failed["spec"]["initContainers"] = [{"name": "setup", "image": "busybox"}]
    init_failed["status"]["initContainerStatuses"] = [
        {"name": "setup", "restartCount": 1, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    ]
    init_failed["status"]["conditions"] = [{"type": "Initialized", "status": "False"}]
    assert pod_summary(init_failed) == ("Init:Error", 0, 1, 1)
    init_failed["status"]["initContainerStatuses"][0]["state"] = {"terminated": {"exitCode": 3}}
    assert pod_status(init_failed) == "Init:ExitCode:3"


def test_computed_qos_class_matches_what_kubernetes_recorded(realdata: Path) -> None:
    checked = 0
    for manifest in read_manifest_tree(realdata / "k8s"):
        if "k9s_testdata" in manifest.file.parts:
            continue  # k9s edits its fixtures' resources without updating qosClass
        pod = manifest.obj
        recorded = (pod.get("status") or {}).get("qosClass")
        if pod.get("kind") != "Pod" or not recorded:
            continue
        without = {**pod, "status": {k: v for k, v in pod["status"].items() if k != "qosClass"}}
        assert qos_class(without) == recorded, manifest.origin
        checked += 1
    assert checked > 50


def test_node_status(realdata: Path) -> None:
    (node,) = [m.obj for m in read_manifests(realdata / "k8s/nri_kubernetes_k8s_1_35/nodes.yaml")]
    assert node_status(node) == "Ready"
    cordoned = {**node, "spec": {**node.get("spec", {}), "unschedulable": True}}
    assert node_status(cordoned) == "Ready,SchedulingDisabled"
    not_ready = copy.deepcopy(node)
    for cond in not_ready["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["status"] = "Unknown"
    assert node_status(not_ready) == "NotReady"
    assert node_status({"metadata": {"name": "n"}}) == "Unknown"
