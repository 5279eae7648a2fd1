"""Render one part of a plan as object revisions and events, in time order, through the same
:class:`workbench.kube.Normalizer` every real source uses.

``resourceVersion`` increases with time across the whole cluster, like etcd's revision: it is
built from the millisecond of the change, the part and a counter, so separately rendered parts
still agree on the order and never collide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import polars as pl

from workbench.kube import Normalizer
from workbench.sources.demo.extras import extra_objects
from workbench.sources.demo.ids import Ids
from workbench.sources.demo.manifests import (
    event_manifest,
    node_manifest,
    workload_manifest,
    workload_revision_times,
)
from workbench.sources.demo.plan import SYSTEM_PART, Plan
from workbench.sources.demo.pods import pod_manifest, pod_revision_times

__all__ = ["render_objects"]

_ORDER = {"Namespace": 0, "Node": 1, "Service": 2, "PersistentVolumeClaim": 2, "ResourceQuota": 2, "CronJob": 3,
          "Deployment": 3, "StatefulSet": 3, "DaemonSet": 3, "Job": 4, "ReplicaSet": 4,
          "HorizontalPodAutoscaler": 4, "Pod": 5, "Event": 6}  # fmt: skip


def render_objects(ids: Ids, plan: Plan, part: int) -> tuple[dict[str, pl.DataFrame], list[str]]:
    """The normaliser's tables for one part (nodes and node events go with the system part)."""
    start, end = plan.start, plan.end
    revs: list[tuple[dt.datetime, int, str, bool, dict[str, Any]]] = []
    p = plan.parts[part]
    if part == SYSTEM_PART:
        for life in plan.nodes:
            times = sorted({start, *(w for w, _ in life.changes if start < w <= end)})
            revs += [(t, 1, life.node.name, False, node_manifest(ids, life, t)) for t in times]
    for w in p.workloads:
        if w.deleted is not None and w.deleted < start:
            continue
        for t in workload_revision_times(w, start, end):
            revs.append((t, _ORDER[w.kind], w.name, False, workload_manifest(ids, w, t)))
        if w.deleted is not None and w.deleted <= end:
            revs.append((w.deleted, _ORDER[w.kind], w.name, True, workload_manifest(ids, w, w.deleted)))
    for pod in p.pods:
        if pod.deleted is not None and pod.deleted < start:
            continue
        for t in pod_revision_times(pod, start, end):
            revs.append((t, 5, pod.name, False, pod_manifest(ids, pod, t)))
        if pod.deleted is not None and pod.deleted <= end:
            revs.append((pod.deleted, 5, pod.name, True, pod_manifest(ids, pod, pod.deleted)))
    for t, obj in extra_objects(ids, plan, part):
        revs.append((t, _ORDER.get(obj["kind"], 2), obj["metadata"]["name"], False, obj))
    events = list(p.events) + (plan.node_events if part == SYSTEM_PART else [])
    for ev in events:
        if ev.first < start or ev.first > end:
            continue
        if ev.last is not None and ev.last > end:  # seen at the end of the window: counted so far
            span = (ev.last - ev.first).total_seconds()
            done = (end - ev.first).total_seconds()
            ev = replace(ev, count=max(1, int(ev.count * done / span)) if span > 0 else ev.count, last=end)
        revs.append((ev.last or ev.first, 6, ev.name, False, event_manifest(ids, ev)))
    revs.sort(key=lambda r: (r[0], r[1], r[2]))
    n = Normalizer(cluster=plan.cluster.name)
    last_ms, k = None, 0
    slot = (part + 1) % 64
    for t, _, _, deleted, obj in revs:
        ms = int(t.timestamp() * 1000)
        k = k + 1 if ms == last_ms else 0
        last_ms = ms
        obj["metadata"]["resourceVersion"] = str((ms * 64 + slot) * 16384 + k % 16384)
        n.add(obj, observed_at=t.astimezone(dt.UTC), deleted=deleted)
    return n.tables(), n.warnings
