"""Evidence from Kubernetes events and manifest changes.

**Warning events** (signal ``warning_events``, or ``restarts`` for "Back-off restarting failed
container", ``node_not_ready`` for NodeNotReady, ``oom_killed`` for OOMKilling when the killed
process names one container on that node). Events are counted per involved object and reason;
an event that spans the window edges counts with the share of its first..last time inside.
For an object and reason, with ``n`` events in the window and ``n_base`` about the same object
in the baseline (scaled to the window's length), and ``r`` events of that reason about any
object in the baseline::

    strength = min(1, ln(1 + n) / ln(11)) × n / (n + n_base) × (0.5 + 0.5 / (1 + ln(1 + r)))

(ten events → full magnitude; repeating what the object already did counts less; a reason that
is common in the cluster counts at most half as much as a rare one).

**Manifest changes** (signal ``manifest_change``):
:func:`workbench.analyses.manifests.what_changed` from ``change_lead`` before the window to its
end. The strength given here is the category's weight (:data:`CATEGORY_WEIGHT`); the roll-up
multiplies it by the change's nearness to the anomalies that follow it (see
:mod:`workbench.analyses.triage`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from typing import Any

import polars as pl

from workbench.analyses import manifests
from workbench.analyses.triage._context import Context, fmt_time, raw, raw_frame
from workbench.analyses.triage._identity import Identity

__all__ = ["CATEGORY_WEIGHT", "change_evidence", "event_evidence"]

log = logging.getLogger(__name__)

#: How much a change of each manifest category can explain (before nearness).
CATEGORY_WEIGHT: dict[str, float] = {
    "image": 1.0, "resources": 0.9, "config": 0.9, "taints": 0.8, "spec": 0.7, "created": 0.6, "deleted": 0.6,
    "replicas": 0.5, "labels": 0.3, "annotations": 0.2, "metadata": 0.2, "status": 0.1,
}  # fmt: skip
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
_KILLED = re.compile(r"Killed process \d+ \(([^)]+)\)")


def _overlap(first: Any, last: Any, lo: dt.datetime, hi: dt.datetime) -> float:
    """The share of an event's first..last span that lies in [lo, hi)."""
    first = first or last
    last = last or first
    if first is None or hi <= lo:
        return 0.0
    if last <= first:
        return 1.0 if lo <= first < hi else 0.0
    inside = (min(last, hi) - max(first, lo)).total_seconds()
    return max(0.0, inside / (last - first).total_seconds())


def _target(
    ident: Identity, kind: str | None, ns: str | None, name: str, cluster: str
) -> tuple[str, str | None, str, str | None] | None:
    """(level, namespace, name, workload kind) an event about ``kind/name`` is evidence on."""
    if kind in (None, "Pod"):
        return "Pod", ns, name, None
    if kind == "Node":
        return "Node", None, name, None
    if kind == "Service":
        return "Service", ns, name, None
    if kind in _WORKLOAD_KINDS:
        owner = ident.controller_owner(cluster, ns, kind, name)
        if owner is not None:
            return "Workload", ns, owner[1], owner[0]
    return None


def event_evidence(ctx: Context, ident: Identity) -> pl.DataFrame:
    """Evidence from Warning events (see the module docstring)."""
    ev = ctx.ds.events(cluster=ctx.cluster, start=ctx.base_start, end=ctx.end, type="Warning")
    if ev.is_empty():
        if ctx.ds.row_counts.get("events", 0) == 0:
            ctx.note("no events in the snapshot: Warning events not used")
        return raw_frame([])
    ev = ev.with_columns(pl.coalesce("involved_namespace", "namespace").alias("_ns"))
    if ctx.namespace is not None:
        ev = ev.filter((pl.col("_ns") == ctx.namespace) | (pl.col("involved_kind") == "Node"))
    pods_nodes = {
        (r["cluster"], r["namespace"], r["pod"]): r["node"]
        for r in ident.pods.iter_rows(named=True)
        if r["node"]
    }
    scale = ctx.minutes / ctx.base_minutes if ctx.has_baseline else 0.0
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    reason_base: dict[str, float] = {}
    for r in ev.sort("first_time", "last_time", "name", nulls_last=True).iter_rows(named=True):
        count = max(1, r["count"] or 1)
        n_w = count * _overlap(r["first_time"], r["last_time"], ctx.start, ctx.end)
        n_b = count * _overlap(r["first_time"], r["last_time"], ctx.base_start, ctx.start)
        reason = r["reason"] or "Warning"
        reason_base[reason] = reason_base.get(reason, 0.0) + n_b
        kind, ns, name, cluster = r["involved_kind"], r["_ns"], r["involved_name"], r["cluster"]
        if name is None:
            continue
        message = (r["message"] or "").strip().splitlines()[0][:200] if r["message"] else ""
        signal, target = _classify(ctx, ident, cluster, kind, ns, name, reason, message, pods_nodes)
        key = (cluster, target, signal, reason)
        g = groups.setdefault(key, {"n": 0.0, "nb": 0.0, "first": None, "message": message, "about": set()})
        g["n"] += n_w
        g["nb"] += n_b
        if n_w > 0:
            t = r["first_time"] or r["last_time"]
            g["first"] = t if g["first"] is None else min(g["first"], t)
            g["message"] = message
            g["about"].add(f"{kind or 'Pod'} {name}")
    rows = []
    for (cluster, target, signal, reason), g in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if g["n"] <= 0:
            continue
        n, nb = g["n"], g["nb"] * scale
        strength = (
            min(1.0, math.log1p(n) / math.log(11))
            * n
            / (n + nb)
            * (0.5 + 0.5 / (1 + math.log1p(reason_base[reason])))
        )
        about = sorted(g["about"])
        what = ", ".join(about[:3]) + (f" and {len(about) - 3} more" if len(about) > 3 else "")
        detail = f"{n:.0f} Warning event(s) {reason} about {what}: {g['message']}"
        level, tns, tname, wkind = target
        if signal == "oom_killed":
            detail = f"the kernel OOM-killed a container of pod {tname} ({what}): {g['message']}"
        first = sorted(about)[0].split(" ", 1)[1]
        how = (
            f"ds.events(cluster={cluster!r}, type='Warning', {ctx.window_args()})"
            f".filter(pl.col('reason') == {reason!r}, pl.col('involved_name') == {first!r})"
        )
        rows.append(
            raw(
                level=level,
                cluster=cluster,
                namespace=tns,
                name=tname,
                workload_kind=wkind,
                signal=signal,
                time=g["first"],
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)


def _classify(
    ctx: Context,
    ident: Identity,
    cluster: str,
    kind: str | None,
    ns: str | None,
    name: str,
    reason: str,
    message: str,
    pods_nodes: dict[tuple[str, str, str], str],
) -> tuple[str, tuple[Any, ...]]:
    """The signal of an event and the (level, namespace, name, workload kind) it is evidence on."""
    target = _target(ident, kind, ns, name, cluster) or ("Other", ns, f"{kind}/{name}", None)
    if reason == "BackOff" and "restarting" in message:
        return "restarts", target
    if reason == "NodeNotReady":
        if kind in (None, "Pod") and (node := pods_nodes.get((cluster, ns, name))):
            return "node_not_ready", ("Node", None, node, None)
        return "node_not_ready", target
    if reason == "OOMKilling" and kind == "Node" and (m := _KILLED.search(message)):
        victim = _oom_victim(ctx, cluster, name, m.group(1))
        if victim is not None:
            return "oom_killed", ("Pod", victim[0], victim[1], None)
    return "warning_events", target


def _oom_victim(ctx: Context, cluster: str, node: str, container: str) -> tuple[str, str] | None:
    """(namespace, pod) of the only pod on ``node`` with a container named ``container``."""
    pods = ctx.ds.scan("pods", cluster=cluster, node=node).select("namespace", "name", "uid").collect()
    if pods.is_empty():
        return None
    cont = (
        ctx.ds.scan("containers", cluster=cluster)
        .filter(pl.col("name") == container)
        .filter(pl.col("pod_uid").is_in(pods["uid"].implode()))
        .select("namespace", "pod")
        .unique()
        .collect()
    )
    if cont.height == 1:
        return cont.row(0)  # type: ignore[return-value]
    return None


def change_evidence(ctx: Context, ident: Identity) -> pl.DataFrame:
    """Manifest changes from ``change_lead`` before the window to its end, with the category's
    weight as strength (nearness is applied at roll-up)."""
    if ctx.ds.row_counts.get("objects", 0) == 0:
        ctx.note("no object revisions in the snapshot: manifest changes not used")
        return raw_frame([])
    lo = max(ctx.start - ctx.change_lead, ctx.ds.window[0] or ctx.start - ctx.change_lead)
    changes = manifests.what_changed(
        ctx.ds, cluster=ctx.cluster, namespace=ctx.namespace, start=lo, end=ctx.end, around=ctx.start
    )
    if changes.is_empty():
        return raw_frame([])
    rows = []
    group_cols = ["cluster", "kind", "namespace", "name", "time", "category"]
    per = changes.group_by(group_cols, maintain_order=True).agg(
        pl.col("path"), pl.col("old").first(), pl.col("new").first()
    )
    for r in per.sort("time", "kind", "name", "category").iter_rows(named=True):
        kind, name, ns = r["kind"], r["name"], r["namespace"]
        paths = ", ".join(p for p in r["path"] if p)
        if r["category"] in ("created", "deleted"):
            what = f"{kind}/{name} was {r['category']}"
        elif r["category"] == "image":
            what = f"{kind}/{name} image changed from {r['old']} to {r['new']}"
        else:
            what = f"{kind}/{name} {r['category']} changed ({paths[:160]})" + (
                f": {r['old']} → {r['new']}" if len(r["path"]) == 1 and r["old"] is not None else ""
            )
        detail = f"{what} at {fmt_time(r['time'])}"
        how = (
            f"notebooks/manifest_history.ipynb cluster={r['cluster']} kind={kind} namespace={ns or ''} "
            f"object_name={name} around={fmt_time(r['time'])}"
        )
        if kind == "Node":
            target = ("Node", None, name, None)
        elif kind == "Service":
            target = ("Service", ns, name, None)
        elif kind in _WORKLOAD_KINDS:
            owner = ident.controller_owner(r["cluster"], ns, kind, name)
            target = ("Workload", ns, owner[1], owner[0]) if owner else ("Other", ns, f"{kind}/{name}", None)
        elif kind == "HorizontalPodAutoscaler":
            same = ident.service_target(r["cluster"], ns, name)
            target = same if same[0] == "Workload" else ("Other", ns, f"{kind}/{name}", None)
        else:
            target = ("Other", ns, f"{kind}/{name}", None)
        rows.append(
            raw(
                level=target[0],
                cluster=r["cluster"],
                namespace=target[1],
                name=target[2],
                workload_kind=target[3],
                signal="manifest_change",
                time=r["time"],
                strength=CATEGORY_WEIGHT.get(r["category"], 0.3),
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)
