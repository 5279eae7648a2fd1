"""Manifests of the demo's non-pod objects at any moment: Nodes, workloads (status computed
from their pods), Services, PVCs, HPAs, the ResourceQuota, Namespaces and Events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.sources.demo.ids import Ids, iso
from workbench.sources.demo.model import EventRec, NodeLife, PodLife, Workload
from workbench.sources.demo.pods import _container_spec
from workbench.sources.demo.world import EKS

__all__ = ["event_manifest", "node_manifest", "workload_manifest", "workload_revision_times"]

S = dt.timedelta(seconds=1)


def node_manifest(ids: Ids, life: NodeLife, t: dt.datetime) -> dict[str, Any]:
    n = life.node
    cap = {"cpu": str(n.cpu_capacity), "ephemeral-storage": "83873772Ki" if n.cluster == EKS else "98831908Ki",
           "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": f"{n.shape[1]}Ki", "pods": str(n.pods_allocatable)}  # fmt: skip
    alloc = {**cap, "cpu": f"{n.shape[2]}m", "ephemeral-storage": "76224326324" if n.cluster == EKS else "47060071478",
             "memory": f"{n.shape[3]}Ki"}  # fmt: skip
    if n.pool == "ng-gpu":
        cap["nvidia.com/gpu"] = alloc["nvidia.com/gpu"] = "1"
    conds = []
    for kind, (status, reason, message, since) in life.conditions_at(t).items():
        beat = (
            t
            if status != "Unknown"
            else next(w for w, c in life.changes if "Ready" in c.get("conditions", {})) - 40 * S
        )
        conds.append({"lastHeartbeatTime": iso(beat), "lastTransitionTime": iso(since), "message": message,
                      "reason": reason, "status": status, "type": kind})  # fmt: skip
    addresses = [{"address": n.internal_ip, "type": "InternalIP"}]
    if n.external_ip:
        addresses.append({"address": n.external_ip, "type": "ExternalIP"})
    if n.cluster == EKS:
        addresses += [{"address": n.name, "type": "InternalDNS"}, {"address": n.name, "type": "Hostname"}]
    else:
        addresses.append({"address": n.name, "type": "Hostname"})
    spec: dict[str, Any] = {"providerID": n.provider_id}
    if n.pod_cidr:
        spec["podCIDR"], spec["podCIDRs"] = n.pod_cidr, [n.pod_cidr]
    taints = life.taints_at(t)
    if taints:
        spec["taints"] = taints
    annotations = {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    }
    if n.cluster == EKS:
        annotations["alpha.kubernetes.io/provided-node-ip"] = n.internal_ip
    else:
        annotations["container.googleapis.com/instance_id"] = str(ids.integer("gce-id", n.name) % 10**19)
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"annotations": annotations, "creationTimestamp": iso(n.created), "labels": n.labels(),
                     "name": n.name, "uid": n.uid},
        "spec": spec,
        "status": {
            "addresses": addresses, "allocatable": alloc, "capacity": cap, "conditions": conds,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": ids.uid("boot", n.name), "containerRuntimeVersion": n.runtime,
                         "kernelVersion": n.kernel, "kubeProxyVersion": n.kubelet_version,
                         "kubeletVersion": n.kubelet_version, "machineID": ids.hex("machine", n.name, length=32),
                         "operatingSystem": "linux", "osImage": n.os_image, "systemUUID": ids.uid("sys", n.name)},
        },
    }  # fmt: skip


def _pod_counts(pods: list[PodLife], t: dt.datetime) -> tuple[int, int]:
    """(active, ready) pods at ``t``: created, not terminating, not finished."""
    active = [p for p in pods if p.created <= t and (p.terminating is None or t < p.terminating)
              and (p.deleted is None or t < p.deleted) and not (p.ended and t >= p.ended and p.outcome != "Lost")]  # fmt: skip
    ready = [p for p in active if any(a <= t < b for a, b in p.serving(t + S))]
    return len(active), len(ready)


def _template(ids: Ids, w: Workload, images: dict[str, str]) -> dict[str, Any]:
    labels = dict(w.app.labels)
    sa = f"kube-api-access-{ids.suffix(w.uid, 'sa')}"
    spec: dict[str, Any] = {"containers": [_container_spec(c, images.get(c.name, c.image), sa) for c in w.app.containers],
                            "dnsPolicy": "ClusterFirst", "restartPolicy": "Never" if w.kind in ("Job", "CronJob") else "Always",
                            "schedulerName": "default-scheduler", "securityContext": {},
                            "terminationGracePeriodSeconds": 30}  # fmt: skip
    for c in spec["containers"]:
        c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != sa]
    if w.app.node_selector:
        spec["nodeSelector"] = dict(w.app.node_selector)
    if w.app.tolerations:
        spec["tolerations"] = list(w.app.tolerations)
    if w.app.init_containers:
        spec["initContainers"] = [_container_spec(c, c.image, sa) for c in w.app.init_containers]
        for c in spec["initContainers"]:
            c["volumeMounts"] = []
    if w.app.priority_class:
        spec["priorityClassName"] = w.app.priority_class
    if w.kind == "ReplicaSet":
        labels["pod-template-hash"] = w.template_hash or ""
    return {"metadata": {"labels": labels}, "spec": spec}


def _images_at(w: Workload, t: dt.datetime) -> dict[str, str]:
    images = dict(w.spec[0][2] or w.images) if w.spec else dict(w.images)
    for when, _, imgs in w.spec:
        if when <= t and imgs:
            images = imgs
    return images


def workload_manifest(ids: Ids, w: Workload, t: dt.datetime) -> dict[str, Any]:
    """A Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob at ``t``."""
    gen = w.generation_at(t)
    desired = w.replicas_at(t)
    meta: dict[str, Any] = {"creationTimestamp": iso(w.created), "generation": gen, "labels": dict(w.app.labels),
                            "name": w.name, "namespace": w.namespace, "uid": w.uid}  # fmt: skip
    if w.owner is not None:
        api = "batch/v1" if w.owner.kind == "CronJob" else "apps/v1"
        meta["ownerReferences"] = [{"apiVersion": api, "blockOwnerDeletion": True, "controller": True,
                                    "kind": w.owner.kind, "name": w.owner.name, "uid": w.owner.uid}]  # fmt: skip
    template = _template(ids, w, _images_at(w, t))
    selector = {"matchLabels": dict(w.app.selector)}
    api = "batch/v1" if w.kind in ("Job", "CronJob") else "apps/v1"
    body: dict[str, Any] = {"apiVersion": api, "kind": w.kind, "metadata": meta}
    if w.kind == "Deployment":
        rss = [c for c in w.children if c.created <= t]
        counts = [_pod_counts(c.pods, t) for c in rss]
        total, ready = sum(a for a, _ in counts), sum(r for _, r in counts)
        cur = rss[-1] if rss else None
        updated = _pod_counts(cur.pods, t)[0] if cur else 0
        revision = len(rss)
        meta["annotations"] = {"deployment.kubernetes.io/revision": str(revision)}
        body["spec"] = {"progressDeadlineSeconds": 600, "replicas": desired, "revisionHistoryLimit": 10,
                        "selector": selector, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                                           "type": "RollingUpdate"}, "template": template}  # fmt: skip
        avail_ok = ready >= desired - desired // 4
        failure = next((c.failed_create for c in rss if c.failed_create and c.failed_create[0] <= t), None)
        conds = [{"lastTransitionTime": iso(w.created + 20 * S), "lastUpdateTime": iso(w.created + 20 * S),
                  "message": "Deployment has minimum availability." if avail_ok else
                  "Deployment does not have minimum availability.", "reason": "MinimumReplicasAvailable"
                  if avail_ok else "MinimumReplicasUnavailable", "status": "True" if avail_ok else "False",
                  "type": "Available"},
                 {"lastTransitionTime": iso(w.created), "lastUpdateTime": iso(cur.created if cur else w.created),
                  "message": f'ReplicaSet "{cur.name if cur else w.name}" has successfully progressed.',
                  "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"}]  # fmt: skip
        if failure:
            conds.append({"lastTransitionTime": iso(failure[0]), "lastUpdateTime": iso(failure[0]),
                          "message": failure[1].removeprefix("Error creating: "), "reason": "FailedCreate",
                          "status": "True", "type": "ReplicaFailure"})  # fmt: skip
        body["status"] = {"availableReplicas": ready, "conditions": conds, "observedGeneration": gen, "readyReplicas": ready,
                          "replicas": total, "updatedReplicas": updated}  # fmt: skip
        if total - ready > 0:
            body["status"]["unavailableReplicas"] = max(desired - ready, 0)
    elif w.kind == "ReplicaSet":
        active, ready = _pod_counts(w.pods, t)
        meta["annotations"] = {"deployment.kubernetes.io/desired-replicas": str(w.owner.replicas_at(t) if w.owner else desired),
                               "deployment.kubernetes.io/max-replicas": str(desired + 1),
                               "deployment.kubernetes.io/revision": str((w.owner.children.index(w) + 1) if w.owner else 1)}  # fmt: skip
        meta["labels"]["pod-template-hash"] = w.template_hash
        selector["matchLabels"]["pod-template-hash"] = w.template_hash
        body["spec"] = {"replicas": desired, "selector": selector, "template": template}
        body["status"] = {"availableReplicas": ready, "fullyLabeledReplicas": active, "observedGeneration": gen,
                          "readyReplicas": ready, "replicas": active}  # fmt: skip
        if w.failed_create and w.failed_create[0] <= t:
            body["status"]["conditions"] = [{"lastTransitionTime": iso(w.failed_create[0]), "message":
                                             w.failed_create[1].removeprefix("Error creating: "),
                                             "reason": "FailedCreate", "status": "True", "type": "ReplicaFailure"}]  # fmt: skip
    elif w.kind == "StatefulSet":
        active, ready = _pod_counts(w.pods, t)
        rev = f"{w.name}-{w.template_hash}"
        body["spec"] = {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                        "podManagementPolicy": "OrderedReady", "replicas": desired, "revisionHistoryLimit": 10,
                        "selector": selector, "serviceName": w.name, "template": template,
                        "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                        "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                  "metadata": {"name": "data"}, "spec": {
                                                      "accessModes": ["ReadWriteOnce"],
                                                      "resources": {"requests": {"storage": w.app.volume_claim}},
                                                      "volumeMode": "Filesystem"}}]}  # fmt: skip
        body["status"] = {"availableReplicas": ready, "collisionCount": 0, "currentReplicas": active,
                          "currentRevision": rev, "observedGeneration": gen, "readyReplicas": ready, "replicas": active,
                          "updateRevision": rev, "updatedReplicas": active}  # fmt: skip
    elif w.kind == "DaemonSet":
        active, ready = _pod_counts(w.pods, t)
        body["spec"] = {"revisionHistoryLimit": 10, "selector": selector, "template": template,
                        "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"}}  # fmt: skip
        body["status"] = {"currentNumberScheduled": active, "desiredNumberScheduled": len(w.pods),
                          "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                          "observedGeneration": gen, "updatedNumberScheduled": active}  # fmt: skip
        if active - ready:
            body["status"]["numberUnavailable"] = active - ready
    elif w.kind == "Job":
        pod = w.pods[0] if w.pods else None
        running = (
            pod is not None
            and pod.started is not None
            and pod.started <= t
            and (pod.ended is None or t < pod.ended)
        )
        done = w.completed is not None and t >= w.completed
        meta["labels"].update({"batch.kubernetes.io/controller-uid": w.uid, "batch.kubernetes.io/job-name": w.name,
                               "controller-uid": w.uid, "job-name": w.name})  # fmt: skip
        body["spec"] = {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
                        "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": w.uid}}, "suspend": False,
                        "template": template}  # fmt: skip
        status: dict[str, Any] = {"startTime": iso(w.created), "terminating": 0, "uncountedTerminatedPods": {},
                                  "ready": 0}  # fmt: skip
        if running:
            status["active"] = 1
        if done:
            status.update({"completionTime": iso(w.completed), "succeeded": 1, "conditions": [
                {"lastProbeTime": iso(w.completed), "lastTransitionTime": iso(w.completed), "status": "True",
                 "type": "Complete"}]})  # fmt: skip
        body["status"] = status
    elif w.kind == "CronJob":
        scheduled = [x for x in w.extra_times if x <= t]
        active = [c for c in w.children if c.created <= t and (c.completed is None or t < c.completed)]
        finished = [c.completed for c in w.children if c.completed is not None and c.completed <= t]
        body["spec"] = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1, "schedule": w.app.schedule,
                        "successfulJobsHistoryLimit": 3, "suspend": False,
                        "jobTemplate": {"metadata": {}, "spec": {"backoffLimit": 2, "template": template}}}  # fmt: skip
        body["status"] = {}
        if active:
            body["status"]["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": c.name,
                                         "namespace": c.namespace, "uid": c.uid} for c in active]  # fmt: skip
        if scheduled:
            body["status"]["lastScheduleTime"] = iso(scheduled[-1])
        if finished:
            body["status"]["lastSuccessfulTime"] = iso(max(finished))
    return body


def workload_revision_times(w: Workload, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When the workload's spec or status changes inside the window (first: its listing at start)."""
    times: set[dt.datetime] = {w.created, *(s[0] for s in w.spec), *w.extra_times}
    if w.completed:
        times.add(w.completed)
    if w.failed_create:
        times.add(w.failed_create[0])
    members = list(w.pods) + [p for c in w.children for p in c.pods]
    if w.kind == "CronJob":
        times.update(c.created for c in w.children)
        members = []
    for p in members:
        times.update(x for x in (p.created, p.ready, p.terminating, p.ended, p.deleted) if x is not None)
        if p.unready:
            times.add(p.unready + 40 * S)
    last = min(end, w.deleted) if w.deleted else end
    first = max(w.created, start)
    return [first, *sorted(x for x in times if first < x <= last)]


def event_manifest(ids: Ids, ev: EventRec) -> dict[str, Any]:
    """A core/v1 Event as the API stores it (name ``<object>.<hex nanoseconds>``)."""
    ns = ev.namespace or "default"
    nanos = (
        int(ev.first.timestamp() * 1_000_000) * 1000 + ids.integer("ev", ev.uid, ev.reason, ev.message) % 1000
    )
    name = f"{ev.name}.{nanos:x}"
    last = ev.last or ev.first
    involved: dict[str, Any] = {"apiVersion": ev.api_version, "kind": ev.kind, "name": ev.name, "uid": ev.uid}
    if ev.namespace:
        involved["namespace"] = ev.namespace
    if ev.field_path:
        involved["fieldPath"] = ev.field_path
    source: dict[str, Any] = {"component": ev.component}
    if ev.host:
        source["host"] = ev.host
    return {
        "apiVersion": "v1", "kind": "Event", "count": ev.count, "eventTime": None,
        "firstTimestamp": iso(ev.first), "involvedObject": involved, "lastTimestamp": iso(last),
        "message": ev.message, "reason": ev.reason, "reportingComponent": ev.component,
        "reportingInstance": ev.host or "", "source": source, "type": ev.type,
        "metadata": {"creationTimestamp": iso(ev.first), "name": name, "namespace": ns,
                     "uid": ids.uid("Event", ns, name)},
    }  # fmt: skip
