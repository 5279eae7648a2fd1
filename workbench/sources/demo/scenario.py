"""The demo's story: which workloads run where, and when each incident happens.

Each cluster runs its system add-ons (``kube-system``, ``monitoring``, ``ingress-nginx``,
``cert-manager``: see :mod:`.addons`; DaemonSets on every node) and ``scale`` copies of the
application namespaces. At scale 1 that is about 150 pods at the end of the window (EKS ~100,
GKE ~55). Incidents happen in scale copy 0 only (namespaces ``shop``, ``ml``, ``analytics``);
the other copies (``shop-02``...) are healthy, so analyses can be scored on precision at any scale.

| # | incident | cluster | when (fraction of the window) |
|---|---|---|---|
| 7 | slow-starting JVM pod (HPA scale-up of ``recommendation``) | EKS | 0.06 |
| 1 | memory leak → OOMKilled (``cart``) | EKS | 0.08 → 0.36 |
| 2 | pending pods: cpu, memory, taint, PVC; quota refusal | EKS | 0.30 – 0.55 |
| 2 | pending pod: node selector | GKE | 0.40 |
| 4 | bad rollout of ``checkout`` | EKS | 0.45 → end |
| 3 | init container crash loop (``notifications``) | GKE | 0.58 → end |
| 5 | node tainted, memory pressure, NotReady, pods evicted | EKS | 0.62 → end |
| 6 | CPU-throttled noisy neighbour (``thumbnailer``) | EKS | 0.76 → 0.90 |
| 8 | ImagePullBackOff (``promo-banner``) | EKS | 0.86 → end |
"""

from __future__ import annotations

import datetime as dt

from workbench.sources.demo import cluster_incidents as ci
from workbench.sources.demo import incidents as inc
from workbench.sources.demo.addons import addons_for
from workbench.sources.demo.apps import AppSpec, apps_for
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.model import PodLife, Workload
from workbench.sources.demo.plan import SYSTEM_PART, Plan, Planner
from workbench.sources.demo.workloads import cronjob, daemonset, deployment, job, statefulset
from workbench.sources.demo.world import EKS, Cluster

__all__ = ["build_plan"]

_PENDING = {
    "batch-scorer": ("insufficient_cpu", 0.30),
    "feature-builder": ("insufficient_memory", 0.33),
    "gpu-inference": ("untolerated_taint", 0.50),
    "media-uploader": ("missing_pvc", 0.52),
    "legacy-importer": ("node_selector", 0.40),
}


def build_plan(
    ids: Ids, cluster: Cluster, *, start: dt.datetime, end: dt.datetime, scale: int
) -> tuple[Plan, list[dict]]:
    """Simulate one cluster over the window; return the plan and its ground-truth incidents."""
    pl = Planner(ids, cluster, start=start, end=end)
    apps = apps_for(cluster.name)
    by_name: dict[tuple[int, str], Workload] = {}
    for app in apps:
        if app.system:
            by_name[(SYSTEM_PART, app.name)] = _system(pl, app)
    for part in range(scale):
        for app in apps:
            if app.system or (app.incident and app.incident != "cpu-throttle" and part == 0):
                continue
            if app.incident and part > 0:
                continue
            if app.kind == "Deployment":
                by_name[(part, app.name)] = deployment(pl, app, part)
            elif app.kind == "StatefulSet":
                by_name[(part, app.name)] = statefulset(pl, app, part)
            elif app.kind == "CronJob":
                by_name[(part, app.name)] = cronjob(pl, app, part)
            elif app.kind == "Job":
                by_name[(part, app.name)] = job(
                    pl, app, part, app.name, start + dt.timedelta(minutes=2), runtime=38.0
                )
    truths: list[dict] = []
    incident_apps = {a.name: a for a in apps if a.incident}
    if cluster.name == EKS:
        truths.append(inc.jvm_slow_start(pl, by_name[(0, "recommendation")], when=0.06))
        truths.append(inc.oom_leak(pl, by_name[(0, "cart")], begin=0.08, grow=0.14))
        for name in ("batch-scorer", "feature-builder", "gpu-inference", "media-uploader"):
            cause, when = _PENDING[name]
            truths.append(ci.pending(pl, incident_apps[name], 0, when=when, cause=cause))
        etl = deployment(pl, incident_apps["etl-worker"], 0)
        truths.append(ci.quota_refusal(pl, etl, when=0.55, quota="compute-quota", hard_cpu=2.0))
        truths.append(ci.bad_rollout(pl, by_name[(0, "checkout")], when=0.45, tag="1.9.0"))
        _grow(pl, by_name)
        thumb = by_name[(0, "thumbnailer")]
        busy = {p.node for t in truths for p in _pods(pl, t) if p.node}
        hot = {p.node for p in thumb.children[-1].pods if p.node}
        truths.append(
            ci.node_failure(pl, taint_at=0.62, pressure_at=0.66, lost_at=0.70, avoid=hot, prefer_not=busy)
        )
        truths.append(inc.throttle(pl, thumb, begin=0.76, stop=0.90))
        truths.append(inc.image_pull(pl, incident_apps["promo-banner"], 0, when=0.86))
    else:
        cause, when = _PENDING["legacy-importer"]
        truths.append(ci.pending(pl, incident_apps["legacy-importer"], 0, when=when, cause=cause))
        truths.append(inc.init_crash(pl, incident_apps["notifications"], 0, when=0.58))
        _grow(pl, by_name)
    ci.finalize_pending(pl, end)
    return pl.plan(), truths


def _grow(pl: Planner, by_name: dict[tuple[int, str], Workload]) -> None:
    """The add-ons and the ``late`` replicas: pods that run all along, placed after the pods the
    incidents start, so that those land on the nodes they had before the demo grew to ~150
    pods (the scheduler model sums requests; the order of placement is all that matters)."""
    for app in addons_for(pl.cluster.name):
        by_name[(SYSTEM_PART, app.name)] = _system(pl, app)
    pl.place_late()


def _system(pl: Planner, app: AppSpec) -> Workload:
    """A cluster add-on (system part): one per cluster, DaemonSets on every node."""
    if app.kind == "DaemonSet":
        return daemonset(pl, app)
    if app.kind == "StatefulSet":
        return statefulset(pl, app, SYSTEM_PART)
    return deployment(pl, app, SYSTEM_PART)


def _pods(pl: Planner, t: dict) -> list[PodLife]:
    names = set(t["pods"])
    return [p for p in pl.part(0).pods if p.name in names]
