"""The controllers of the demo cluster, simulated: Deployments with ReplicaSets and rolling
updates, StatefulSets, DaemonSets, Jobs and CronJobs, the scheduler placing pods, kubelets
starting and stopping containers. The result is a :class:`Plan` of records per cluster.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from workbench.sources.demo.apps import AppSpec
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.model import EventRec, NodeLife, PodLife, Run, Workload
from workbench.sources.demo.scheduler import NodeView, failure_message, node_failures, pvc_missing_message
from workbench.sources.demo.world import EKS, Cluster

__all__ = ["Part", "Plan", "Planner", "namespace_for"]

SYSTEM_PART = -1
#: Tolerations every pod gets from the DefaultTolerationSeconds admission plugin.
DEFAULT_TOLERATIONS = [
    {
        "effect": "NoExecute",
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "tolerationSeconds": 300,
    },
    {
        "effect": "NoExecute",
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "tolerationSeconds": 300,
    },
]


def namespace_for(base: str, part: int) -> str:
    """The namespace of an application namespace in scale copy ``part`` (copy 0 keeps the name)."""
    return base if part <= 0 else f"{base}-{part + 1:02d}"


@dataclass
class Part:
    """Everything of one chunk of a cluster: the system add-ons (part -1) or one app copy."""

    index: int
    pods: list[PodLife] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    events: list[EventRec] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)


@dataclass
class Plan:
    """One cluster's simulated window."""

    cluster: Cluster
    start: dt.datetime
    end: dt.datetime
    nodes: list[NodeLife]
    parts: dict[int, Part]
    node_events: list[EventRec] = field(default_factory=list)
    _lives: dict[str, NodeLife] = field(default_factory=dict, repr=False, compare=False)

    def node_life(self, name: str) -> NodeLife:
        if len(self._lives) != len(self.nodes):
            self._lives = {n.node.name: n for n in self.nodes}
        return self._lives[name]

    def all_pods(self) -> list[PodLife]:
        return [p for part in self.parts.values() for p in part.pods]


class Planner:
    """Builds a :class:`Plan`: call the workload methods, then :meth:`plan`."""

    def __init__(self, ids: Ids, cluster: Cluster, *, start: dt.datetime, end: dt.datetime) -> None:
        self.ids, self.cluster, self.start, self.end = ids, cluster, start, end
        self.nodes = [NodeLife(n) for n in cluster.nodes]
        self.parts: dict[int, Part] = {}
        self.node_events: list[EventRec] = []
        self._load: dict[str, list[float]] = {n.name: [0.0, 0.0, 0] for n in cluster.nodes}
        self._ip_counter: dict[str, int] = {}
        #: pre-existing pods whose placement waits for :meth:`place_late`
        self.late: list[PodLife] = []

    # -- helpers ------------------------------------------------------------------------------
    def part(self, index: int) -> Part:
        return self.parts.setdefault(index, Part(index))

    def event(self, part: int, **kw: object) -> EventRec:
        rec = EventRec(**kw)  # type: ignore[arg-type]
        self.part(part).events.append(rec)
        return rec

    def rng(self, *parts: object) -> np.random.Generator:
        return self.ids.rng(self.cluster.name, *parts)

    def _pod_ip(self, node_name: str) -> str:
        node = self.cluster.node(node_name)
        k = self._ip_counter.get(node.name, 0)
        self._ip_counter[node.name] = k + 1
        if self.cluster.name == EKS:
            third = int(node.internal_ip.split(".")[2]) // 32 * 32
            g = self._ip_counter.setdefault("__" + node.zone, 0)
            self._ip_counter["__" + node.zone] = g + 1
            return f"10.0.{third + 4 + g // 250}.{4 + g % 250}"
        base = node.pod_cidr.rsplit(".", 1)[0]  # type: ignore[union-attr]
        return f"{base}.{2 + k % 250}"

    def views(self, t: dt.datetime, group: int | None = None) -> list[NodeView]:
        out = []
        for life in self.nodes:
            n = life.node
            if group is not None and n.group != group and n.pool != "ng-gpu":
                continue
            used = self._load[n.name]
            out.append(NodeView(n.name, n.cpu_allocatable - used[0], n.memory_allocatable - int(used[1]),
                                n.labels(), life.taints_at(t)))  # fmt: skip
        return out

    @staticmethod
    def requests(app: AppSpec) -> tuple[float, int]:
        cpu = sum(c.cpu_request or 0.0 for c in app.containers)
        mem = sum(c.mem_request or 0 for c in app.containers)
        return cpu, mem

    def tolerations(self, app: AppSpec) -> list[dict]:
        return [*app.tolerations, *DEFAULT_TOLERATIONS]

    # -- pods -----------------------------------------------------------------------------
    def new_pod(self, app: AppSpec, part: int, owner: Workload, name: str, created: dt.datetime,
                *, images: dict[str, str] | None = None, template_hash: str | None = None) -> PodLife:  # fmt: skip
        labels = dict(app.labels)
        if template_hash and owner.kind == "ReplicaSet":
            labels["pod-template-hash"] = template_hash
        elif owner.kind in ("DaemonSet", "StatefulSet"):
            labels["controller-revision-hash"] = (owner.name + "-" if owner.kind == "StatefulSet" else "") + (
                owner.template_hash or ""
            )
            if owner.kind == "DaemonSet":
                labels["pod-template-generation"] = "1"
            else:
                labels["apps.kubernetes.io/pod-index"] = name.rsplit("-", 1)[1]
                labels["statefulset.kubernetes.io/pod-name"] = name
        elif owner.kind == "Job":
            labels.update({"batch.kubernetes.io/controller-uid": owner.uid, "batch.kubernetes.io/job-name": owner.name,
                           "controller-uid": owner.uid, "job-name": owner.name})  # fmt: skip
        pod = PodLife(cluster=self.cluster.name, part=part, app=app, namespace=owner.namespace, name=name,
                      uid=self.ids.uid("Pod", self.cluster.name, owner.namespace, name), owner_kind=owner.kind,
                      owner_name=owner.name, owner_uid=owner.uid, labels=labels,
                      images=dict(images or owner.images), created=created, template_hash=template_hash)  # fmt: skip
        owner.pods.append(pod)
        self.part(part).pods.append(pod)
        return pod

    def place(self, pod: PodLife, t: dt.datetime, *, node: str | None = None) -> bool:
        """Bind ``pod`` to a node (the given one, or the least loaded that fits in its group).
        Returns False, and records the scheduler's message, when no node fits."""
        app = pod.app
        cpu, mem = self.requests(app)
        tol = self.tolerations(app)
        if app.claim:  # the demo never creates the claim a pod like this mounts
            pod.message = pvc_missing_message(len(self.nodes), app.claim)
            pod.mode = "pending"
            return False
        if node is None:
            group = max(pod.part, 0) % self.cluster.groups
            best: tuple[float, str] | None = None
            for view in self.views(t, group):
                failed, _ = node_failures(
                    view, cpu=cpu, memory=mem, selector=app.node_selector, tolerations=tol
                )
                if failed:
                    continue
                n = self.cluster.node(view.name)
                score = (
                    (self._load[n.name][0] + cpu) / n.cpu_allocatable
                    + (self._load[n.name][1] + mem) / (n.memory_allocatable)
                    + 0.02 * self._load[n.name][2]
                    + 0.01 * (self.ids.integer(pod.name, view.name) % 7)
                )
                if best is None or score < best[0]:
                    best = (score, view.name)
            if best is None:
                pod.message = failure_message(self.views(t), cpu=cpu, memory=mem, selector=app.node_selector,
                                              tolerations=tol)  # fmt: skip
                pod.mode = "pending"
                return False
            node = best[1]
        n = self.cluster.node(node)
        load = self._load[node]
        load[0] += cpu
        load[1] += mem
        load[2] += 1
        pod.node, pod.host_ip = node, n.internal_ip
        pod.pod_ip = n.internal_ip if app.name in ("kube-proxy", "aws-node") else self._pod_ip(node)
        pod.scheduled = max(t, pod.created) + dt.timedelta(
            milliseconds=15 + self.ids.integer("sched", pod.uid) % 60
        )
        return True

    def place_late(self) -> None:
        """Place and start the pods kept for last (``AppSpec.late``), in creation order."""
        for pod in sorted(self.late, key=lambda p: (p.created, p.name)):
            if self.place(pod, pod.created):
                self.run_pod(pod, preexisting=True)
        self.late = []

    def release(self, pod: PodLife) -> None:
        if pod.node:
            cpu, mem = self.requests(pod.app)
            load = self._load[pod.node]
            load[0] -= cpu
            load[1] -= mem
            load[2] -= 1

    def run_pod(self, pod: PodLife, *, preexisting: bool = False, ready_delay: float | None = None) -> None:
        """Kubelet: pull (sometimes), create and start the containers; readiness after a delay."""
        assert pod.scheduled is not None
        rng = self.rng("start", pod.uid)
        pod.pulled = not preexisting and bool(rng.random() < 0.4)
        pull = float(rng.uniform(1.5, 6.0)) if pod.pulled else 0.0
        pod.started = pod.scheduled + dt.timedelta(seconds=0.8 + pull + float(rng.uniform(0.2, 1.2)))
        if ready_delay is None:
            ready_delay = float(rng.uniform(4, 11)) if any(c.readiness for c in pod.containers) else 0.6
        pod.ready = pod.started + dt.timedelta(seconds=ready_delay)
        pod.runs = {c.name: [Run(pod.started)] for c in pod.containers}
        if not preexisting:
            self.pod_start_events(pod, pull)

    def pod_start_events(self, pod: PodLife, pull: float) -> None:
        assert pod.scheduled is not None and pod.started is not None
        host = pod.node
        ev = {"kind": "Pod", "namespace": pod.namespace, "name": pod.name, "uid": pod.uid, "type": "Normal"}
        self.event(pod.part, first=pod.scheduled, reason="Scheduled", component="default-scheduler",
                   message=f"Successfully assigned {pod.namespace}/{pod.name} to {host}", **ev)  # fmt: skip
        t = pod.scheduled + dt.timedelta(milliseconds=700)
        for c in pod.containers:
            fp = f"spec.containers{{{c.name}}}"
            image = pod.image(c)
            if pod.pulled:
                self.event(pod.part, first=t, reason="Pulling", message=f'Pulling image "{image}"',
                           component="kubelet", host=host, field_path=fp, **ev)  # fmt: skip
                size = 20_000_000 + self.ids.integer("size", image) % 180_000_000
                self.event(pod.part, first=t + dt.timedelta(seconds=pull), reason="Pulled", component="kubelet",
                           message=f'Successfully pulled image "{image}" in {pull:.3f}s ({pull:.3f}s including '
                           f"waiting). Image size: {size} bytes.", host=host, field_path=fp, **ev)  # fmt: skip
            else:
                self.event(pod.part, first=t, reason="Pulled", component="kubelet", host=host, field_path=fp,
                           message=f'Container image "{image}" already present on machine', **ev)  # fmt: skip
            for reason, verb in (("Created", "Created"), ("Started", "Started")):
                self.event(pod.part, first=pod.started, reason=reason, component="kubelet", host=host,
                           field_path=fp, message=f"{verb} container {c.name}", **ev)  # fmt: skip

    def stop(self, pod: PodLife, t: dt.datetime, *, outcome: str = "Killed", delete: bool = True,
             grace: float | None = None) -> None:  # fmt: skip
        """Delete a pod gracefully: Terminating, Killing events, containers exit, object removed."""
        rng = self.rng("stop", pod.uid)
        pod.terminating = t
        pod.outcome = outcome
        grace = float(rng.uniform(0.5, 4.0)) if grace is None else grace
        pod.ended = t + dt.timedelta(seconds=grace)
        for c in pod.containers:
            runs = pod.runs.get(c.name) or []
            if runs and runs[-1].end is None:
                runs[-1].end, runs[-1].reason, runs[-1].exit_code = pod.ended, "Error", 143
            if pod.node:
                self.event(pod.part, first=t, kind="Pod", namespace=pod.namespace, name=pod.name, uid=pod.uid,
                           type="Normal", reason="Killing", message=f"Stopping container {c.name}",
                           component="kubelet", host=pod.node, field_path=f"spec.containers{{{c.name}}}")  # fmt: skip
        if delete:
            pod.deleted = pod.ended + dt.timedelta(milliseconds=300 + int(rng.integers(0, 900)))
        self.release(pod)

    # -- controller events ----------------------------------------------------------------------
    def created_event(self, owner: Workload, pod: PodLife, t: dt.datetime) -> None:
        comp = {"ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller",
                "DaemonSet": "daemonset-controller", "Job": "job-controller"}[owner.kind]  # fmt: skip
        msg = f"Created pod: {pod.name}"
        if owner.kind == "StatefulSet":
            msg = f"create Pod {pod.name} in StatefulSet {owner.name} successful"
        self.event(owner.part, first=t, kind=owner.kind, namespace=owner.namespace, name=owner.name, uid=owner.uid,
                   type="Normal", reason="SuccessfulCreate", message=msg, component=comp,
                   api_version="batch/v1" if owner.kind == "Job" else "apps/v1")  # fmt: skip

    def deleted_event(self, owner: Workload, pod: PodLife, t: dt.datetime) -> None:
        self.event(owner.part, first=t, kind=owner.kind, namespace=owner.namespace, name=owner.name, uid=owner.uid,
                   type="Normal", reason="SuccessfulDelete", message=f"Deleted pod: {pod.name}",
                   component="replicaset-controller", api_version="apps/v1")  # fmt: skip

    def scaling_event(self, dep: Workload, rs: Workload, t: dt.datetime, new: int, old: int) -> None:
        verb = "up" if new > old else "down"
        self.event(
            dep.part,
            first=t,
            kind="Deployment",
            namespace=dep.namespace,
            name=dep.name,
            uid=dep.uid,
            type="Normal",
            reason="ScalingReplicaSet",
            component="deployment-controller",
            message=f"Scaled {verb} replica set {rs.name} to {new} from {old}",
            api_version="apps/v1",
        )

    def plan(self) -> Plan:
        return Plan(self.cluster, self.start, self.end, self.nodes, self.parts, self.node_events)
