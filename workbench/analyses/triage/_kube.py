"""Evidence from the cluster's state: pending pods, container terminations, failing pods, nodes.

- ``pending_pods``: :func:`workbench.analyses.pending.pending_pods` for the window (pods that
  waited for a node, and pod creations a ResourceQuota refused). strength = min(1, minutes
  pending in the window / 5) when the wait began in the window; 0.5 when it began in the
  baseline, 0.3 when earlier.
- ``restarts`` / ``oom_killed``: container restarts (``lastState.terminated`` of every Pod
  revision in the ``objects`` table, a current ``state.terminated`` that is an OOM kill, and
  the ``containers`` table's last termination) that finished in the window, except clean
  exits (a pod's shutdown is not a restart); ``restarts``
  strength = 1 − 0.5ⁿ for n terminations of a container, ``oom_killed`` 1.
- ``failing_pods``: Pod revisions observed in the window whose kubectl STATUS is an error
  (:data:`FAILING` or ``Init:…`` errors): strength 1 when the pod was not failing in the
  baseline, 0.5 when it already was. Without Pod revisions, the ``pods`` table's status of pods
  created in the baseline or the window.
- ``node_not_ready``: a node condition (``status.conditions`` of the Node's revisions and the
  ``nodes`` table) that turned bad in the window: Ready False/Unknown (strength 1), a pressure
  condition True (0.7).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import polars as pl

from workbench.analyses import pending
from workbench.analyses.triage._context import Context, fmt_time, raw, raw_frame
from workbench.kube import pod_status
from workbench.kube._common import parse_time

__all__ = ["FAILING", "container_evidence", "node_evidence", "pending_evidence"]

log = logging.getLogger(__name__)

#: kubectl STATUS texts of a pod that is failing (``Init:`` variants of the errors count too).
FAILING: frozenset[str] = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "Error", "OOMKilled", "Evicted", "ContainerStatusUnknown",
    "StartError", "DeadlineExceeded", "NodeLost", "UnexpectedAdmissionError",
})  # fmt: skip
_CLEAN = {"Completed"}


def _is_failing(status: str | None) -> bool:
    if not status:
        return False
    return status in FAILING or (status.startswith("Init:") and status[5:] in FAILING | {"Error"})


def pending_evidence(ctx: Context) -> pl.DataFrame:
    """``pending_pods`` evidence from the pending pod analysis."""
    if ctx.ds.row_counts.get("pods", 0) == 0 and ctx.ds.row_counts.get("events", 0) == 0:
        return raw_frame([])
    got = pending.pending_pods(
        ctx.ds, cluster=ctx.cluster, namespace=ctx.namespace, start=ctx.start, end=ctx.end
    )
    rows = []
    for r in got.sort("cluster", "namespace", "pod", "owner_name", nulls_last=True).iter_rows(named=True):
        since = r["pending_since"] or r["created"] or ctx.start
        until = min(r["pending_until"] or ctx.end, ctx.end)
        minutes = max(0.0, (until - max(since, ctx.start)).total_seconds() / 60)
        if since >= ctx.start:
            strength = min(1.0, max(minutes, 0.5) / 5)
        else:
            strength = 0.5 if since >= ctx.base_start else 0.3
        reason = r["primary"] or "unknown reason"
        message = (r["message"] or "").splitlines()[0][:200] if r["message"] else ""
        if r["state"] == "refused":
            subject = f"{r['owner_kind']} {r['owner_name']} could not create pods"
            level, name, kind = (
                "Workload",
                r["workload_name"] or r["owner_name"],
                r["workload_kind"] or r["owner_kind"],
            )
        else:
            subject = f"pod {r['pod']} waited for a node ({r['state']})"
            level, name, kind = "Pod", r["pod"], None
        detail = f"{subject} from {fmt_time(since)}, {reason}: {message}"
        how = (
            f"notebooks/pending_pods.ipynb cluster={r['cluster']} namespace={r['namespace']} "
            f"start={fmt_time(ctx.start)} end={fmt_time(ctx.end)}"
        )
        rows.append(
            raw(
                level=level,
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=name,
                workload_kind=kind,
                signal="pending_pods",
                time=since,
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)


def _pod_revisions(ctx: Context) -> pl.DataFrame:
    lf = ctx.ds.scan(
        "objects",
        cluster=ctx.cluster,
        namespace=ctx.namespace,
        start=ctx.base_start,
        end=ctx.end,
        latest=False,
    )
    return (
        lf.filter(pl.col("kind") == "Pod")
        .select("cluster", "namespace", "name", "observed_at", "manifest")
        .sort("observed_at", "name")
        .collect()
    )


def _terminations(status: dict[str, Any], *, deleting: bool) -> list[tuple[str, bool, str, Any, Any]]:
    """(container, is_init, reason, finished_at, exit_code) of the restarts a pod status shows:
    its containers' last terminations, and a current one when it was an OOM kill (not while
    the pod is being deleted: that is a shutdown, not a restart)."""
    out = []
    for key, init in (("containerStatuses", False), ("initContainerStatuses", True)):
        for cs in status.get(key) or []:
            now = (cs.get("state") or {}).get("terminated")
            for term in ((cs.get("lastState") or {}).get("terminated"), None if deleting else now):
                if term is now and (not isinstance(term, dict) or term.get("reason") != "OOMKilled"):
                    continue  # a container that ended (and is not restarted yet) counts only when OOM-killed
                if isinstance(term, dict) and term.get("finishedAt"):
                    out.append(
                        (
                            cs.get("name"),
                            init,
                            term.get("reason") or "",
                            term.get("finishedAt"),
                            term.get("exitCode"),
                        )
                    )
    return out


def container_evidence(ctx: Context) -> pl.DataFrame:
    """``restarts``, ``oom_killed`` and ``failing_pods`` evidence from Pod revisions and the
    pods/containers tables."""
    terms: dict[tuple[str, str, str, str, dt.datetime], tuple[str, bool, Any]] = {}
    failing: dict[tuple[str, str, str], dict[str, Any]] = {}
    revs = _pod_revisions(ctx)
    for r in revs.iter_rows(named=True):
        try:
            obj = json.loads(r["manifest"])
        except (TypeError, ValueError):
            continue
        status = obj.get("status") or {}
        deleting = bool((obj.get("metadata") or {}).get("deletionTimestamp"))
        for name, init, reason, finished, code in _terminations(status, deleting=deleting):
            at = parse_time(finished)
            if at is not None and (reason not in _CLEAN or code not in (0, None)):
                terms[(r["cluster"], r["namespace"], r["name"], name, at)] = (reason, init, code)
        text = pod_status(obj)
        if _is_failing(text):
            key = (r["cluster"], r["namespace"], r["name"])
            f = failing.setdefault(key, {"statuses": [], "first": None, "before": False})
            if r["observed_at"] < ctx.start:
                f["before"] = True
            else:
                f["first"] = f["first"] or r["observed_at"]
                if text not in f["statuses"]:
                    f["statuses"].append(text)
    cont = (
        ctx.ds.scan("containers", cluster=ctx.cluster, namespace=ctx.namespace)
        .filter(pl.col("last_finished_at").is_between(ctx.start, ctx.end, closed="left"))
        .collect()
    )
    for r in cont.iter_rows(named=True):
        reason, code = r["last_reason"] or "", r["last_exit_code"]
        if reason not in _CLEAN or code not in (0, None):
            terms.setdefault(
                (r["cluster"], r["namespace"], r["pod"], r["name"], r["last_finished_at"]),
                (reason, bool(r["is_init"]), code),
            )
    if revs.is_empty():
        pods = (
            ctx.ds.scan(
                "pods", cluster=ctx.cluster, namespace=ctx.namespace, start=ctx.base_start, end=ctx.end
            )
            .filter(pl.col("created") >= ctx.base_start)
            .collect()
        )
        for r in pods.iter_rows(named=True):
            if _is_failing(r["status"]):
                failing[(r["cluster"], r["namespace"], r["name"])] = {
                    "statuses": [r["status"]],
                    "first": max(r["created"], ctx.start),
                    "before": False,
                }
    return raw_frame([*_termination_rows(ctx, terms), *_failing_rows(ctx, failing)])


def _termination_rows(
    ctx: Context, terms: dict[tuple[Any, ...], tuple[str, bool, Any]]
) -> list[dict[str, Any]]:
    per: dict[tuple[Any, ...], list[tuple[dt.datetime, str, bool, Any]]] = {}
    for (c, ns, pod, container, at), (reason, init, code) in terms.items():
        if ctx.start <= at < ctx.end:
            per.setdefault((c, ns, pod, container), []).append((at, reason, init, code))
    rows = []
    for (c, ns, pod, container), items in sorted(per.items(), key=lambda kv: tuple(map(str, kv[0]))):
        items.sort(key=lambda x: x[0])
        n, init = len(items), "init " if items[0][2] else ""
        reasons = sorted({f"{x[1] or 'terminated'} (exit {x[3]})" for x in items})
        how = f"ds.containers(cluster={c!r}, pod={pod!r})  # and notebooks/pod_view.ipynb"
        rows.append(
            raw(
                level="Pod",
                cluster=c,
                namespace=ns,
                name=pod,
                signal="restarts",
                time=items[0][0],
                strength=1 - 0.5**n,
                detail=f"{init}container {container} of pod {pod} terminated {n} time(s) in the window "
                f"(first at {fmt_time(items[0][0])}): {', '.join(reasons)}",
                how_to_see=how,
            )
        )
        ooms = [x for x in items if x[1] == "OOMKilled"]
        if ooms:
            rows.append(
                raw(
                    level="Pod",
                    cluster=c,
                    namespace=ns,
                    name=pod,
                    signal="oom_killed",
                    time=ooms[0][0],
                    strength=1.0,
                    detail=f"{init}container {container} of pod {pod} was OOM-killed {len(ooms)} "
                    f"time(s), first at {fmt_time(ooms[0][0])}",
                    how_to_see=how,
                )
            )
    return rows


def _failing_rows(ctx: Context, failing: dict[tuple[str, str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for (c, ns, pod), f in sorted(failing.items()):
        if f["first"] is None:
            continue
        detail = f"pod {pod} was {', '.join(f['statuses'])} from {fmt_time(f['first'])}" + (
            " (already failing before the window)" if f["before"] else ""
        )
        rows.append(
            raw(
                level="Pod",
                cluster=c,
                namespace=ns,
                name=pod,
                signal="failing_pods",
                time=f["first"],
                strength=0.5 if f["before"] else 1.0,
                detail=detail,
                how_to_see=f"ds.pods(cluster={c!r}, pod={pod!r}); ds.events(cluster={c!r}, pod={pod!r})",
            )
        )
    return rows


def _bad(cond: dict[str, Any]) -> float:
    kind, status = cond.get("type"), cond.get("status")
    if kind == "Ready" and status in ("False", "Unknown"):
        return 1.0
    if isinstance(kind, str) and kind.endswith("Pressure") and status == "True":
        return 0.7
    return 0.0


def node_evidence(ctx: Context) -> pl.DataFrame:
    """``node_not_ready`` evidence from node conditions (see the module docstring)."""
    texts: list[tuple[str, str, str | None]] = []
    revs = (
        ctx.ds.scan("objects", cluster=ctx.cluster, start=ctx.base_start, end=ctx.end, latest=False)
        .filter(pl.col("kind") == "Node")
        .select("cluster", "name", "manifest")
        .collect()
    )
    for r in revs.iter_rows(named=True):
        try:
            conds = (json.loads(r["manifest"]).get("status") or {}).get("conditions") or []
        except (TypeError, ValueError):
            continue
        texts.append((r["cluster"], r["name"], json.dumps(conds)))
    nodes = ctx.ds.scan("nodes", cluster=ctx.cluster).select("cluster", "name", "conditions").collect()
    texts += [(r["cluster"], r["name"], r["conditions"]) for r in nodes.iter_rows(named=True)]
    seen: dict[tuple[str, str, str, str], tuple[dt.datetime, float, str]] = {}
    for cluster, name, text in texts:
        try:
            conds = json.loads(text) if text else []
        except ValueError:
            continue
        for cond in conds if isinstance(conds, list) else []:
            weight = _bad(cond) if isinstance(cond, dict) else 0.0
            at = parse_time(cond.get("lastTransitionTime")) if weight else None
            if at is None or not (ctx.start <= at < ctx.end):
                continue
            key = (cluster, name, cond.get("type"), cond.get("status"))
            why = (cond.get("message") or cond.get("reason") or "").strip()[:160]
            seen.setdefault(key, (at, weight, why))
    rows = []
    for (cluster, name, kind, status), (at, weight, why) in sorted(
        seen.items(), key=lambda kv: tuple(map(str, kv[0]))
    ):
        rows.append(
            raw(
                level="Node",
                cluster=cluster,
                namespace=None,
                name=name,
                signal="node_not_ready",
                time=at,
                strength=weight,
                detail=f"node {name} condition {kind}={status} from {fmt_time(at)}: {why}",
                how_to_see=f"ds.nodes(cluster={cluster!r}, node={name!r}); "
                f"notebooks/manifest_history.ipynb kind=Node object_name={name}",
            )
        )
    return raw_frame(rows)
