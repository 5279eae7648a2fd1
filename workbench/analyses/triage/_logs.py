"""Log evidence: new log patterns and error bursts, per pod.

- ``new_log_pattern``: :func:`workbench.analyses.patterns.new_patterns` compares the window
  with the baseline; each new or increased pattern is attributed to the pods that logged it in
  the window (the same lines mined again with :func:`~workbench.analyses.patterns.mine`, which
  gives every line its pattern id). strength = severity × min(1, ln(1 + lines) / ln(21)) ×
  (1 for a new pattern, 0.6 for an increased one); severity is 1 for ERROR/FATAL, 0.6 for WARN,
  0.2 otherwise.
- ``error_burst``: :func:`workbench.analyses.logs.error_bursts` over baseline + window; a burst
  that overlaps the window gives strength = clip(0.3 + 0.7 · ln(z / 5) / ln(10), 0.3, 1).
"""

from __future__ import annotations

import logging
import math

import polars as pl

from workbench.analyses import logs as lg
from workbench.analyses import patterns as pat
from workbench.analyses.triage._context import Context, fmt_time, raw, raw_frame

__all__ = ["burst_evidence", "pattern_evidence"]

log = logging.getLogger(__name__)

_SEVERITY = {"FATAL": 1.0, "ERROR": 1.0, "WARN": 0.6}


def _has_logs(ctx: Context) -> bool:
    """Whether the scope has log lines from the baseline's start to the window's end (read once
    for both log signals)."""

    def read() -> bool:
        lf = ctx.ds.scan(
            "logs", cluster=ctx.cluster, namespace=ctx.namespace, start=ctx.base_start, end=ctx.end
        )
        return lf.head(1).collect().height > 0

    return ctx.once("has logs", read)


def pattern_evidence(ctx: Context) -> pl.DataFrame:
    """``new_log_pattern`` evidence (see the module docstring)."""
    if not ctx.has_baseline:
        ctx.note("no baseline before the window: new log patterns not looked for")
        return raw_frame([])
    if not _has_logs(ctx):
        ctx.note("no logs in scope: log patterns and error bursts not used")
        return raw_frame([])
    where = {"cluster": ctx.cluster, "namespace": ctx.namespace}
    new = pat.new_patterns(
        ctx.ds, baseline=(ctx.base_start, ctx.start), current=(ctx.start, ctx.end), **where
    )
    if new.is_empty():
        return raw_frame([])
    lines = pat.scan_logs(ctx.ds, start=ctx.base_start, end=ctx.end, **where)
    mined = pat.mine(lines)
    in_w = pat.scan_logs(ctx.ds, start=ctx.start, end=ctx.end, **where).select(
        "cluster", "namespace", "pod", "ts", "message"
    )
    per_pod = (
        mined.label(in_w)
        .join(
            new.lazy().select("pattern_id", "status", "template", "top_level"), on="pattern_id", how="inner"
        )
        .filter(pl.col("pod").is_not_null())
        .group_by("cluster", "namespace", "pod", "pattern_id", "status", "template", "top_level")
        .agg(pl.len().alias("n"), pl.col("ts").min().alias("first"))
        .collect()
    )
    rows = []
    for r in per_pod.sort("cluster", "namespace", "pod", "pattern_id").iter_rows(named=True):
        sev = _SEVERITY.get(r["top_level"] or "", 0.2)
        strength = sev * min(1.0, math.log1p(r["n"]) / math.log(21)) * (1.0 if r["status"] == "new" else 0.6)
        if strength < 0.05:
            continue
        what = "a new" if r["status"] == "new" else "a more frequent"
        detail = (
            f"pod {r['pod']} logged {what} {r['top_level']} pattern {r['n']} time(s) from "
            f"{fmt_time(r['first'])}: {r['template'][:160]}"
        )
        how = (
            f"wb.analyses.logs.search(ds, cluster={r['cluster']!r}, pod={r['pod']!r}, "
            f"{ctx.window_args()}, with_patterns=True)"
        )
        rows.append(
            raw(
                level="Pod",
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=r["pod"],
                signal="new_log_pattern",
                time=r["first"],
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)


def burst_evidence(ctx: Context) -> pl.DataFrame:
    """``error_burst`` evidence (see the module docstring)."""
    if not _has_logs(ctx):
        return raw_frame([])
    bursts = lg.error_bursts(
        ctx.ds, cluster=ctx.cluster, namespace=ctx.namespace, start=ctx.base_start, end=ctx.end
    )
    bursts = bursts.filter((pl.col("end") >= ctx.start) & (pl.col("start") < ctx.end))
    rows = []
    for r in bursts.sort("cluster", "namespace", "pod", "container", "start").iter_rows(named=True):
        z = r["z"] or 0.0
        strength = min(1.0, max(0.3, 0.3 + 0.7 * math.log(max(z, 1e-9) / 5) / math.log(10)))
        top = f"; top pattern: {r['top_template'][:120]}" if r["top_template"] else ""
        detail = (
            f"container {r['container']} of pod {r['pod']} logged {r['count']} ERROR lines from "
            f"{fmt_time(r['start'])} (peak {r['peak']}/bucket, usually {r['baseline']:.0f}){top}"
        )
        how = (
            f"wb.analyses.logs.search(ds, cluster={r['cluster']!r}, pod={r['pod']!r}, levels=['ERROR', 'FATAL'], "
            f"{ctx.window_args()})"
        )
        rows.append(
            raw(
                level="Pod",
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=r["pod"],
                signal="error_burst",
                time=r["start"],
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)
