"""The demo's incidents that happen inside pods: a memory leak ending in OOM kills, a slow JVM
start, an init container crash loop, an image that cannot be pulled, a CPU-throttled pod.

Each function changes the plan and returns the ground-truth record of what it did. Times are
fractions of the window, so a short window still holds every incident.
"""

from __future__ import annotations

import datetime as dt

from workbench.sources.demo.apps import AppSpec
from workbench.sources.demo.model import EventRec, PodLife, Run, Workload
from workbench.sources.demo.plan import Planner
from workbench.sources.demo.workloads import current_rs, deployment, live_pods, scale

__all__ = ["image_pull", "init_crash", "jvm_slow_start", "oom_leak", "throttle", "truth", "backoff_times"]

S = dt.timedelta(seconds=1)


def at(pl: Planner, fraction: float) -> dt.datetime:
    """The moment ``fraction`` of the way through the window, to the second."""
    t = pl.start + (pl.end - pl.start) * fraction
    return t.replace(microsecond=0)


def truth(kind: str, pl: Planner, w: Workload | None, pods: list[PodLife], start: dt.datetime,
          end: dt.datetime, signals: list[str], *, obj: dict | None = None, **details: object) -> dict:  # fmt: skip
    """One ground-truth record (``obj`` names the object when it is not the workload ``w``)."""
    return {
        "kind": kind,
        "cluster": pl.cluster.name,
        "namespace": w.namespace if w else None,
        "object": obj or {"kind": w.kind if w else "Pod", "name": w.name if w else pods[0].name},
        "pods": [p.name for p in pods],
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": min(end, pl.end).isoformat().replace("+00:00", "Z"),
        "signals": signals,
        "details": details,
    }


def backoff_times(
    first: dt.datetime, end: dt.datetime, *, run: float = 0.0, cap: float = 300.0
) -> list[dt.datetime]:
    """When the kubelet retries a failing container: 10 s back-off doubling up to 5 minutes."""
    out, t, delay = [], first, 10.0
    while t < end:
        out.append(t)
        t = t + dt.timedelta(seconds=run + delay)
        delay = min(delay * 2, cap)
    return out


def _pod_event(pl: Planner, pod: PodLife, t: dt.datetime, reason: str, message: str, *, warning: bool = True,
               container: str | None = None, count: int = 1, last: dt.datetime | None = None) -> EventRec:  # fmt: skip
    return pl.event(pod.part, first=t, kind="Pod", namespace=pod.namespace, name=pod.name, uid=pod.uid,
                    type="Warning" if warning else "Normal", reason=reason, message=message, component="kubelet",
                    host=pod.node, field_path=f"spec.containers{{{container}}}" if container else None, count=count,
                    last=last)  # fmt: skip


def _drop_start_events(pl: Planner, pod: PodLife) -> None:
    """Forget the kubelet's image/start events of a pod whose containers never start."""
    events = pl.part(pod.part).events
    events[:] = [
        e
        for e in events
        if not (e.uid == pod.uid and e.reason in ("Pulled", "Pulling", "Created", "Started"))
    ]


def oom_leak(pl: Planner, dep: Workload, *, begin: float = 0.08, grow: float = 0.14) -> dict:
    """One container leaks memory until its limit: OOMKilled twice, then the leak stops."""
    pod = live_pods(current_rs(dep), at(pl, begin))[0]
    c = pod.containers[0]
    t0 = at(pl, begin)
    duration = (pl.end - pl.start) * grow
    runs = pod.runs[c.name]
    kills = []
    leak_start = t0
    for _ in range(2):
        kill = leak_start + duration
        runs[-1].end, runs[-1].reason, runs[-1].exit_code = kill, "OOMKilled", 137
        restart = kill + dt.timedelta(seconds=10.4)
        runs.append(Run(restart))
        kills.append(kill)
        leak_start = restart
        pl.event(pod.part, first=kill - dt.timedelta(milliseconds=200), kind="Node", namespace=None,
                 name=pod.node or "", uid=pl.cluster.node(pod.node or "").uid, type="Warning", reason="OOMKilling",
                 component="kernel-monitor", host=pod.node,
                 message=f"Memory cgroup out of memory: Killed process {4000 + len(kills) * 1733} ({c.name}) "
                 f"total-vm:1538420kB, anon-rss:{(c.mem_limit or 0) // 1024 - 912}kB, file-rss:28140kB, "
                 "shmem-rss:0kB, UID:10001 pgtables:1124kB oom_score_adj:985")  # fmt: skip
        _pod_event(pl, pod, kill + S, "BackOff", f"Back-off restarting failed container {c.name} in pod "
                   f"{pod.name}_{pod.namespace}({pod.uid})", container=c.name)  # fmt: skip
        for reason, msg in (
            ("Pulled", f'Container image "{pod.image(c)}" already present on machine'),
            ("Created", f"Created container {c.name}"),
            ("Started", f"Started container {c.name}"),
        ):
            _pod_event(pl, pod, restart, reason, msg, warning=False, container=c.name)  # fmt: skip
    pod.behaviour["leak"] = {"start": t0, "until": kills[-1], "fill": duration.total_seconds()}
    return truth("oom_killed", pl, dep, [pod], t0, kills[-1] + dt.timedelta(seconds=20),
                 ["containers.last_reason=OOMKilled", "metrics:container_memory_working_set_bytes",
                  "metrics:kube_pod_container_status_last_terminated_reason", "metrics:kube_pod_container_status_restarts_total",
                  "events:BackOff", "events:OOMKilling"],
                 container=c.name, memory_limit=c.mem_limit, kills=[k.isoformat() for k in kills], restarts=2)  # fmt: skip


def jvm_slow_start(pl: Planner, dep: Workload, *, when: float = 0.06, warmup: float = 235.0) -> dict:
    """The HPA adds a JVM pod: minutes of CPU at its limit, readiness only after ~4 minutes."""
    t = at(pl, when)
    n = dep.replicas_at(t)
    pl.event(dep.part, first=t - S, kind="HorizontalPodAutoscaler", namespace=dep.namespace, name=dep.name,
             uid=pl.ids.uid("HorizontalPodAutoscaler", pl.cluster.name, dep.namespace, dep.name), type="Normal",
             reason="SuccessfulRescale", component="horizontal-pod-autoscaler", api_version="autoscaling/v2",
             message=f"New size: {n + 1}; reason: cpu resource utilization (percentage of request) above target")  # fmt: skip
    (pod,) = scale(pl, dep, t, n + 1, ready_delay=warmup)
    assert pod.started is not None and pod.ready is not None
    c = pod.containers[0]
    pod.behaviour["jvm"] = {"start": pod.started, "ready": pod.ready}
    url = f"http://{pod.pod_ip}:{c.port}{c.readiness}"
    first = pod.started + dt.timedelta(seconds=20)
    refused = int((warmup * 0.45) // 10)
    slow = int((warmup - 20) // 10) - refused
    _pod_event(pl, pod, first, "Unhealthy", f'Readiness probe failed: Get "{url}": dial tcp {pod.pod_ip}:{c.port}: '
               "connect: connection refused", container=c.name, count=refused,
               last=first + dt.timedelta(seconds=10 * (refused - 1)))  # fmt: skip
    second = first + dt.timedelta(seconds=10 * refused)
    _pod_event(pl, pod, second, "Unhealthy", f'Readiness probe failed: Get "{url}": context deadline exceeded '
               "(Client.Timeout exceeded while awaiting headers)", container=c.name, count=slow,
               last=second + dt.timedelta(seconds=10 * (slow - 1)))  # fmt: skip
    return truth("slow_start", pl, dep, [pod], pod.created, pod.ready + dt.timedelta(seconds=90),
                 ["metrics:container_cpu_usage_seconds_total", "pods.ready_time", "events:Unhealthy"],
                 container=c.name, cpu_limit=c.cpu_limit, cpu_request=c.cpu_request,
                 ready_after_s=round((pod.ready - pod.created).total_seconds(), 1))  # fmt: skip


def init_crash(pl: Planner, app: AppSpec, part: int, *, when: float = 0.58) -> dict:
    """A new Deployment whose init container exits 1 on every try: Init:Error, Init:CrashLoopBackOff."""
    t = at(pl, when)
    dep = deployment(pl, app, part, created=t)
    pod = dep.children[-1].pods[0]
    ic = app.init_containers[0]
    assert pod.started is not None
    pod.mode = "init-crash"
    _drop_start_events(pl, pod)
    pod.ready = None
    pod.runs = {}
    tries = [s for s in backoff_times(pod.started, pl.end, run=1.6) if s + 4 * S < pl.end]
    pod.init_runs = {ic.name: [Run(s, s + dt.timedelta(seconds=1.6), "Error", 1) for s in tries]}
    last_fail = tries[-1] + dt.timedelta(seconds=1.6)
    n = len(tries)
    for reason, msg, warn in (("Pulled", f'Container image "{ic.image}" already present on machine', False),
                              ("Created", f"Created container {ic.name}", False),
                              ("Started", f"Started container {ic.name}", False)):  # fmt: skip
        _pod_event(
            pl, pod, pod.started, reason, msg, warning=warn, container=ic.name, count=n, last=tries[-1]
        )
    if n > 1:
        _pod_event(pl, pod, tries[0] + 2 * S, "BackOff", f"Back-off restarting failed container {ic.name} in pod "
                   f"{pod.name}_{pod.namespace}({pod.uid})", container=ic.name, count=max(1, 3 * (n - 1)),
                   last=min(pl.end, last_fail))  # fmt: skip
    return truth("init_crash_loop", pl, dep, [pod], t, pl.end,
                 ["pods.status=Init:CrashLoopBackOff", "objects:Init:Error", "containers.is_init", "events:BackOff",
                  "logs"], container=ic.name, exit_code=1, restarts=n - 1)  # fmt: skip


def image_pull(pl: Planner, app: AppSpec, part: int, *, when: float = 0.86) -> dict:
    """A new Deployment with an image tag that does not exist: ErrImagePull, ImagePullBackOff."""
    t = at(pl, when)
    dep = deployment(pl, app, part, created=t)
    pod = dep.children[-1].pods[0]
    c = pod.containers[0]
    image = pod.image(c)
    assert pod.scheduled is not None
    pod.mode, pod.ready, pod.runs, pod.started = "image-pull", None, {}, None
    _drop_start_events(pl, pod)
    tries = backoff_times(pod.scheduled + dt.timedelta(seconds=1), pl.end, run=1.2)
    pod.behaviour["pulls"] = tries
    n, last = len(tries), tries[-1]
    repo, tag = image.rsplit(":", 1)
    err = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve '
           f'reference "{image}": {image}: not found')  # fmt: skip
    pod.message = err
    _pod_event(pl, pod, tries[0], "Pulling", f'Pulling image "{image}"', warning=False, container=c.name, count=n,
               last=last)  # fmt: skip
    _pod_event(pl, pod, tries[0] + S, "Failed", f'Failed to pull image "{image}": {err}', container=c.name, count=n,
               last=last + S)  # fmt: skip
    _pod_event(
        pl, pod, tries[0] + S, "Failed", "Error: ErrImagePull", container=c.name, count=n, last=last + S
    )
    if n > 1:
        _pod_event(pl, pod, tries[0] + 2 * S, "BackOff", f'Back-off pulling image "{image}"', container=c.name,
                   count=3 * (n - 1), last=min(pl.end, last + 2 * S))  # fmt: skip
        _pod_event(pl, pod, tries[0] + 2 * S, "Failed", "Error: ImagePullBackOff", container=c.name,
                   count=3 * (n - 1), last=min(pl.end, last + 2 * S))  # fmt: skip
    return truth("image_pull_backoff", pl, dep, [pod], t, pl.end,
                 ["pods.status=ImagePullBackOff", "containers.reason=ImagePullBackOff", "events:Failed",
                  "events:BackOff"], container=c.name, image=image, tag=tag, repository=repo)  # fmt: skip


def throttle(pl: Planner, dep: Workload, *, begin: float = 0.76, stop: float = 0.9) -> dict:
    """A pod with a low CPU limit runs hot: CFS throttling; its node's other pods slow down a bit."""
    pod = live_pods(current_rs(dep), at(pl, begin))[0]
    t0, t1 = at(pl, begin), at(pl, stop)
    pod.behaviour["hot"] = (t0, t1)
    neighbours = [p for p in pl.part(pod.part).pods + pl.part(-1).pods
                  if p.node == pod.node and p is not pod and p.exists_at(t0) and p.app.service]  # fmt: skip
    for p in neighbours:
        p.behaviour["neighbour"] = (t0, t1)
    c = pod.containers[0]
    return truth("cpu_throttling", pl, dep, [pod], t0, t1,
                 ["metrics:container_cpu_cfs_throttled_periods_total", "metrics:container_cpu_usage_seconds_total",
                  "spans:duration_us (same node)"], container=c.name, cpu_limit=c.cpu_limit, node=pod.node,
                 neighbours=sorted(p.name for p in neighbours))  # fmt: skip
