"""Would a pending pod fit somewhere: per node at the moment it waited, and for the cluster as a
whole ("the cluster needs N more cores / GiB for all pending pods")."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

import polars as pl

from workbench.analyses.manifests._objects import TS, empty
from workbench.analyses.pending._capacity import Capacity, node_blockers
from workbench.analyses.pending._messages import RESOURCE_CATEGORIES
from workbench.store import Dataset

#: Scheduler reasons the per-node check cannot fully judge from a snapshot (volumes, pod affinity,
#: spread, host ports held by pods the snapshot may not hold…); a fitting node then says so.
UNMODELLED: frozenset[str] = frozenset(
    {
        "host_ports",
        "pvc_missing",
        "pvc_unbound",
        "volume",
        "pod_affinity",
        "topology_spread",
        "scheduling_gated",
        "other",
    }
)

__all__ = ["FIT_COLUMNS", "SHORTFALL_COLUMNS", "fit_rows", "fmt_bytes", "fmt_cpu", "shortfall_rows"]

FIT_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "at": TS,
    "node": pl.String(),
    "candidate": pl.Boolean(),
    "blocked_by": pl.String(),
    "cpu_request": pl.Float64(),
    "memory_request": pl.Int64(),
    "cpu_free": pl.Float64(),
    "memory_free": pl.Int64(),
    "pods_free": pl.Int64(),
    "fits": pl.Boolean(),
    "cpu_short": pl.Float64(),
    "memory_short": pl.Int64(),
    "advice": pl.String(),
}

SHORTFALL_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "at": TS,
    "pending_pods": pl.Int64(),
    "resource_pods": pl.Int64(),
    "placeable_now": pl.Int64(),
    "unplaced": pl.Int64(),
    "blocked_other": pl.Int64(),
    "larger_than_any_node": pl.Int64(),
    "cpu_needed": pl.Float64(),
    "memory_needed": pl.Int64(),
    "summary": pl.String(),
}

GIB = 1 << 30


def _num(value: float, *, down: bool) -> str:
    value = math.floor(value * 100) / 100 if down else round(value, 2)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fmt_cpu(cores: float | None, *, down: bool = False) -> str:
    """``0.25`` → ``"250m"``, ``3.5`` → ``"3.5 cores"``; ``down`` rounds down (for "≤" advice).

    >>> fmt_cpu(0.25), fmt_cpu(5.678), fmt_cpu(5.678, down=True)
    ('250m', '5.68 cores', '5.67 cores')
    """
    if cores is None:
        return "?"
    if abs(cores) < 1:
        return f"{math.floor(cores * 1000) if down else round(cores * 1000)}m"
    return _num(cores, down=down) + " cores"


def fmt_bytes(n: float | None, *, down: bool = False) -> str:
    """Bytes as GiB or MiB text (``down`` rounds down)."""
    if n is None:
        return "?"
    if abs(n) >= GIB:
        return _num(n / GIB, down=down) + " GiB"
    mib = n / (1 << 20)
    return f"{math.floor(mib) if down else round(mib)} MiB"


def _advice(node: str, *, candidate: bool, blocked: str | None, fits: bool, cpu_req: float, mem_req: int,
            cpu_free: float | None, mem_free: int | None, pods_free: int | None) -> str:  # fmt: skip
    if not candidate:
        return f"not a candidate ({blocked})"
    if fits:
        return f"fits on {node} ({fmt_cpu(cpu_free)} cpu and {fmt_bytes(mem_free)} memory free)"
    parts = []
    if cpu_free is not None and cpu_req > cpu_free:
        parts.append(
            f"its cpu request were ≤ {fmt_cpu(max(cpu_free, 0.0), down=True)} (it is {fmt_cpu(cpu_req)})"
        )
    if mem_free is not None and mem_req > mem_free:
        parts.append(
            f"its memory request were ≤ {fmt_bytes(max(mem_free, 0), down=True)} (it is {fmt_bytes(mem_req)})"
        )
    if pods_free is not None and pods_free < 1:
        parts.append("a pod slot were freed")
    return f"fits on {node} if " + " and ".join(parts) if parts else f"fits on {node}"


def _specs(ds: Dataset, rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The pod spec of each pending pod as of the moment it is judged at."""
    uids = [r["uid"] for r in rows if r["uid"]]
    if not uids:
        return {}
    revs = (
        ds.scan("objects", latest=False)
        .filter(pl.col("kind") == "Pod", pl.col("uid").is_in(uids), ~pl.col("deleted"))
        .select("cluster", "uid", "observed_at", "manifest")
        .sort("observed_at")
        .collect()
    )
    moments = {(r["cluster"], r["uid"]): r["_at"] for r in rows}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in revs.iter_rows(named=True):
        key = (r["cluster"], r["uid"])
        if key in moments and (key not in out or r["observed_at"] <= moments[key]):
            out[key] = json.loads(r["manifest"]).get("spec") or {}
    return out


def _moment(row: dict[str, Any], end: dt.datetime) -> dt.datetime:
    """A pod is judged when it last waited: the snapshot end if still pending, else the last
    evidence of waiting (just before it got a node)."""
    if row["still_pending"]:
        return end
    last = row["last_seen"] or row["pending_until"] or end
    return min(last, row["pending_until"] or last)


#: How the node and pod revisions of a cluster up to a moment are had: ``Capacity`` itself, or
#: :class:`~workbench.analyses.pending._capacity.Capacities` (kept between calls).
CapacityOf = Callable[[str | None, dt.datetime | None], Capacity]


def _build(ds: Dataset) -> CapacityOf:
    """Capacities built for this call (once per cluster and moment)."""
    kept: dict[tuple[str | None, dt.datetime | None], Capacity] = {}

    def of(cluster: str | None, end: dt.datetime | None) -> Capacity:
        if (cluster, end) not in kept:
            kept[(cluster, end)] = Capacity(ds, cluster=cluster, end=end)
        return kept[(cluster, end)]

    return of


def fit_rows(
    ds: Dataset, pending: pl.DataFrame, *, end: dt.datetime, capacity: CapacityOf | None = None
) -> pl.DataFrame:
    """One row per pending pod (with a known spec) and node (:data:`FIT_COLUMNS`). ``capacity``:
    where each cluster's :class:`Capacity` up to ``end`` comes from (built here when not given)."""
    rows = [
        {**r, "_at": _moment(r, end)}
        for r in pending.filter(pl.col("uid").is_not_null()).iter_rows(named=True)
    ]
    if not rows:
        return empty(FIT_COLUMNS)
    specs = _specs(ds, rows)
    capacity = capacity or _build(ds)
    heads: dict[tuple[str, dt.datetime], pl.DataFrame] = {}
    out = []
    for r in rows:
        spec = specs.get((r["cluster"], r["uid"]))
        if spec is None:
            continue
        cap = capacity(r["cluster"], end)
        if (r["cluster"], r["_at"]) not in heads:
            heads[(r["cluster"], r["_at"])] = cap.at(r["_at"])
        head = heads[(r["cluster"], r["_at"])]
        cpu_req, mem_req = r["cpu_request"] or 0.0, r["memory_request"] or 0
        others = sorted(set(r["categories"] or []) & UNMODELLED)
        for n in head.iter_rows(named=True):
            blocked = node_blockers(spec, n)
            candidate = not blocked
            cpu_free, mem_free, pods_free = n["cpu_free"], n["memory_free"], n["pods_free"]
            fits = candidate and (cpu_free is None or cpu_req <= cpu_free + 1e-9) and (
                mem_free is None or mem_req <= mem_free) and (pods_free is None or pods_free >= 1)  # fmt: skip
            out.append({
                "cluster": r["cluster"], "namespace": r["namespace"], "pod": r["pod"], "at": r["_at"], "node": n["node"],
                "candidate": candidate, "blocked_by": ", ".join(blocked) or None, "cpu_request": r["cpu_request"],
                "memory_request": r["memory_request"], "cpu_free": cpu_free, "memory_free": mem_free,
                "pods_free": pods_free, "fits": fits,
                "cpu_short": max(cpu_req - cpu_free, 0.0) if cpu_free is not None else None,
                "memory_short": max(mem_req - mem_free, 0) if mem_free is not None else None,
                "advice": _advice(n["node"], candidate=candidate, blocked=", ".join(blocked), fits=fits, cpu_req=cpu_req,
                                  mem_req=mem_req, cpu_free=cpu_free, mem_free=mem_free, pods_free=pods_free)
                + (f"; the scheduler also reported {', '.join(others)}, which the snapshot does not explain here"
                   if others and candidate else ""),
            })  # fmt: skip
    if not out:
        return empty(FIT_COLUMNS)
    return pl.DataFrame(out, schema=FIT_COLUMNS).sort(
        ["cluster", "namespace", "pod", "candidate", "fits", "cpu_short"],
        descending=[False, False, False, True, True, False],
    )


def shortfall_rows(ds: Dataset, pending: pl.DataFrame, *, at: dt.datetime,
                   capacity: CapacityOf | None = None) -> pl.DataFrame:  # fmt: skip
    """Per cluster: can the still-pending pods be placed on the free allocatable at ``at``?
    (:data:`SHORTFALL_COLUMNS`). Pods whose primary reason is a resource one are placed greedily,
    largest cpu request first, each on the candidate node where it fits tightest; what is left
    is what the cluster lacks. Pods held back by anything else (a selector, a taint, a missing
    claim, a quota) count in ``blocked_other``: more capacity would not help them. ``capacity``
    as for :func:`fit_rows`."""
    capacity = capacity or _build(ds)
    waiting = pending.filter(pl.col("still_pending"))
    out = []
    for cluster in sorted(waiting["cluster"].unique().to_list()):
        pods = waiting.filter(pl.col("cluster") == cluster)
        resource = pods.filter(
            pl.col("primary").is_in(list(RESOURCE_CATEGORIES)) & pl.col("uid").is_not_null()
        )
        rows = [{**r, "_at": at} for r in resource.iter_rows(named=True)]
        specs = _specs(ds, rows)
        head = capacity(cluster, at).at(at)
        free = {
            n["node"]: [n["cpu_free"] or 0.0, n["memory_free"] or 0, n["pods_free"] or 0, n]
            for n in head.iter_rows(named=True)
        }
        placed = unplaced = too_big = 0
        cpu_needed, mem_needed = 0.0, 0
        for r in sorted(rows, key=lambda r: (-(r["cpu_request"] or 0), -(r["memory_request"] or 0))):
            spec = specs.get((r["cluster"], r["uid"]), {})
            cpu, mem = r["cpu_request"] or 0.0, r["memory_request"] or 0
            options = [(name, f) for name, f in free.items() if not node_blockers(spec, f[3])]
            fitting = [(name, f) for name, f in options if f[0] + 1e-9 >= cpu and f[1] >= mem and f[2] >= 1]
            if fitting:
                name, f = min(fitting, key=lambda nf: (nf[1][0] - cpu, nf[1][1] - mem))
                f[0], f[1], f[2] = f[0] - cpu, f[1] - mem, f[2] - 1
                placed += 1
                continue
            unplaced += 1
            cpu_needed += cpu
            mem_needed += mem
            biggest_cpu = max((f[3]["cpu_allocatable"] or 0 for _, f in options), default=0)
            biggest_mem = max((f[3]["memory_allocatable"] or 0 for _, f in options), default=0)
            too_big += int(cpu > biggest_cpu or mem > biggest_mem)
        other = pods.height - resource.height
        text = (
            f"the cluster needs {fmt_cpu(cpu_needed)} and {fmt_bytes(mem_needed)} more for {unplaced} pending pod(s)"
            if unplaced
            else "the free allocatable is enough for the pods waiting for resources"
        )
        if too_big:
            text += f"; {too_big} of them request more than any candidate node's allocatable"
        if other:
            text += f"; {other} pod(s) wait for something other than capacity"
        out.append({"cluster": cluster, "at": at, "pending_pods": pods.height, "resource_pods": resource.height,
                    "placeable_now": placed, "unplaced": unplaced, "blocked_other": other,
                    "larger_than_any_node": too_big, "cpu_needed": cpu_needed, "memory_needed": mem_needed,
                    "summary": text})  # fmt: skip
    if not out:
        return empty(SHORTFALL_COLUMNS)
    return pl.DataFrame(out, schema=SHORTFALL_COLUMNS)
