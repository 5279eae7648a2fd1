"""Helpers of the post-mortem report (``notebooks/post_mortem.py``): the resolved scope, text
built from the results, tables for reading, the key metrics of a suspect.

>>> import workbench as wb
>>> from workbench.analyses import triage
>>> from workbench.reports import post_mortem as pm
>>> ds = wb.open("data/demo")                                                        # doctest: +SKIP
>>> sc = pm.scope(ds, start="2026-11-02T08:30Z", end="2026-11-02T09:00Z")           # doctest: +SKIP
>>> result = triage.triage(ds, triage.TriageParams(start=sc.start, end=sc.end))      # doctest: +SKIP
>>> pm.summary(result, sc)                                                           # doctest: +SKIP

Everything a report shows that comes from a cluster (object names, event messages, log lines,
images) is escaped: :class:`Prose` and :class:`Table` render their text through
``html.escape`` and never as Markdown or raw HTML.

Result columns of :func:`key_metrics` (:data:`KEY_METRIC_COLUMNS`): series (a pod, service or
node), metric, unit, ts, value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.analyses import overview
from workbench.errors import ParameterError
from workbench.reports._pm_data import (
    KEY_METRIC_COLUMNS,
    chart_step,
    example_lines,
    key_metrics,
    new_log_patterns,
    signal_rows,
    top_evidence,
)
from workbench.reports._text import Prose, Table, fmt_time, strong, table
from workbench.store import Dataset, to_utc

__all__ = [
    "KEY_METRIC_COLUMNS",
    "Prose",
    "Scope",
    "Table",
    "chart_step",
    "example_lines",
    "first_sign",
    "header",
    "key_metrics",
    "new_log_patterns",
    "scope",
    "signal_rows",
    "strong",
    "summary",
    "table",
    "top_evidence",
    "top_suspects",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")


@dataclasses.dataclass(frozen=True)
class Scope:
    """The window and scope of a report. ``context_start`` is as long before ``start`` as the
    window is long (not before the snapshot's start): charts show it as the "before"."""

    snapshot: str
    start: dt.datetime
    end: dt.datetime
    cluster: str | None
    namespace: str | None
    context_start: dt.datetime

    @property
    def where(self) -> dict[str, str]:
        """``cluster=`` and ``namespace=`` filters (only those given)."""
        return {k: v for k, v in (("cluster", self.cluster), ("namespace", self.namespace)) if v}

    @property
    def window(self) -> dict[str, Any]:
        """The filters plus ``start=`` and ``end=``: the keywords most analyses take."""
        return {**self.where, "start": self.start, "end": self.end}

    @property
    def context(self) -> dict[str, Any]:
        """The filters plus ``start=context_start`` and ``end=``: the window and the time before it."""
        return {**self.where, "start": self.context_start, "end": self.end}

    @property
    def baseline(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The period before the window (``None`` when the window starts at the snapshot's start)."""
        return (self.context_start, self.start) if self.context_start < self.start else None

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def scope(
    ds: Dataset,
    *,
    start: Any = None,
    end: Any = None,
    cluster: str | None = None,
    namespace: str | None = None,
) -> Scope:
    """Resolve the report's scope: empty start/end are the snapshot's; an unknown cluster or
    namespace, or a window that does not overlap the snapshot, raises
    :class:`~workbench.errors.ParameterError`."""
    cluster, namespace = cluster or None, namespace or None
    overview.check_scope(ds, cluster=cluster, namespace=namespace)
    lo, hi = ds.window
    t0 = to_utc(start) if start else lo
    t1 = to_utc(end) if end else hi
    if t0 is None or t1 is None:
        msg = f"the snapshot {ds.path} records no time window: give start and end"
        raise ParameterError(msg)
    if t0 >= t1:
        msg = f"start ({fmt_time(t0)}) must be before end ({fmt_time(t1)})"
        raise ParameterError(msg)
    if lo is not None and hi is not None and (t1 <= lo or t0 >= hi):
        msg = (
            f"the window {fmt_time(t0)} → {fmt_time(t1)} lies outside the snapshot's "
            f"({fmt_time(lo)} → {fmt_time(hi)}); choose start and end inside it"
        )
        raise ParameterError(msg)
    before = t0 - (t1 - t0)
    if lo is not None:
        before = max(before, min(lo, t0))
    return Scope(
        snapshot=str(ds.path), start=t0, end=t1, cluster=cluster, namespace=namespace, context_start=before
    )


def _minutes(td: dt.timedelta) -> str:
    s = td.total_seconds()
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def header(ds: Dataset, sc: Scope) -> Prose:
    """Scope and window of the report, for its top."""
    clusters = ds.clusters
    where_c = sc.cluster or (f"all ({', '.join(clusters)})" if clusters else "all")
    p = Prose()
    p.para(
        "Window ", strong(f"{fmt_time(sc.start)} → {fmt_time(sc.end)}"), f" ({_minutes(sc.end - sc.start)})"
    )
    if sc.baseline:
        p.add(f", compared with the {_minutes(sc.start - sc.context_start)} before it.")
    else:
        p.add(" (no baseline before it: the window starts with the snapshot).")
    p.para("Cluster: ", strong(where_c), " · namespace: ", strong(sc.namespace or "all"),
           " · snapshot: ", sc.snapshot)  # fmt: skip
    return p


def _rows(frame: Any) -> list[dict[str, Any]]:
    if frame is None or not isinstance(frame, pl.DataFrame) or frame.is_empty():
        return []
    return frame.to_dicts()


def _kind(row: dict[str, Any]) -> str:
    """The object's kind: from ``object`` (``Deployment/checkout``) when given, else ``kind``."""
    obj = str(row.get("object") or "")
    return obj.partition("/")[0] if "/" in obj else str(row.get("kind") or "")


def _object(row: dict[str, Any], *, with_cluster: bool) -> list[Any]:
    """``name (Kind, namespace[, cluster])`` as prose parts (the name in bold)."""
    where = [w for w in (_kind(row), str(row.get("namespace") or "")) if w]
    if with_cluster and row.get("cluster"):
        where.append(str(row["cluster"]))
    return [strong(str(row.get("name") or "?")), f" ({', '.join(where)})" if where else ""]


def _cut(text: Any, n: int = 240) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _evidence_of(result: Any, top: dict[str, Any]) -> list[dict[str, Any]]:
    ev = getattr(result, "evidence", None)
    if not isinstance(ev, pl.DataFrame) or ev.is_empty():
        return []
    cond = pl.lit(value=True)
    for k in ("rank",) if "rank" in ev.columns else ("cluster", "namespace", "name"):
        if k in ev.columns and top.get(k) is not None:
            cond = cond & (pl.col(k) == top[k])
    rows = ev.filter(cond)
    if "score" in rows.columns:
        rows = rows.sort("score", descending=True, nulls_last=True)
    return rows.to_dicts()


def summary(
    result: Any,
    sc: Scope,
    *,
    pending: pl.DataFrame | None = None,
    restarts: pl.DataFrame | None = None,
    new_patterns: pl.DataFrame | None = None,
    bursts: pl.DataFrame | None = None,
    others: int = 3,
) -> Prose:
    """The closing summary, built from a triage result (``suspects``, ``evidence``,
    ``timeline``) and the other results of the report: the most likely cause and its
    strongest evidence, the next suspects, what the timeline holds, pending and restarted
    pods, new log patterns, and the triage's notes (signals it could not use)."""
    suspects = _rows(getattr(result, "suspects", None))
    many = sc.cluster is None
    p = Prose()
    if not suspects:
        p.para("No suspect stands out between ", fmt_time(sc.start), " and ", fmt_time(sc.end),
               ": no anomaly, Warning event, change or log burst was strong enough to rank.")  # fmt: skip
    else:
        top = suspects[0]
        p.para(*_object(top, with_cluster=many), " is the most likely cause")
        if top.get("score") is not None:
            p.add(f" (score {float(top['score']):.2f})")
        text = str(top.get("summary") or "").strip()
        prefix = f"{top.get('object')}: "
        text = _cut(text.removeprefix(prefix), 400).rstrip(".")
        p.add(f": {text}." if text else ".")
        if top.get("first_seen") is not None:
            p.add(" First sign at ", strong(fmt_time(top["first_seen"], short=True)), ".")
        ev = _evidence_of(result, top)[:4]
        ev.sort(
            key=lambda e: (e.get("time") is None, e.get("time") or dt.datetime.min.replace(tzinfo=dt.UTC))
        )
        if ev:
            p.para("Evidence, in time order: ")
            for i, e in enumerate(ev):
                when = fmt_time(e.get("time"), short=True) if e.get("time") is not None else "?"
                signal = str(e.get("signal") or "").replace("_", " ")
                p.add("; " if i else "", when + " ", strong(signal), f": {_cut(e.get('detail')).rstrip('.')}")
            p.add(".")
        rest = suspects[1 : 1 + others]
        if rest:
            p.para("Also suspect: ")
            for i, s in enumerate(rest):
                p.add("; " if i else "", *_object(s, with_cluster=many))
                if s.get("score") is not None:
                    p.add(f" score {float(s['score']):.2f}")
            p.add(".")
    tl = getattr(result, "timeline", None)
    if isinstance(tl, pl.DataFrame) and tl.height and "signal" in tl.columns:
        counts = tl.group_by("signal").len().sort(["len", "signal"], descending=[True, False]).to_dicts()
        p.para(f"The timeline holds {tl.height} entries: "
               + ", ".join(f"{c['len']} {str(c['signal']).replace('_', ' ')}" for c in counts) + ".")  # fmt: skip
    facts = []
    if pending is not None and pending.height:
        names = (
            ", ".join(str(n) for n in pending.get_column("pod").drop_nulls().head(3).to_list())
            if "pod" in pending.columns
            else ""
        )
        facts.append(
            f"{pending.height} pod(s) waited for a node"
            + (f" ({names}{', …' if pending.height > 3 else ''})" if names else "")
        )
    if restarts is not None and restarts.height and "object" in restarts.columns:
        names = ", ".join(
            str(o).partition("/")[2] or str(o) for o in restarts["object"].unique(maintain_order=True).head(3)
        )
        more = ", …" if restarts["object"].n_unique() > 3 else ""
        facts.append(f"{restarts.height} container restart(s), termination(s) or OOM kill(s) ({names}{more})")
    if new_patterns is not None and new_patterns.height:
        first = new_patterns.row(0, named=True)
        facts.append(
            f"{new_patterns.height} new or increased log pattern(s), first {first.get('template')!r}"
        )
    if bursts is not None and bursts.height:
        facts.append(f"{bursts.height} error burst(s) in the logs")
    if facts:
        p.para("In the window: " + "; ".join(facts) + ".")
    notes = [str(n) for n in getattr(result, "notes", ()) or ()]
    if notes:
        p.para("Triage notes (signals it could not use): " + "; ".join(_cut(n, 200) for n in notes) + ".")
    return p


def top_suspects(result: Any, *, n: int = 3, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The first ``n`` suspects of a triage result as dicts (optionally only of ``kinds``)."""
    rows = _rows(getattr(result, "suspects", None))
    if kinds is not None:
        rows = [r for r in rows if r.get("kind") in kinds]
    return rows[:n]


def first_sign(result: Any) -> dt.datetime | None:
    """When the top suspect was first seen (``None`` without suspects)."""
    top = top_suspects(result, n=1)
    return top[0].get("first_seen") if top else None
