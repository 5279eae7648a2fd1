"""The pending pods as a table, their reasons one per row, and counts by group."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from workbench.analyses.manifests._objects import TS, empty
from workbench.analyses.pending._collect import Evidence
from workbench.analyses.pending._messages import parse_message
from workbench.errors import ParameterError

__all__ = ["GROUPS", "PENDING_COLUMNS", "REASON_COLUMNS", "SUMMARY_COLUMNS", "frame", "reasons", "summary"]

PENDING_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "uid": pl.String(),
    "state": pl.String(),
    "still_pending": pl.Boolean(),
    "workload_kind": pl.String(),
    "workload_name": pl.String(),
    "owner_kind": pl.String(),
    "owner_name": pl.String(),
    "qos_class": pl.String(),
    "priority_class": pl.String(),
    "cpu_request": pl.Float64(),
    "memory_request": pl.Int64(),
    "node": pl.String(),
    "created": TS,
    "pending_since": TS,
    "pending_until": TS,
    "pending_for": pl.Duration("us"),
    "primary": pl.String(),
    "categories": pl.List(pl.String()),
    "nodes_total": pl.Int32(),
    "message": pl.String(),
    "messages": pl.Int32(),
    "preemption": pl.String(),
    "detail": pl.String(),
    "events": pl.Int32(),
    "last_seen": TS,
    "sources": pl.List(pl.String()),
}

REASON_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "workload_name": pl.String(),
    "qos_class": pl.String(),
    "state": pl.String(),
    "category": pl.String(),
    "nodes": pl.Int32(),
    "nodes_total": pl.Int32(),
    "primary": pl.Boolean(),
    "detail": pl.String(),
    "text": pl.String(),
}

#: What :func:`summary` can group by (``workload`` means workload_kind and workload_name).
GROUPS: tuple[str, ...] = ("cluster", "namespace", "workload", "qos_class", "primary", "state")

_STATS: dict[str, pl.DataType] = {
    "pods": pl.Int64(),
    "still_pending": pl.Int64(),
    "cpu_request": pl.Float64(),
    "memory_request": pl.Int64(),
    "pending_for_mean": pl.Duration("us"),
    "pending_for_max": pl.Duration("us"),
    "top_category": pl.String(),
}
SUMMARY_COLUMNS = _STATS


def _row(ev: Evidence, end: dt.datetime) -> dict[str, Any]:
    info = ev.info
    message = ev.message()
    if ev.refused is not None:
        state = "refused"
        still = bool(info.get("short", True))
        since = ev.first_seen
        until = end if still else ev.last_seen
        parsed_primary, categories, total, preemption = "quota_exceeded", ["quota_exceeded"], None, None
        detail = ev.refused.detail if ev.refused else None
    else:
        deleted = info.get("deleted")
        if ev.bound_at is not None and ev.bound_at <= end:
            state, until = "scheduled", ev.bound_at
        elif deleted is not None and deleted <= end:
            state, until = "deleted", deleted
        else:
            state, until = "pending", end
        still = state == "pending"
        since = info.get("created") or ev.first_seen
        parsed = parse_message(message)
        parsed_primary, categories, total = parsed.primary, parsed.categories, parsed.nodes_total
        preemption = parsed.preemption
        details = [f"{r.category}: {r.detail}" for r in parsed.reasons if r.detail]
        detail = "; ".join(dict.fromkeys(details)) or None
    if since is not None and until is not None and until < since:
        until = since
    return {
        "cluster": ev.cluster, "namespace": ev.namespace, "pod": ev.pod, "uid": ev.uid, "state": state,
        "still_pending": still, "workload_kind": info.get("workload_kind"), "workload_name": info.get("workload_name"),
        "owner_kind": info.get("owner_kind"), "owner_name": info.get("owner_name"),
        "qos_class": None if info.get("qos_class") is None else str(info["qos_class"]),
        "priority_class": info.get("priority_class"), "cpu_request": info.get("cpu_request"),
        "memory_request": info.get("memory_request"), "node": info.get("node"), "created": info.get("created"),
        "pending_since": since, "pending_until": until,
        "pending_for": (until - since) if since is not None and until is not None else None,
        "primary": parsed_primary, "categories": categories, "nodes_total": total, "message": message,
        "messages": len(ev.distinct_messages()), "preemption": preemption, "detail": detail, "events": ev.events,
        "last_seen": ev.last_seen, "sources": sorted(ev.sources),
    }  # fmt: skip


def frame(
    found: list[Evidence], *, start: dt.datetime | None, end: dt.datetime, include_past: bool
) -> pl.DataFrame:
    """The pending pods table (:data:`PENDING_COLUMNS`): still pending first, longest waits first."""
    rows = [_row(ev, end) for ev in found]
    if not rows:
        return empty(PENDING_COLUMNS)
    out = pl.DataFrame(rows, schema=PENDING_COLUMNS)
    if start is not None:
        out = out.filter(pl.col("pending_until").is_null() | (pl.col("pending_until") >= start))
    out = out.filter(pl.col("pending_since").is_null() | (pl.col("pending_since") <= end))
    if not include_past:
        out = out.filter(pl.col("still_pending"))
    return out.sort(
        ["still_pending", "pending_for", "cluster", "namespace", "pod"],
        descending=[True, True, False, False, False],
        nulls_last=True,
    )


def reasons(pending: pl.DataFrame) -> pl.DataFrame:
    """One row per pending pod and reason of its latest scheduler message (:data:`REASON_COLUMNS`):
    the category, how many nodes gave it, its detail (the taint, the resource, the claim, the
    quota) and whether it is the pod's primary reason. Takes :func:`pending_pods` output."""
    rows = []
    for r in pending.iter_rows(named=True):
        base = {k: r[k] for k in ("cluster", "namespace", "pod", "workload_name", "qos_class", "state")}
        if r["state"] == "refused":
            rows.append({**base, "category": "quota_exceeded", "nodes": None, "nodes_total": None, "primary": True,
                         "detail": r["detail"], "text": r["message"]})  # fmt: skip
            continue
        parsed = parse_message(r["message"])
        for reason in parsed.reasons:
            rows.append({**base, "category": reason.category, "nodes": reason.nodes, "nodes_total": parsed.nodes_total,
                         "primary": reason.category == parsed.primary, "detail": reason.detail, "text": reason.text})  # fmt: skip
    if not rows:
        return empty(REASON_COLUMNS)
    return pl.DataFrame(rows, schema=REASON_COLUMNS)


def summary(pending: pl.DataFrame, *, by: str | tuple[str, ...] = "qos_class") -> pl.DataFrame:
    """Pending pods counted by group (``by``: some of :data:`GROUPS`), most pods first: pods,
    still pending, summed requests, mean and longest wait, and the most common primary reason."""
    groups = (by,) if isinstance(by, str) else tuple(by)
    bad = [g for g in groups if g not in GROUPS]
    if bad or not groups:
        msg = f"summary can group by {', '.join(GROUPS)} (got {', '.join(map(repr, bad)) or 'nothing'})"
        raise ParameterError(msg)
    cols = [c for g in groups for c in (("workload_kind", "workload_name") if g == "workload" else (g,))]
    schema = {c: pl.String() for c in cols} | _STATS
    if pending.is_empty():
        return empty(schema)
    out = pending.group_by(cols).agg(
        pl.len().cast(pl.Int64).alias("pods"),
        pl.col("still_pending").sum().cast(pl.Int64),
        pl.col("cpu_request").sum(),
        pl.col("memory_request").sum().cast(pl.Int64),
        pl.col("pending_for").mean().alias("pending_for_mean"),
        pl.col("pending_for").max().alias("pending_for_max"),
        pl.col("primary").drop_nulls().mode().sort().first().alias("top_category"),
    )
    return out.sort(["pods", *cols], descending=[True] + [False] * len(cols), nulls_last=True).select(
        list(schema)).cast(schema)  # type: ignore[arg-type]  # fmt: skip
