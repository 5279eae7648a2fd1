"""The demo's incidents that involve the control plane: pods that cannot be scheduled (one per
cause), a namespace quota refusing a pod, a bad rollout, and a node that is tainted, runs out of
memory, then stops reporting, so its pods are evicted and replaced elsewhere."""

from __future__ import annotations

import datetime as dt

from workbench.sources.demo.apps import AppSpec
from workbench.sources.demo.incidents import at, truth
from workbench.sources.demo.model import EventRec, PodLife, Workload
from workbench.sources.demo.plan import Planner
from workbench.sources.demo.scheduler import failure_message, pvc_missing_message
from workbench.sources.demo.traces import ENDPOINTS
from workbench.sources.demo.workloads import current_rs, deployment, rolling_update, rs_pod

__all__ = ["bad_rollout", "finalize_pending", "node_failure", "pending", "quota_refusal"]

S = dt.timedelta(seconds=1)
RETRY = dt.timedelta(minutes=5)  # the scheduler retries unschedulable pods at least this often

CAUSE_TEXT = {
    "insufficient_cpu": "Insufficient cpu",
    "insufficient_memory": "Insufficient memory",
    "node_selector": "didn't match Pod's node affinity/selector",
    "missing_pvc": "persistentvolumeclaim",
    "untolerated_taint": "had untolerated taint",
}


def pending(pl: Planner, app: AppSpec, part: int, *, when: float, cause: str) -> dict:
    """A new Deployment whose pod cannot be scheduled for ``cause``."""
    t = at(pl, when)
    dep = deployment(pl, app, part, created=t)
    pod = dep.children[-1].pods[0]
    if pod.mode != "pending":
        msg = f"demo: {app.name} was expected to stay Pending ({cause}) but was placed on {pod.node}"
        raise AssertionError(msg)
    return truth("pending_pod", pl, dep, [pod], t, pl.end,
                 ["pods.status=Pending", "pods.scheduling_message", "pods.qos_class", "events:FailedScheduling"],
                 cause=cause, message_contains=CAUSE_TEXT[cause])  # fmt: skip


def quota_refusal(pl: Planner, dep: Workload, *, when: float, quota: str, hard_cpu: float) -> dict:
    """Scale ``dep`` 1 → 3 where the namespace quota only admits one more pod: the ReplicaSet's
    FailedCreate event is all there is (no pod object exists for the refused replica)."""
    t = at(pl, when)
    rs = current_rs(dep)
    old = dep.replicas_at(t)
    dep.spec.append((t, 3, None))
    rs.spec.append((t, 3, None))
    pl.scaling_event(dep, rs, t, 3, old)
    added = rs_pod(pl, rs, t + dt.timedelta(milliseconds=40))
    cpu = dep.app.containers[0].requests["cpu"]
    used = hard_cpu  # the quota is now full
    used_text = str(int(used)) if used == int(used) else f"{int(used * 1000)}m"
    name = f"{rs.name}-{pl.ids.suffix(pl.cluster.name, rs.name, 'refused')}"
    message = (f'Error creating: pods "{name}" is forbidden: exceeded quota: {quota}, requested: requests.cpu={cpu}, '
               f"used: requests.cpu={used_text}, limited: requests.cpu={used_text}")  # fmt: skip
    rs.failed_create = (t + dt.timedelta(milliseconds=60), message)
    count = 1 + int((pl.end - t) / dt.timedelta(minutes=3))
    pl.event(rs.part, first=t + dt.timedelta(milliseconds=60), kind="ReplicaSet", namespace=rs.namespace,
             name=rs.name, uid=rs.uid, type="Warning", reason="FailedCreate", message=message,
             component="replicaset-controller", api_version="apps/v1", count=count,
             last=t + dt.timedelta(minutes=3) * (count - 1))  # fmt: skip
    return {**truth("quota_exceeded", pl, rs, [], t, pl.end,
                    ["events:FailedCreate (ReplicaSet)", "workloads.ready<desired", "objects:ResourceQuota"],
                    cause="quota_exceeded", quota=quota, message_contains="exceeded quota", deployment=dep.name,
                    admitted_pod=added.name, no_pod_object=True)}  # fmt: skip


def finalize_pending(pl: Planner, end: dt.datetime) -> None:
    """Give every pending pod its scheduling history: the message as the nodes changed, and one
    FailedScheduling event per distinct message (counted at the scheduler's retry rate)."""
    change_times = sorted({t for life in pl.nodes for t, _ in life.changes})
    for part in pl.parts.values():
        for pod in part.pods:
            if pod.mode != "pending":
                continue
            history: list[tuple[dt.datetime, str]] = []
            for t in [pod.created, *(c for c in change_times if c > pod.created)]:
                msg = _message_at(pl, pod, t)
                if msg and (not history or history[-1][1] != msg):
                    history.append((t + dt.timedelta(milliseconds=10), msg))
            pod.behaviour["sched"] = history
            pod.message = history[-1][1]
            for i, (t, msg) in enumerate(history):
                until = history[i + 1][0] if i + 1 < len(history) else end
                count = 1 + int((until - t) / RETRY)
                pl.event(pod.part, first=t, kind="Pod", namespace=pod.namespace, name=pod.name, uid=pod.uid,
                         type="Warning", reason="FailedScheduling", message=msg, component="default-scheduler",
                         count=count, last=t + RETRY * (count - 1))  # fmt: skip


def _message_at(pl: Planner, pod: PodLife, t: dt.datetime) -> str | None:
    views = pl.views(t)
    if pod.app.claim:
        return pvc_missing_message(len(views), pod.app.claim)
    cpu, mem = pl.requests(pod.app)
    return failure_message(
        views, cpu=cpu, memory=mem, selector=pod.app.node_selector, tolerations=pl.tolerations(pod.app)
    )


def bad_rollout(pl: Planner, dep: Workload, *, when: float, tag: str) -> dict:
    """Roll ``dep`` to a new image tag that is slower and fails more often."""
    t = at(pl, when)
    old_rs = current_rs(dep)
    images = {k: v.rsplit(":", 1)[0] + ":" + tag for k, v in dep.images.items()}
    old_images = dict(dep.images)
    new = rolling_update(pl, dep, t, images)
    entry = next(tree[0] for _, tree in ENDPOINTS.values() if any(h.service == dep.name for h in tree[1:]))
    for pod in new.pods:
        pod.behaviour["bad"] = t
    return truth("bad_rollout", pl, dep, list(new.pods), t, pl.end,
                 ["objects:Deployment image change", "events:ScalingReplicaSet", "spans:error rate and latency",
                  "spans:callers (frontend)", "logs:new error pattern"],
                 old_image=next(iter(old_images.values())), new_image=next(iter(images.values())),
                 old_replicaset=old_rs.name, new_replicaset=new.name, caller_service=entry.service,
                 caller_route=entry.route,
                 error_message="failed to apply promotion: PromoEngine.Apply: nil pointer dereference")  # fmt: skip


def node_failure(pl: Planner, *, taint_at: float, pressure_at: float, lost_at: float, avoid: set[str],
                 prefer_not: set[str]) -> dict:  # fmt: skip
    """Taint a node NoSchedule, then memory pressure (the kubelet evicts a pod), then the node
    stops reporting: NotReady, unreachable taints, and its pods are evicted after 300 s.

    The node is one of the first group's general or compute nodes, never one in ``avoid`` and
    preferably none in ``prefer_not``; among those, the one running the most ReplicaSet pods."""
    t1, t2, t3 = at(pl, taint_at), at(pl, pressure_at), at(pl, lost_at)
    pods = [p for part in pl.parts.values() for p in part.pods]
    candidates = [life for life in pl.nodes if life.node.group == 0 and life.node.pool in ("ng-general", "ng-compute")
                  and life.node.name not in avoid]  # fmt: skip
    if not candidates:
        msg = f"demo: no node left for the node-failure incident in {pl.cluster.name} (avoiding {sorted(avoid)})"
        raise AssertionError(msg)

    def movable(p: PodLife, t: dt.datetime) -> bool:
        return (
            p.node is not None and p.exists_at(t) and p.terminating is None and p.owner_kind == "ReplicaSet"
        )

    life = max(
        candidates,
        key=lambda n: (
            n.node.name not in prefer_not,
            sum(movable(p, t3) and p.node == n.node.name for p in pods),
            n.node.name,
        ),
    )
    node = life.node
    maint = {"effect": "NoSchedule", "key": "maintenance", "value": "kernel-patch"}
    pressure = {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "timeAdded": _iso(t2)}
    unreach = [{"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable", "timeAdded": _iso(t3)},
               {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "timeAdded": _iso(t3)}]  # fmt: skip
    unknown = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    life.changes += [
        (t1, {"taints": [maint]}),
        (t2, {"taints": [maint, pressure],
              "conditions": {"MemoryPressure": ("True", "KubeletHasInsufficientMemory",
                                                "kubelet has insufficient memory available")}}),
        (t3, {"taints": [maint, *unreach], "conditions": dict.fromkeys(
            ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready"), unknown)}),
    ]  # fmt: skip
    lost = t3 - dt.timedelta(seconds=40)
    life.lost = lost
    nev = {"kind": "Node", "namespace": None, "name": node.name, "uid": node.uid, "host": node.name}
    pl.node_events.append(
        _ev(
            t2,
            "Normal",
            "NodeHasInsufficientMemory",
            f"Node {node.name} status is now: NodeHasInsufficientMemory",
            "kubelet",
            nev,
        )
    )
    pl.node_events.append(
        _ev(t2 + S, "Warning", "EvictionThresholdMet", "Attempting to reclaim memory", "kubelet", nev)
    )
    pl.node_events.append(_ev(t3, "Normal", "NodeNotReady", f"Node {node.name} status is now: NodeNotReady",
                              "node-controller", nev))  # fmt: skip
    # memory pressure: the kubelet evicts the pod using the most memory above its request
    on_node = [p for p in pods if movable(p, t2) and p.node == node.name]
    victim = max(on_node, key=lambda p: (p.containers[0].mem - (p.containers[0].mem_request or 0), p.name))
    evict = t2 + dt.timedelta(seconds=2)
    c = victim.containers[0]
    used_ki = int(c.mem * 1.9) // 1024
    req = c.requests.get("memory", "0")
    victim.message = (
        f"The node was low on resource: memory. Threshold quantity: 100Mi, available: 87316Ki. "
        f"Container {c.name} was using {used_ki}Ki, request is {req}, has larger consumption of memory. "
    )
    victim.behaviour["pressure"] = (t2 - dt.timedelta(minutes=3), evict)
    pl.event(
        victim.part,
        first=evict,
        kind="Pod",
        namespace=victim.namespace,
        name=victim.name,
        uid=victim.uid,
        type="Warning",
        reason="Evicted",
        message=victim.message,
        component="kubelet",
        host=node.name,
    )
    pl.stop(victim, evict, outcome="Evicted", delete=False, grace=1.5)
    replaced = [_replace(pl, victim, evict)]
    # the node is lost: every pod on it turns unready; after 300 s the taint manager deletes them
    t4 = t3 + dt.timedelta(seconds=300)
    lost_pods = []
    for p in pods:
        if p.node != node.name or not p.exists_at(t3) or p.outcome in ("Evicted", "Succeeded"):
            continue
        p.unready = lost
        pl.event(p.part, first=t3 + dt.timedelta(milliseconds=200), kind="Pod", namespace=p.namespace, name=p.name,
                 uid=p.uid, type="Warning", reason="NodeNotReady", message="Node is not ready",
                 component="node-controller")  # fmt: skip
        for runs in p.runs.values():
            if runs and (runs[-1].end is None or runs[-1].end > lost):
                runs[-1].end = lost
        p.ended = lost if p.ended is None or p.ended > lost else p.ended
        if p.owner_kind == "DaemonSet":
            continue
        p.terminating, p.outcome = t4, "Lost"
        pl.release(p)
        pl.event(p.part, first=t4, kind="Pod", namespace=p.namespace, name=p.name, uid=p.uid, type="Normal",
                 reason="TaintManagerEviction", message=f"Marking for deletion Pod {p.namespace}/{p.name}",
                 component="taint-eviction-controller")  # fmt: skip
        lost_pods.append(p)
        if p.owner_kind == "ReplicaSet":
            replaced.append(_replace(pl, p, t4))
    return truth("node_failure", pl, None, [victim, *lost_pods], t1, pl.end,
                 ["objects:Node taint revision", "nodes.ready=false", "events:NodeNotReady", "events:Evicted",
                  "events:TaintManagerEviction", "pods.reason=Evicted", "pods.status=Terminating"],
                 obj={"kind": "Node", "name": node.name}, node=node.name, taint=maint,
                 pod_namespaces={p.name: p.namespace for p in [victim, *lost_pods]}, tainted_at=_iso(t1), pressure_at=_iso(t2), not_ready_at=_iso(t3),
                 evicted=[victim.name], terminated=[p.name for p in lost_pods],
                 replacements=[p.name for p in replaced if p is not None])  # fmt: skip


def _replace(pl: Planner, pod: PodLife, t: dt.datetime) -> PodLife | None:
    owner = next((w for w in pl.part(pod.part).workloads if w.uid == pod.owner_uid), None)
    if owner is None or owner.kind != "ReplicaSet":
        return None
    new = rs_pod(pl, owner, t + dt.timedelta(milliseconds=120))
    if pod.behaviour.get("bad"):
        new.behaviour["bad"] = pod.behaviour["bad"]
    return new


def _ev(t: dt.datetime, kind: str, reason: str, message: str, component: str, ref: dict) -> EventRec:
    return EventRec(first=t, type=kind, reason=reason, message=message, component=component, **ref)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
