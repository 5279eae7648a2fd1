"""Workload controllers on top of :class:`~workbench.sources.demo.plan.Planner`: create the
objects and their pods as the real controllers would (names, labels, events, rolling updates)."""

from __future__ import annotations

import datetime as dt

from workbench.sources.demo.apps import AppSpec
from workbench.sources.demo.model import PodLife, Run, Workload
from workbench.sources.demo.plan import SYSTEM_PART, Planner, namespace_for

__all__ = [
    "cronjob",
    "current_rs",
    "daemonset",
    "deployment",
    "job",
    "live_pods",
    "rolling_update",
    "rs_pod",
    "scale",
    "statefulset",
]

S = dt.timedelta(seconds=1)


def _workload(pl: Planner, kind: str, app: AppSpec, part: int, name: str, created: dt.datetime,
              owner: Workload | None = None) -> Workload:  # fmt: skip
    ns = app.namespace if app.system else namespace_for(app.namespace, part)
    pl.part(part).namespaces.add(ns)
    w = Workload(kind=kind, cluster=pl.cluster.name, part=part, app=app, namespace=ns, name=name,
                 uid=pl.ids.uid(kind, pl.cluster.name, ns, name), created=created, owner=owner,
                 images={c.name: c.image for c in app.containers})  # fmt: skip
    pl.part(part).workloads.append(w)
    if owner is not None:
        owner.children.append(w)
    return w


def _age(pl: Planner, *parts: object, low_h: float = 20, high_h: float = 24 * 12) -> dt.timedelta:
    rng = pl.rng("age", *parts)
    return dt.timedelta(hours=float(rng.uniform(low_h, high_h)))


def _hash(pl: Planner, dep: Workload, images: dict[str, str]) -> str:
    return pl.ids.template_hash(pl.cluster.name, dep.namespace, dep.name, sorted(images.items()))


def new_rs(
    pl: Planner, dep: Workload, images: dict[str, str], created: dt.datetime, replicas: int
) -> Workload:
    h = _hash(pl, dep, images)
    rs = _workload(pl, "ReplicaSet", dep.app, dep.part, f"{dep.name}-{h}", created, owner=dep)
    rs.template_hash, rs.images = h, dict(images)
    rs.spec = [(created, replicas, images)]
    return rs


def rs_pod(pl: Planner, rs: Workload, t: dt.datetime, *, preexisting: bool = False,
           ready_delay: float | None = None, place: bool = True) -> PodLife:  # fmt: skip
    """A pod of ``rs`` created at ``t``: named, placed, started (unless it cannot be placed)."""
    name = f"{rs.name}-{pl.ids.suffix(pl.cluster.name, rs.namespace, rs.name, t.isoformat(), len(rs.pods))}"
    pod = pl.new_pod(rs.app, rs.part, rs, name, t, images=rs.images, template_hash=rs.template_hash)
    if not preexisting:
        pl.created_event(rs, pod, t)
    if place and pl.place(pod, t):
        pl.run_pod(pod, preexisting=preexisting, ready_delay=ready_delay)
    return pod


def deployment(pl: Planner, app: AppSpec, part: int, *, replicas: int | None = None,
               created: dt.datetime | None = None) -> Workload:  # fmt: skip
    """A Deployment with its current ReplicaSet (and an older, scaled-to-zero one) and pods."""
    n = app.replicas if replicas is None else replicas
    born = created or pl.start - _age(pl, "dep", app.namespace, app.name, part, low_h=24 * 5, high_h=24 * 60)
    dep = _workload(pl, "Deployment", app, part, app.name, born)
    dep.spec = [(born, n, dict(dep.images))]
    if created is None:
        old_images = {
            k: v.rsplit(":", 1)[0] + ":" + _older(v.rsplit(":", 1)[-1]) for k, v in dep.images.items()
        }
        old = new_rs(pl, dep, old_images, born, n)
        old.spec.append((born + dt.timedelta(days=2), 0, None))
        rs_born = pl.start - _age(pl, "rs", app.namespace, app.name, part, low_h=26, high_h=24 * 4)
        rs = new_rs(pl, dep, dict(dep.images), rs_born, n)
        for i in range(n):
            late = i >= n - app.late  # placed by Planner.place_late, after every other workload
            pod = rs_pod(pl, rs, rs_born + dt.timedelta(seconds=20 * i + 3), preexisting=True, place=not late)
            if late:
                pl.late.append(pod)
    else:
        rs = new_rs(pl, dep, dict(dep.images), born, n)
        pl.scaling_event(dep, rs, born, n, 0)
        for _ in range(n):
            rs_pod(pl, rs, born + dt.timedelta(milliseconds=30))
    return dep


def _older(tag: str) -> str:
    parts = tag.split(".")
    if len(parts) == 3 and parts[2].isdigit() and int(parts[2]) > 0:
        return f"{parts[0]}.{parts[1]}.{int(parts[2]) - 1}"
    if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > 0:
        return f"{parts[0]}.{int(parts[1]) - 1}.{parts[2] if len(parts) == 3 else '0'}"
    return tag + "-prev"


def current_rs(dep: Workload) -> Workload:
    return dep.children[-1]


def live_pods(rs: Workload, t: dt.datetime) -> list[PodLife]:
    return [p for p in rs.pods if p.created <= t and p.terminating is None and p.deleted is None]


def scale(
    pl: Planner, dep: Workload, t: dt.datetime, n: int, *, ready_delay: float | None = None
) -> list[PodLife]:
    """Scale a Deployment (by hand or by its HPA) at ``t``: ScalingReplicaSet, new or removed pods."""
    rs = current_rs(dep)
    old = dep.replicas_at(t)
    dep.spec.append((t, n, None))
    rs.spec.append((t, n, None))
    pl.scaling_event(dep, rs, t, n, old)
    made = []
    if n > old:
        for i in range(n - old):
            made.append(rs_pod(pl, rs, t + dt.timedelta(milliseconds=40 + 10 * i), ready_delay=ready_delay))
    else:
        for pod in live_pods(rs, t)[n:]:
            pl.deleted_event(rs, pod, t)
            pl.stop(pod, t + dt.timedelta(milliseconds=50))
    return made


def rolling_update(pl: Planner, dep: Workload, t: dt.datetime, images: dict[str, str]) -> Workload:
    """Change the pod template at ``t``: a new ReplicaSet replaces the old one pod by pod
    (maxSurge 25% rounded up, maxUnavailable 25% rounded down, as the defaults)."""
    old_rs = current_rs(dep)
    n = dep.replicas_at(t)
    dep.spec.append((t, n, dict(images)))
    dep.images = dict(images)
    new = new_rs(pl, dep, images, t, 0)
    new.spec = [(t, 0, images)]
    step_t = t
    old_pods = live_pods(old_rs, t)
    for i in range(n):
        step_t += dt.timedelta(milliseconds=60)
        new.spec.append((step_t, i + 1, None))
        pl.scaling_event(dep, new, step_t, i + 1, i)
        pod = rs_pod(pl, new, step_t + dt.timedelta(milliseconds=20))
        step_t = (pod.ready or step_t) + dt.timedelta(milliseconds=400)
        old_rs.spec.append((step_t, n - i - 1, None))
        pl.scaling_event(dep, old_rs, step_t, n - i - 1, n - i)
        if i < len(old_pods):
            pl.deleted_event(old_rs, old_pods[i], step_t)
            pl.stop(old_pods[i], step_t + dt.timedelta(milliseconds=30))
    return new


def statefulset(pl: Planner, app: AppSpec, part: int) -> Workload:
    born = pl.start - _age(pl, "sts", app.namespace, app.name, part, low_h=24 * 10, high_h=24 * 90)
    sts = _workload(pl, "StatefulSet", app, part, app.name, born)
    sts.template_hash = pl.ids.template_hash(pl.cluster.name, sts.namespace, sts.name)
    sts.spec = [(born, app.replicas, dict(sts.images))]
    restarted = pl.start - _age(pl, "sts-roll", app.namespace, app.name, part, low_h=30, high_h=24 * 8)
    for i in range(app.replicas):
        pod = pl.new_pod(app, part, sts, f"{sts.name}-{i}", restarted + dt.timedelta(seconds=45 * i))
        pod.ordinal = i
        if pl.place(pod, pod.created):
            pl.run_pod(pod, preexisting=True)
    return sts


def daemonset(pl: Planner, app: AppSpec) -> Workload:
    born = pl.start - _age(pl, "ds", app.namespace, app.name, low_h=24 * 30, high_h=24 * 120)
    ds = _workload(pl, "DaemonSet", app, SYSTEM_PART, app.name, born)
    ds.template_hash = pl.ids.template_hash(pl.cluster.name, ds.namespace, ds.name)
    ds.spec = [(born, len(pl.nodes), dict(ds.images))]
    for life in pl.nodes:
        n = life.node
        t = max(born, n.created) + dt.timedelta(seconds=12)
        name = f"{ds.name}-{pl.ids.suffix(pl.cluster.name, ds.name, n.name)}"
        pod = pl.new_pod(app, SYSTEM_PART, ds, name, t)
        if pl.place(pod, t, node=n.name):
            pl.run_pod(pod, preexisting=True)
    return ds


def job(pl: Planner, app: AppSpec, part: int, name: str, t: dt.datetime, *, runtime: float,
        owner: Workload | None = None) -> Workload:  # fmt: skip
    """A Job whose one pod runs for ``runtime`` seconds and succeeds."""
    j = _workload(pl, "Job", app, part, name, t, owner=owner)
    j.spec = [(t, 1, dict(j.images))]
    preexisting = t < pl.start
    pod = pl.new_pod(app, part, j, f"{name}-{pl.ids.suffix(pl.cluster.name, j.namespace, name)}",
                     t + dt.timedelta(milliseconds=25))  # fmt: skip
    pod.mode = "job"
    if not preexisting:
        pl.created_event(j, pod, pod.created)
    if pl.place(pod, pod.created):
        pl.run_pod(pod, preexisting=preexisting, ready_delay=0.5)
        assert pod.started is not None
        pod.ended = pod.started + dt.timedelta(seconds=runtime)
        pod.outcome = "Succeeded"
        for c in pod.containers:
            pod.runs[c.name] = [Run(pod.started, pod.ended, "Completed", 0)]
        pl.release(pod)
        j.completed = pod.ended + dt.timedelta(seconds=1)
        if not preexisting or j.completed >= pl.start:
            pl.event(part, first=j.completed, kind="Job", namespace=j.namespace, name=j.name, uid=j.uid,
                     type="Normal", reason="Completed", message="Job completed", component="job-controller",
                     api_version="batch/v1")  # fmt: skip
    return j


def cronjob(pl: Planner, app: AppSpec, part: int, *, every_min: int = 30, keep: int = 3) -> Workload:
    """A CronJob creating a Job every ``every_min`` minutes, keeping ``keep`` finished Jobs."""
    born = pl.start - dt.timedelta(days=40)
    cj = _workload(pl, "CronJob", app, part, app.name, born)
    cj.spec = [(born, 1, dict(cj.images))]
    first = pl.start.replace(minute=0, second=0, microsecond=0) - dt.timedelta(minutes=every_min * keep)
    t = first
    rng = pl.rng("cron", cj.namespace, cj.name)
    while t < pl.end:
        if t >= first:
            name = f"{cj.name}-{int(t.timestamp()) // 60}"  # the controller names Jobs by scheduled minute
            j = job(pl, app, part, name, t, runtime=float(rng.uniform(50, 140)), owner=cj)
            cj.extra_times.append(t)
            if t >= pl.start:
                pl.event(part, first=t, kind="CronJob", namespace=cj.namespace, name=cj.name, uid=cj.uid,
                         type="Normal", reason="SuccessfulCreate", message=f"Created job {name}",
                         component="cronjob-controller", api_version="batch/v1")  # fmt: skip
            done = [c for c in cj.children if c.completed is not None and c.deleted is None]
            if len(done) > keep and j.completed is not None:
                gone = done[0]
                gone.deleted = t + dt.timedelta(seconds=2)
                for pod in gone.pods:
                    pod.deleted = gone.deleted + dt.timedelta(seconds=1)
                if t >= pl.start:
                    pl.event(part, first=gone.deleted, kind="CronJob", namespace=cj.namespace, name=cj.name,
                             uid=cj.uid, type="Normal", reason="SuccessfulDelete", message=f"Deleted job {gone.name}",
                             component="cronjob-controller", api_version="batch/v1")  # fmt: skip
            if j.completed is not None and j.completed >= pl.start:
                pl.event(part, first=j.completed + S, kind="CronJob", namespace=cj.namespace, name=cj.name,
                         uid=cj.uid, type="Normal", reason="SawCompletedJob", component="cronjob-controller",
                         message=f"Saw completed job: {name}, status: Complete", api_version="batch/v1")  # fmt: skip
        t += dt.timedelta(minutes=every_min)
    return cj
