"""Evidence → suspects: roll-up, nearness of changes, weighted scores, ranks and the timeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import polars as pl

from workbench.analyses.triage._context import TS
from workbench.analyses.triage._identity import Identity

__all__ = ["EVIDENCE_COLUMNS", "SIGNAL_LABELS", "SUSPECT_COLUMNS", "TIMELINE_COLUMNS", "WEIGHTS", "rank"]

#: Weight of each signal in a suspect's score (signals with weight 0 only explain, in the timeline).
WEIGHTS: dict[str, float] = {
    "errors_caused": 3.0, "latency_caused": 3.0, "oom_killed": 2.5, "node_not_ready": 2.5, "pending_pods": 2.5,
    "restarts": 2.0, "failing_pods": 2.0, "manifest_change": 2.0, "throttling": 2.0, "metric_anomaly": 1.5,
    "warning_events": 1.5, "error_burst": 1.5, "new_log_pattern": 1.0, "latency_inherited": 0.0,
    "errors_inherited": 0.0,
}  # fmt: skip
SIGNAL_LABELS: dict[str, str] = {
    "errors_caused": "errors it causes", "latency_caused": "latency it causes", "oom_killed": "OOM kills",
    "node_not_ready": "node not ready", "pending_pods": "pending pods", "restarts": "restarts",
    "failing_pods": "failing pods", "manifest_change": "manifest change", "throttling": "CPU throttling",
    "metric_anomaly": "metric anomaly", "warning_events": "Warning events", "error_burst": "error burst",
    "new_log_pattern": "new log pattern", "latency_inherited": "latency inherited",
    "errors_inherited": "errors inherited",
}  # fmt: skip
#: Share of a workload's points that one pod must carry to be the suspect instead of its workload.
DOMINANT = 0.75
#: Time constant of a manifest change's nearness to the anomalies after it.
NEARNESS = dt.timedelta(minutes=15)

_KEY = {"kind": pl.String(), "cluster": pl.String(), "namespace": pl.String(), "name": pl.String()}
SUSPECT_COLUMNS: dict[str, pl.DataType] = {
    "rank": pl.Int32(), "score": pl.Float64(), **_KEY, "object": pl.String(), "summary": pl.String(),
    "signals": pl.List(pl.String()), "first_seen": TS, "pods": pl.List(pl.String()),
}  # fmt: skip
EVIDENCE_COLUMNS: dict[str, pl.DataType] = {
    "rank": pl.Int32(), **_KEY, "object": pl.String(), "signal": pl.String(), "time": TS, "score": pl.Float64(),
    "weight": pl.Float64(), "subject": pl.String(), "detail": pl.String(), "how_to_see": pl.String(),
}  # fmt: skip
TIMELINE_COLUMNS: dict[str, pl.DataType] = {
    "time": TS, "signal": pl.String(), "object": pl.String(), "detail": pl.String(), "score": pl.Float64(),
    "suspect": pl.String(),
}  # fmt: skip


@dataclasses.dataclass
class _Suspect:
    kind: str
    cluster: str
    namespace: str | None
    name: str
    workload_kind: str | None = None
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def object(self) -> str:
        if self.kind == "Workload":
            return f"{self.workload_kind or 'Workload'}/{self.name}"
        return f"{self.kind}/{self.name}"


def _subject(r: dict[str, Any]) -> str:
    if r["level"] == "Other":
        return r["name"]
    if r["level"] == "Workload":
        return f"{r['workload_kind'] or 'Workload'}/{r['name']}"
    return f"{r['level']}/{r['name']}"


def _group(raw: pl.DataFrame, ident: Identity) -> dict[tuple[Any, ...], _Suspect]:
    """Every evidence row in the suspect it rolls up to (rows about other kinds are left out)."""
    groups: dict[tuple[Any, ...], _Suspect] = {}
    for r in raw.iter_rows(named=True):
        r = {**r, "subject": _subject(r), "pod": None}
        level, c, ns, name, kind = r["level"], r["cluster"], r["namespace"], r["name"], r["workload_kind"]
        if level == "Pod":
            r["pod"] = name
            wl = ident.workload_of(c, ns, name)
            if wl is not None and wl[0] != "Node":  # a static pod stays a pod
                level, (kind, name) = "Workload", wl
        elif level == "Service":
            level, ns, name, kind = ident.service_target(c, ns, name)
        elif level == "Node":
            ns = None
        elif level != "Workload":
            continue
        key = (level, c, ns, name)
        s = groups.setdefault(key, _Suspect(level, c, ns, name))
        if kind and kind != "Workload":
            s.workload_kind = s.workload_kind or kind
        s.rows.append(r)
    return groups


def _points(rows: list[dict[str, Any]]) -> float:
    best: dict[str, float] = {}
    for r in rows:
        best[r["signal"]] = max(best.get(r["signal"], 0.0), r["strength"])
    return sum(WEIGHTS.get(sig, 1.0) * v for sig, v in best.items())


def _split_single_pods(groups: dict[tuple[Any, ...], _Suspect], ident: Identity) -> list[_Suspect]:
    """A workload whose evidence all comes from its pods, mostly (:data:`DOMINANT` of the points)
    from one of its several pods, becomes that Pod; the other pods' evidence stays with the
    workload."""
    out = []
    for s in groups.values():
        pods = {r["pod"] for r in s.rows}
        alive = (
            ident.alive_pods(s.cluster, s.namespace, s.workload_kind or "Workload", s.name)
            if s.kind == "Workload"
            else 0
        )
        if s.kind == "Workload" and None not in pods and alive >= 2:
            per = {p: _points([r for r in s.rows if r["pod"] == p]) for p in pods}
            top = sorted(per, key=lambda p: (-per[p], p))[0]
            total = sum(per.values())
            if total > 0 and per[top] >= DOMINANT * total:
                out.append(
                    _Suspect(
                        "Pod",
                        s.cluster,
                        s.namespace,
                        top,
                        s.workload_kind,
                        [r for r in s.rows if r["pod"] == top],
                    )
                )
                rest = [r for r in s.rows if r["pod"] != top]
                if rest:
                    out.append(dataclasses.replace(s, rows=rest))
                continue
        out.append(s)
    return out


def _apply_nearness(suspects: list[_Suspect]) -> None:
    """A manifest change's strength × exp(−(onset − change) / 15 min), the onset being the first
    other evidence after it (of the same suspect, else of any); 0.3 without such evidence."""

    def later(rows: list[dict[str, Any]], t: dt.datetime) -> list[dt.datetime]:
        return [
            r["time"]
            for r in rows
            if r["signal"] != "manifest_change"
            and r["strength"] > 0
            and r["time"] is not None
            and r["time"] >= t - dt.timedelta(minutes=1)
        ]

    everyone = [r for s in suspects for r in s.rows]
    for s in suspects:
        for r in s.rows:
            if r["signal"] != "manifest_change" or r["time"] is None:
                continue
            onsets = later(s.rows, r["time"]) or later(everyone, r["time"])
            if onsets:
                wait = max(0.0, (min(onsets) - r["time"]).total_seconds())
                factor = math.exp(-wait / NEARNESS.total_seconds())
                r["detail"] += f"; anomalies began {wait / 60:.0f} min later"
            else:
                factor = 0.3
            r["strength"] = r["strength"] * factor


def _summary(s: _Suspect, best: dict[str, dict[str, Any]], order: list[str]) -> str:
    names = ", ".join(SIGNAL_LABELS.get(sig, sig) for sig in order[:4])
    lead = best[order[0]]["detail"] if order else ""
    return f"{s.object}: {names}. {lead}"


def rank(raw: pl.DataFrame, ident: Identity, *, top: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(suspects, evidence, timeline) from the raw evidence of every signal."""
    raw = raw.sort("time", "signal", "level", "cluster", "namespace", "name", "detail", nulls_last=True)
    suspects = _split_single_pods(_group(raw, ident), ident)
    _apply_nearness(suspects)
    scored = []
    for s in suspects:
        best: dict[str, dict[str, Any]] = {}
        for r in s.rows:
            if r["strength"] > best.get(r["signal"], {"strength": -1.0})["strength"]:
                best[r["signal"]] = r
        points = {sig: WEIGHTS.get(sig, 1.0) * r["strength"] for sig, r in best.items()}
        score = sum(points.values())
        if score <= 0:
            continue
        order = sorted((sig for sig in points if points[sig] > 0), key=lambda sig: (-points[sig], sig))
        times = [r["time"] for r in s.rows if r["strength"] > 0 and r["time"] is not None]
        scored.append((round(score, 9), min(times) if times else None, s, best, order))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    scored.sort(
        key=lambda x: (-x[0], x[1] or far, x[2].kind, x[2].cluster or "", x[2].namespace or "", x[2].name)
    )
    sus_rows, ev_rows = [], []
    names: dict[int, str] = {}
    for i, (score, first, s, best, order) in enumerate(scored, start=1):
        names[id(s)] = s.object
        if i > top:
            continue
        pods = sorted({r["pod"] for r in s.rows if r["pod"]})
        sus_rows.append(
            {
                "rank": i,
                "score": score,
                "kind": s.kind,
                "cluster": s.cluster,
                "namespace": s.namespace,
                "name": s.name,
                "object": s.object,
                "summary": _summary(s, best, order),
                "signals": order,
                "first_seen": first,
                "pods": pods,
            }
        )
        rows = sorted(
            (r for r in s.rows if r["strength"] > 0),
            key=lambda r: (-WEIGHTS.get(r["signal"], 1.0) * r["strength"], r["time"] or far, r["detail"]),
        )
        for r in rows:
            ev_rows.append(
                {
                    "rank": i,
                    "kind": s.kind,
                    "cluster": s.cluster,
                    "namespace": s.namespace,
                    "name": s.name,
                    "object": s.object,
                    "signal": r["signal"],
                    "time": r["time"],
                    "score": r["strength"],
                    "weight": WEIGHTS.get(r["signal"], 1.0),
                    "subject": r["subject"],
                    "detail": r["detail"],
                    "how_to_see": r["how_to_see"],
                }
            )
    owner = {id(r): names.get(id(s)) for s in suspects for r in s.rows}
    timeline = [
        {
            "time": r["time"],
            "signal": r["signal"],
            "object": r["subject"],
            "detail": r["detail"],
            "score": r["strength"],
            "suspect": owner.get(id(r)),
        }
        for r in [r for s in suspects for r in s.rows] + _others(raw)
    ]
    return (
        pl.DataFrame(sus_rows, schema=SUSPECT_COLUMNS),
        pl.DataFrame(ev_rows, schema=EVIDENCE_COLUMNS),
        pl.DataFrame(timeline, schema=TIMELINE_COLUMNS).sort(
            "time", "signal", "object", "detail", nulls_last=True
        ),
    )


def _others(raw: pl.DataFrame) -> list[dict[str, Any]]:
    """Evidence about objects that are not suspects (ConfigMaps, quotas…), for the timeline."""
    return [
        {**r, "subject": _subject(r)} for r in raw.filter(pl.col("level") == "Other").iter_rows(named=True)
    ]
