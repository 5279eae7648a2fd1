"""Gathering the evidence of pods that could not be scheduled: the pods table (pending now),
Pod revisions in ``objects`` (pending then, PodScheduled=False), FailedScheduling events, and
``exceeded quota`` FailedCreate events of controllers (the pod was never created)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.analyses._kept import kept, signature
from workbench.analyses.manifests._objects import controller_of
from workbench.analyses.pending._messages import parse_quota_message
from workbench.kube import qos_class
from workbench.kube.quantity import effective_pod_resources
from workbench.store import Dataset, to_utc

__all__ = ["Evidence", "collect"]

log = logging.getLogger(__name__)


@dataclass
class Evidence:
    """What is known about one pod that waited for a node (or one refused pod creation)."""

    cluster: str
    namespace: str | None
    pod: str | None
    uid: str | None
    info: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    bound_at: dt.datetime | None = None
    messages: list[tuple[dt.datetime | None, str]] = field(default_factory=list)
    events: int = 0
    sources: set[str] = field(default_factory=set)
    refused: Any = None  # QuotaRefusal for refused creations

    def seen(self, when: dt.datetime | None) -> None:
        if when is None:
            return
        self.first_seen = when if self.first_seen is None else min(self.first_seen, when)
        self.last_seen = when if self.last_seen is None else max(self.last_seen, when)

    def message(self) -> str | None:
        dated = [m for m in self.messages if m[1]]
        if not dated:
            return None
        return max(
            enumerate(dated), key=lambda im: (im[1][0] or dt.datetime.min.replace(tzinfo=dt.UTC), im[0])
        )[1][1]

    def distinct_messages(self) -> list[str]:
        out: list[str] = []
        for _, text in sorted(self.messages, key=lambda m: m[0] or dt.datetime.min.replace(tzinfo=dt.UTC)):
            if text and text not in out:
                out.append(text)
        return out


def _scheduled_condition(status: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled":
            return cond
    return None


#: Snapshots with at most this many object revisions keep their pending Pod revisions (every
#: cluster, namespace and time; a few of their Pods' revisions) in memory, for the last two
#: snapshot versions of a process: a new scope or window parses no manifest again.
KEEP_REVISIONS = 200_000


def _pending_revisions(
    ds: Dataset, cluster: str | None, namespace: str | None, end: dt.datetime
) -> pl.DataFrame:
    """Pod revisions that were Pending without a node (up to ``end``, in time order)."""

    def read(lf: pl.LazyFrame) -> pl.DataFrame:
        lf = lf.filter(pl.col("kind") == "Pod").with_columns(
            pl.col("manifest").str.json_path_match("$.status.phase").alias("_phase"),
            pl.col("manifest").str.json_path_match("$.spec.nodeName").alias("_node"),
        )
        return (
            lf.filter(
                ((pl.col("_phase") == "Pending") | pl.col("_phase").is_null()) & pl.col("_node").is_null()
            )
            .sort("observed_at", maintain_order=True)
            .collect()
        )

    rows = ds.row_counts.get("objects", 0)
    if rows > KEEP_REVISIONS:
        return read(ds.scan("objects", cluster=cluster, namespace=namespace, end=end, latest=False))
    # every version of the snapshot is read once (one that grew is read again), the last two kept
    every = kept("pending revisions", signature(ds), lambda: read(ds.scan("objects", latest=False)), size=2)
    # the rows a scan of the scope up to ``end`` gives
    preds = ds.predicates("objects", cluster=cluster, namespace=namespace, end=end)
    return every.filter(*preds) if preds else every


def _bound_times(
    ds: Dataset, cluster: str | None, uids: list[str], end: dt.datetime
) -> dict[tuple[str, str], dt.datetime]:
    if not uids:
        return {}
    revs = (
        ds.scan("objects", cluster=cluster, end=end, latest=False)
        .filter(pl.col("kind") == "Pod", pl.col("uid").is_in(uids))
        .select("cluster", "uid", "observed_at", "manifest")
        .collect()
    )  # these pods' revisions first: in one lazy filter the JSON would be parsed for every object
    got = (
        revs.filter(pl.col("manifest").str.json_path_match("$.spec.nodeName").is_not_null())
        .group_by("cluster", "uid")
        .agg(pl.col("observed_at").min())
    )
    return {(r["cluster"], r["uid"]): r["observed_at"] for r in got.iter_rows(named=True)}


def _template_info(obj: Mapping[str, Any]) -> dict[str, Any]:
    """QoS class and requests of the pods a controller would create (its pod template)."""
    spec = obj.get("spec") or {}
    template = (
        spec.get("template") or ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    )
    pod_spec = template.get("spec") or {}
    res = effective_pod_resources(pod_spec)
    return {"qos_class": qos_class({"spec": pod_spec}), "cpu_request": res["cpu_request"],
            "memory_request": res["memory_request"], "priority_class": pod_spec.get("priorityClassName")}  # fmt: skip


def _pod_info(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("namespace", "name", "node", "phase", "qos_class", "owner_kind", "owner_name", "workload_kind",
            "workload_name", "created", "scheduled", "deleted", "cpu_request", "memory_request", "priority_class",
            "scheduling_message", "observed_at")  # fmt: skip
    return {k: row.get(k) for k in keys}


def _manifest_info(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    owner = controller_of(meta)
    res = effective_pod_resources(spec)
    return {
        "qos_class": qos_class(obj), "owner_kind": owner[0] if owner else None, "owner_name": owner[1] if owner else None,
        "workload_kind": owner[0] if owner else "Pod", "workload_name": owner[1] if owner else meta.get("name"),
        "created": to_utc(meta["creationTimestamp"]) if meta.get("creationTimestamp") else None,
        "cpu_request": res["cpu_request"], "memory_request": res["memory_request"],
        "priority_class": spec.get("priorityClassName"),
    }  # fmt: skip


def collect(ds: Dataset, *, cluster: str | None, namespace: str | None, start: dt.datetime | None,
            end: dt.datetime) -> list[Evidence]:  # fmt: skip
    """Every pod that waited for a node (or pod creation refused by a quota) in the window."""
    found: dict[tuple[str, str], Evidence] = {}
    pods = ds.pods(cluster=cluster, namespace=namespace)
    by_uid = {(r["cluster"], r["uid"]): r for r in pods.iter_rows(named=True) if r["uid"]}

    def get(cl: str, ns: str | None, name: str | None, uid: str | None) -> Evidence:
        key = (cl, uid or f"{ns}/{name}")
        if key not in found:
            found[key] = Evidence(cluster=cl, namespace=ns, pod=name, uid=uid)
        return found[key]

    # 1. pending now (latest state)
    now = pods.filter(
        (pl.col("phase") == "Pending")
        & pl.col("node").is_null()
        & (pl.col("deleted").is_null() | (pl.col("deleted") > end))
    )
    for r in now.iter_rows(named=True):
        ev = get(r["cluster"], r["namespace"], r["name"], r["uid"])
        ev.sources.add("pods")
        ev.seen(r["observed_at"])
        if r["scheduling_message"]:
            ev.messages.append((r["observed_at"], r["scheduling_message"]))
    # 2. pending then (revisions)
    for r in _pending_revisions(ds, cluster, namespace, end).iter_rows(named=True):
        obj = json.loads(r["manifest"])
        cond = _scheduled_condition(obj.get("status") or {})
        if cond is None or cond.get("status") != "False":
            if r["deleted"] or (r["cluster"], r["uid"]) not in found:
                continue  # not yet seen by the scheduler, or gone
        ev = get(r["cluster"], r["namespace"], r["name"], r["uid"])
        ev.sources.add("objects")
        ev.manifest = obj
        ev.seen(r["observed_at"])
        if cond is not None and cond.get("status") == "False":
            text = cond.get("message") or cond.get("reason")
            ev.messages.append((r["observed_at"], text))
            if cond.get("lastTransitionTime"):
                ev.seen(to_utc(cond["lastTransitionTime"]))
    # 3. FailedScheduling events (an event may name a pod the snapshot never saw)
    events = ds.events(cluster=cluster, start=start, end=end)
    events = events.with_columns(pl.coalesce("involved_namespace", "namespace").alias("_ns"))
    if namespace is not None:
        events = events.filter(pl.col("_ns") == namespace)
    by_name: dict[tuple[str, str | None, str], list[dict[str, Any]]] = {}
    for r in pods.iter_rows(named=True):
        by_name.setdefault((r["cluster"], r["namespace"], r["name"]), []).append(r)
    sched = events.filter(pl.col("reason") == "FailedScheduling",
                          pl.col("involved_kind").is_null() | (pl.col("involved_kind") == "Pod"))  # fmt: skip
    for r in sched.iter_rows(named=True):
        uid = r["involved_uid"]
        if uid is None:
            same = sorted(by_name.get((r["cluster"], r["_ns"], r["involved_name"]), []),
                          key=lambda p: p["created"] or dt.datetime.min.replace(tzinfo=dt.UTC))  # fmt: skip
            first = r["first_time"] or r["last_time"]
            before = [p for p in same if p["created"] is None or first is None or p["created"] <= first]
            uid = (before or same or [{"uid": None}])[-1]["uid"]
        ev = get(r["cluster"], r["_ns"], r["involved_name"], uid)
        ev.sources.add("events")
        ev.events += int(r["count"] or 1)
        ev.seen(r["first_time"])
        ev.seen(r["last_time"])
        ev.messages.append((r["last_time"] or r["first_time"], r["message"]))
    # 4. pod creations refused by a ResourceQuota
    refused = events.filter(
        pl.col("reason") == "FailedCreate", pl.col("message").str.contains("exceeded quota")
    )
    for r in refused.iter_rows(named=True):
        parsed = parse_quota_message(r["message"])
        ev = get(r["cluster"], r["_ns"], None, f"refused:{r['involved_kind']}/{r['involved_name']}")
        ev.uid = None
        ev.sources.add("events")
        ev.refused = parsed
        ev.info.update({"owner_kind": r["involved_kind"], "owner_name": r["involved_name"]})
        ev.events += int(r["count"] or 1)
        ev.seen(r["first_time"])
        ev.seen(r["last_time"])
        ev.messages.append((r["last_time"] or r["first_time"], r["message"]))
    _enrich(ds, list(found.values()), by_uid, end)
    return list(found.values())


def _enrich(
    ds: Dataset, found: list[Evidence], by_uid: Mapping[tuple[str, str], Mapping[str, Any]], end: dt.datetime
) -> None:
    uids = [e.uid for e in found if e.uid]
    bound = _bound_times(ds, None, uids, end)
    for ev in found:
        row = by_uid.get((ev.cluster, ev.uid)) if ev.uid else None
        if row is not None:
            ev.info.update(_pod_info(row))
        elif ev.manifest is not None:
            ev.info.update(_manifest_info(ev.manifest))
        if ev.uid:
            ev.bound_at = ev.info.get("scheduled") or bound.get((ev.cluster, ev.uid))
        if ev.refused is not None:
            _enrich_refused(ds, ev)


def _enrich_refused(ds: Dataset, ev: Evidence) -> None:
    kind, name = ev.info.get("owner_kind"), ev.info.get("owner_name")
    revs = (
        ds.scan("objects", cluster=ev.cluster, namespace=ev.namespace, latest=False)
        .filter(pl.col("kind") == kind, pl.col("name") == name)
        .sort("observed_at")
        .select("manifest")
        .collect()
    )
    if revs.is_empty():
        ev.info.update({"workload_kind": kind, "workload_name": name})
        return
    obj = json.loads(revs["manifest"][-1])
    owner = controller_of(obj.get("metadata") or {})
    ev.info.update(_template_info(obj))
    ev.info.update(
        {"workload_kind": owner[0] if owner else kind, "workload_name": owner[1] if owner else name}
    )
    workload = ds.workloads(cluster=ev.cluster, namespace=ev.namespace).filter(
        pl.col("kind").cast(pl.String) == kind, pl.col("name") == name)  # fmt: skip
    if workload.height:
        w = workload.row(0, named=True)
        ev.info["short"] = (w["desired"] or 0) > (w["current"] or 0)
