"""Pod manifests as the API server would return them at any moment of a :class:`PodLife`:
spec as the controllers and admission plugins fill it, status as the kubelet and scheduler
report it (conditions, container states with ``lastState``, restart counts, back-off waits).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from workbench.sources.demo.apps import ContainerSpec
from workbench.sources.demo.ids import Ids, iso
from workbench.sources.demo.model import PodLife, Run
from workbench.sources.demo.plan import DEFAULT_TOLERATIONS

__all__ = ["pod_manifest", "pod_revision_times"]

S = dt.timedelta(seconds=1)


def _container_spec(
    c: ContainerSpec, image: str, sa_volume: str, *, pvc_mount: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": c.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {k: v for k, v in (("limits", c.limits), ("requests", c.requests)) if v},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": sa_volume,
                "readOnly": True,
            }
        ],  # fmt: skip
    }
    if pvc_mount:
        spec["volumeMounts"].insert(0, {"mountPath": "/data", "name": "data"})
    if c.command:
        spec["command"] = list(c.command)
    if c.port:
        spec["ports"] = [{"containerPort": c.port, "name": "http" if c.port in (8080, 3000) else "tcp",
                          "protocol": "TCP"}]  # fmt: skip
    for key, path, delay in (("readinessProbe", c.readiness, 5), ("livenessProbe", c.liveness, 15)):
        if path:
            spec[key] = {"failureThreshold": 3, "httpGet": {"path": path, "port": c.port, "scheme": "HTTP"},
                         "initialDelaySeconds": delay, "periodSeconds": 10, "successThreshold": 1,
                         "timeoutSeconds": 1}  # fmt: skip
    return spec


def _qos(pod: PodLife) -> str:
    cs = [*pod.app.containers, *pod.app.init_containers]
    if all(c.requests == {} and c.limits == {} for c in cs):
        return "BestEffort"
    for c in cs:
        lim = c.limits
        if "cpu" not in lim or "memory" not in lim or any(c.requests.get(k, lim[k]) != lim[k] for k in lim):
            return "Burstable"
    return "Guaranteed"


def _owner_refs(pod: PodLife) -> list[dict[str, Any]]:
    if pod.owner_kind is None:
        return []
    api = "batch/v1" if pod.owner_kind == "Job" else "apps/v1"
    return [{"apiVersion": api, "blockOwnerDeletion": True, "controller": True, "kind": pod.owner_kind,
             "name": pod.owner_name, "uid": pod.owner_uid}]  # fmt: skip


def _cond(
    kind: str, when: dt.datetime, *, ok: bool, reason: str | None = None, message: str | None = None
) -> dict:
    c: dict[str, Any] = {"lastProbeTime": None, "lastTransitionTime": iso(when), "status": "True" if ok else "False",
                         "type": kind}  # fmt: skip
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def _run_at(runs: list[Run], t: dt.datetime) -> tuple[int, Run | None]:
    """Index of the last run started at or before ``t`` (-1: none yet)."""
    idx = -1
    for i, r in enumerate(runs):
        if r.start <= t:
            idx = i
    return idx, (runs[idx] if idx >= 0 else None)


def _terminated(ids: Ids, pod: PodLife, name: str, run: Run, i: int) -> dict[str, Any]:
    return {"containerID": f"containerd://{ids.hex(pod.uid, name, i)}", "exitCode": run.exit_code or 0,
            "finishedAt": iso(run.end), "reason": run.reason or "Error", "startedAt": iso(run.start)}  # fmt: skip


def _container_status(ids: Ids, pod: PodLife, c: ContainerSpec, runs: list[Run], t: dt.datetime,
                      ready_from: dt.datetime | None, *, init: bool = False) -> dict[str, Any]:  # fmt: skip
    """One entry of ``containerStatuses``: the run in progress, or the back-off wait after a
    failed run (``CrashLoopBackOff``, with the failed run as ``lastState``), or the final state."""
    image = pod.image(c)
    base: dict[str, Any] = {"image": image, "imageID": "", "lastState": {}, "name": c.name, "ready": False,
                            "restartCount": 0, "started": False}  # fmt: skip
    i, run = _run_at(runs, t)
    if run is None:
        reason = "PodInitializing" if pod.app.init_containers and not init else "ContainerCreating"
        base["state"] = {"waiting": {"reason": reason}}
        return base
    base.update({"containerID": f"containerd://{ids.hex(pod.uid, c.name, i)}", "restartCount": i,
                 "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{ids.hex('digest', image)}"})  # fmt: skip
    if i > 0:
        base["lastState"] = {"terminated": _terminated(ids, pod, c.name, runs[i - 1], i - 1)}
    if run.end is None or t < run.end:
        base["state"] = {"running": {"startedAt": iso(run.start)}}
        base["started"] = True
        since = ready_from if i == 0 else run.start + 8 * S
        base["ready"] = bool(since is not None and t >= since and (pod.unready is None or t < pod.unready))
        return base
    backing_off = i + 1 < len(runs) or (init and pod.mode == "init-crash")
    if backing_off and t >= run.end + S:
        base["lastState"] = {"terminated": _terminated(ids, pod, c.name, run, i)}
        delay = min(10 * 2**i, 300)
        text = f"{delay // 60}m{delay % 60}s" if delay >= 60 else f"{delay}s"
        base["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": f"back-off {text} restarting failed "
                                     f"container={c.name} pod={pod.name}_{pod.namespace}({pod.uid})"}}  # fmt: skip
        return base
    base["state"] = {"terminated": _terminated(ids, pod, c.name, run, i)}
    return base


def pod_manifest(ids: Ids, pod: PodLife, t: dt.datetime) -> dict[str, Any]:
    """The pod as a ``kubectl get pod -o json`` would have shown it at ``t``."""
    sa = f"kube-api-access-{ids.suffix(pod.uid, 'sa')}"
    meta: dict[str, Any] = {"creationTimestamp": iso(pod.created), "labels": dict(pod.labels), "name": pod.name,
                            "namespace": pod.namespace, "uid": pod.uid, "ownerReferences": _owner_refs(pod)}  # fmt: skip
    if pod.owner_kind in ("ReplicaSet", "DaemonSet", "Job"):
        meta["generateName"] = pod.name[: len(pod.name) - 5]
    if pod.terminating and t >= pod.terminating:
        meta["deletionTimestamp"] = iso(pod.terminating + 30 * S)
        meta["deletionGracePeriodSeconds"] = 30
    spec: dict[str, Any] = {
        "containers": [
            _container_spec(c, pod.image(c), sa, pvc_mount=bool(pod.ordinal is not None or pod.app.claim))
            for c in pod.containers
        ],  # fmt: skip
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 2000001000
        if pod.app.priority_class == "system-node-critical"
        else (2000000000 if pod.app.priority_class else 0),
        "restartPolicy": "Never" if pod.mode == "job" else "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": pod.app.sa,
        "serviceAccountName": pod.app.sa,
        "terminationGracePeriodSeconds": 30,
        "tolerations": [*pod.app.tolerations, *DEFAULT_TOLERATIONS],
        "volumes": [
            {
                "name": sa,
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "configMap": {
                                "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                "name": "kube-root-ca.crt",
                            }
                        },
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace",
                                    }
                                ]
                            }
                        },
                    ],
                },
            }
        ],  # fmt: skip
    }
    if pod.app.init_containers:
        spec["initContainers"] = [_container_spec(c, c.image, sa) for c in pod.app.init_containers]
    if pod.app.priority_class:
        spec["priorityClassName"] = pod.app.priority_class
    if pod.app.node_selector:
        spec["nodeSelector"] = dict(pod.app.node_selector)
    if pod.ordinal is not None:
        spec["hostname"], spec["subdomain"] = pod.name, pod.app.name
        spec["volumes"].insert(
            0, {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{pod.name}"}}
        )
    if pod.app.claim:
        spec["volumes"].insert(0, {"name": "data", "persistentVolumeClaim": {"claimName": pod.app.claim}})
    if pod.scheduled and t >= pod.scheduled:
        spec["nodeName"] = pod.node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": _status(ids, pod, t)}


def _status(ids: Ids, pod: PodLife, t: dt.datetime) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Pending", "qosClass": _qos(pod)}
    if pod.mode == "pending":
        history = pod.behaviour.get("sched") or [(pod.created, pod.message or "")]
        msg = next((m for when, m in reversed(history) if when <= t), history[0][1])
        when = next((w for w, m in reversed(history) if w <= t), history[0][0])
        status["conditions"] = [_cond("PodScheduled", when, ok=False, reason="Unschedulable", message=msg)]
        return status
    if pod.scheduled is None or t < pod.scheduled:
        return status
    frozen = t if pod.unready is None or t < pod.unready else pod.unready - dt.timedelta(milliseconds=1)
    status.update({"hostIP": pod.host_ip, "hostIPs": [{"ip": pod.host_ip}], "startTime": iso(pod.scheduled)})
    names = [c.name for c in pod.containers]
    statuses = []
    ready_from = pod.ready
    for c in pod.containers:
        runs = pod.runs.get(c.name, [])
        cs = _container_status(ids, pod, c, runs, frozen, ready_from)
        if pod.mode == "image-pull":
            cs["state"] = {"waiting": _pull_wait(pod, c, t)}
        statuses.append(cs)
    init_ok = True
    if pod.app.init_containers:
        ic = pod.app.init_containers[0]
        runs = pod.init_runs.get(ic.name) or ([Run(pod.scheduled + S, (pod.started or pod.scheduled) - 0.2 * S,
                                                   "Completed", 0)] if pod.started else [])  # fmt: skip
        ics = _container_status(ids, pod, ic, runs, frozen, None, init=True)
        init_ok = "terminated" in ics["state"] and ics["state"]["terminated"]["exitCode"] == 0
        status["initContainerStatuses"] = [ics]
        if not init_ok:
            for cs in statuses:
                cs["state"] = {"waiting": {"reason": "PodInitializing"}}
    running = any("running" in cs["state"] for cs in statuses)
    all_ready = all(cs["ready"] for cs in statuses)
    if pod.started and frozen >= pod.started and init_ok:
        status["podIP"], status["podIPs"] = pod.pod_ip, [{"ip": pod.pod_ip}]
    finished = [cs for cs in statuses if "terminated" in cs["state"]]
    if pod.outcome == "Succeeded" and pod.ended and t >= pod.ended:
        status["phase"] = "Succeeded"
    elif pod.outcome == "Evicted" and pod.ended and t >= pod.ended:
        status.update({"phase": "Failed", "reason": "Evicted", "message": pod.message})
    elif running or (finished and pod.mode != "job"):
        status["phase"] = "Running"
    elif pod.mode == "init-crash" and pod.started and t >= pod.started:
        status["podIP"], status["podIPs"] = pod.pod_ip, [{"ip": pod.pod_ip}]
    t_ready = _ready_since(pod, frozen, statuses)
    unready_names = [n for n, cs in zip(names, statuses, strict=True) if not cs["ready"]]
    not_ready_msg = f"containers with unready status: [{' '.join(unready_names)}]"
    done = status["phase"] in ("Succeeded", "Failed")
    ready_reason = "PodCompleted" if done else "ContainersNotReady"
    sandbox = pod.started - 0.5 * S if pod.started else pod.scheduled + S
    conds = [
        _cond(
            "PodReadyToStartContainers",
            sandbox if t >= sandbox else pod.scheduled,
            ok=not done and t >= sandbox,
        )
    ]
    if pod.app.init_containers and not init_ok:
        conds.append(_cond("Initialized", pod.scheduled, ok=False, reason="ContainersNotInitialized",
                           message=f"containers with incomplete status: [{pod.app.init_containers[0].name}]"))  # fmt: skip
    else:
        conds.append(_cond("Initialized", pod.started - 0.3 * S if pod.app.init_containers and pod.started
                           else pod.scheduled, ok=True))  # fmt: skip
    marked = pod.unready + 40 * S if pod.unready else None  # the node controller marks pods of a lost node
    lost = marked is not None and t >= marked
    ok = all_ready and not done and not lost
    when = t_ready if ok else (marked if lost else (pod.ended if done else t_ready))
    for kind in ("Ready", "ContainersReady"):
        node_lost = kind == "Ready" and lost
        conds.append(_cond(kind, when or pod.scheduled, ok=ok, reason=None if ok or node_lost else ready_reason,
                           message=None if ok or done or node_lost else not_ready_msg))  # fmt: skip
    conds.append(_cond("PodScheduled", pod.scheduled, ok=True))
    status["conditions"] = conds
    status["containerStatuses"] = statuses
    return status


def _ready_since(pod: PodLife, t: dt.datetime, statuses: list[dict]) -> dt.datetime:
    """When the Ready condition last changed (the current run's readiness or its end)."""
    runs = pod.runs.get(pod.containers[0].name, [])
    i, run = _run_at(runs, t)
    if run is None:
        return pod.scheduled or pod.created
    if i == 0:
        start = pod.ready or run.start
    else:
        start = run.start + 8 * S
    if run.end is not None and t >= run.end:
        return run.end
    if all(cs["ready"] for cs in statuses):
        return start
    return runs[i - 1].end if i > 0 and runs[i - 1].end else run.start


def _pull_wait(pod: PodLife, c: ContainerSpec, t: dt.datetime) -> dict[str, str]:
    tries = pod.behaviour.get("pulls", [])
    last = max((x for x in tries if x <= t), default=None)
    if last is None or t < last + S:
        return (
            {"reason": "ContainerCreating"}
            if last is None
            else {"reason": "ErrImagePull", "message": pod.message or ""}
        )
    if t < last + 2 * S:
        return {"reason": "ErrImagePull", "message": pod.message or ""}
    return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{pod.image(c)}"'}


def pod_revision_times(pod: PodLife, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The moments the pod's manifest changes inside ``[start, end]`` (the first at or after
    ``start``: how a collector listing at ``start`` first sees it)."""
    times = {pod.created, pod.scheduled, pod.started, pod.ready, pod.terminating, pod.ended}
    for runs in (*pod.runs.values(), *pod.init_runs.values()):
        for r in runs:
            times.update({r.start, r.start + 8 * S})
            if r.end:
                times.update({r.end, r.end + S})
    for when, _ in pod.behaviour.get("sched", []):
        times.add(when)
    for x in pod.behaviour.get("pulls", []):
        times.update({x + S, x + 2 * S})
    if pod.unready:
        times.add(pod.unready + 40 * S)
    last = pod.deleted if pod.deleted is not None else end
    inside = sorted(x for x in times if x is not None and start < x <= min(last, end))
    first = max(pod.created, start)
    return [first, *(x for x in inside if x > first)]
