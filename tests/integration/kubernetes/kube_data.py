"""The recorded data the kmock emulator serves in the Kubernetes collector tests."""

from __future__ import annotations

import copy
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.kmock_server import KMockCluster, as_events_v1, read_objects  # noqa: E402
from workbench.sources.kubernetes import RetryPolicy  # noqa: E402

REALDATA = REPO / ".." / "shared" / "realdata"
K8S = REALDATA / "k8s"
NRI = K8S / "nri_kubernetes_k8s_1_35"
ARGO = K8S / "argo_gitops_engine_health"
MUST_GATHER = K8S / "openshift_must_gather_4.8_partial" / "namespaces"
ETCD_PODS = MUST_GATHER / "openshift-etcd" / "pods"
INSTALLER = "installer-2-ip-10-0-187-218.ec2.internal"
ETCD = "etcd-ip-10-0-187-218.ec2.internal"

#: The server version in nri_kubernetes_k8s_1_35/README.md (`kubectl version`: v1.35.0).
VERSION = {"major": "1", "minor": "35", "gitVersion": "v1.35.0"}

#: Fast retries for tests: three attempts, waits of 10-50 ms.
FAST = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, timeout=(2.0, 10.0))

TOKEN = "kmock-token-never-store"


@dataclass
class Recorded:
    """The emulator, its kubeconfig, and where its data came from."""

    cluster: KMockCluster
    kubeconfig: Path
    secret_value: str


def recorded_objects() -> list[dict]:
    """The recorded objects the emulator serves (see the module docstring of each test); a fresh
    copy each time (the files are parsed once)."""
    return copy.deepcopy(_recorded_objects())


@functools.cache
def _recorded_objects() -> list[dict]:
    objs = read_objects(NRI / "namespaces.yaml", NRI / "nodes.yaml", NRI / "pods.yaml", NRI / "services.yaml")
    objs += read_objects(
        ARGO / "pod-crashloop.yaml",
        ARGO / "pod-imagepullbackoff.yaml",
        ARGO / "deployment-degraded.yaml",
        ARGO / "statefulset.yaml",
        ARGO / "job-failed.yaml",
        ARGO / "pvc-bound.yaml",
        K8S / "k9s_testdata" / "render" / "testdata" / "eps.json",
    )
    objs += read_objects(ETCD_PODS / INSTALLER / f"{INSTALLER}.yaml", ETCD_PODS / ETCD / f"{ETCD}.yaml")
    events = read_objects(MUST_GATHER / "kube-system" / "core" / "events.yaml")
    objs += events + [as_events_v1(e) for e in events]
    return objs


def recorded_secret() -> tuple[dict, str]:
    """A Secret built around the data of a recorded one (Insights archive keeps only ``data``)."""
    path = (
        K8S
        / "openshift_insights_archive_sample"
        / "config"
        / "secrets"
        / "openshift-config"
        / "support"
        / "data.json"
    )
    data = json.loads(path.read_text())
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "support", "namespace": "openshift-config", "uid": "secret-support"},
        "type": "Opaque",
        "data": data,
    }
    return secret, next(iter(data.values()))


def pod_logs() -> dict[tuple[str, str, str, bool], str]:
    """The recorded container logs of the must-gather's etcd pods (kubelet ``--timestamps`` text)."""
    logs = {}
    for pod, container in ((INSTALLER, "installer"), (ETCD, "etcd"), (ETCD, "setup")):
        text = (ETCD_PODS / pod / container / container / "logs" / "current.log").read_text()
        logs[("openshift-etcd", pod, container, False)] = text
    return logs
