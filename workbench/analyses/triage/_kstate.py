"""Evidence from kube-state-metrics: restarts, OOM kills, pending pods, node conditions.

These work on a snapshot that holds only metrics (no objects, pods or events tables).

- ``restarts``: the increase of ``kube_pod_container_status_restarts_total`` (and the init
  container counter) in the window, per container (a drop is a new counter). strength =
  (1 − 0.5ⁿ) × (0.5 + 0.5 · n / (n + n_base)), n_base being the baseline's restarts scaled to
  the window's length: a container that restarted as often before counts half.
- ``oom_killed``: ``kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}`` is
  1 in the window and the container restarted in the window (or the series first reads 1 in
  it); strength 1.
- ``pending_pods`` (only when the snapshot has no pods table for the scope):
  ``kube_pod_status_phase{phase="Pending"}`` is 1 in the window; strength =
  min(1, minutes pending in the window / 5), × 0.4 when the pod was already pending in the baseline.
- ``node_not_ready``: ``kube_node_status_condition`` says Ready is false/unknown (strength 1)
  or a pressure condition is true (0.7) in the window; × 0.4 when it already did in the baseline.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from workbench.analyses.anomalies import counter_rate
from workbench.analyses.triage._context import Context, fmt_time, raw, raw_frame

__all__ = ["METRICS", "node_condition_evidence", "pending_metric_evidence", "restart_evidence"]

log = logging.getLogger(__name__)

RESTARTS = ("kube_pod_container_status_restarts_total", "kube_pod_init_container_status_restarts_total")
LAST_REASON = (
    "kube_pod_container_status_last_terminated_reason",
    "kube_pod_init_container_status_last_terminated_reason",
)
NODE_CONDITION = "kube_node_status_condition"
#: Every metric read here (but ``kube_pod_status_phase``: only for snapshots without pods).
METRICS = (*RESTARTS, *LAST_REASON, NODE_CONDITION)
_RAW = ["cluster", "metric", "namespace", "pod", "container", "node", "labels"]


def _series_samples(ctx: Context, metric: str | tuple[str, ...], *, namespace: bool = True,
                    where: pl.Expr | None = None) -> tuple[pl.DataFrame, pl.LazyFrame]:  # fmt: skip
    """The series of ``metric`` in scope whose labels pass ``where``, and their samples
    (series_id, ts, value, in storage order) from the history's start to the window's end."""
    series, samples = ctx.metric_samples(metric, namespace=namespace)
    if where is not None:
        series = series.filter(where)
    return series, samples.lazy().filter(pl.col("series_id").is_in(series["series_id"].implode()))


def _samples(ctx: Context, metric: str | tuple[str, ...], *, namespace: bool = True,
             where: pl.Expr | None = None) -> pl.DataFrame:  # fmt: skip
    """The wide samples (as ``ds.scan_metrics`` gives them) of the series of ``metric`` in scope
    whose labels pass ``where`` (a filter on the series: their samples only are read)."""
    series, samples = _series_samples(ctx, metric, namespace=namespace, where=where)
    return samples.join(series.lazy(), on="series_id", how="inner").select(*_RAW, "ts", "value").collect()


def _how(ctx: Context, metric: str, row: dict[str, Any], sel: str = "pod") -> str:
    return (
        f"ds.metrics(metric={metric!r}, cluster={row['cluster']!r}, {sel}={row[sel]!r}, {ctx.window_args()})"
    )


def restart_evidence(ctx: Context) -> pl.DataFrame:
    """``restarts`` and ``oom_killed`` evidence from the restart counters and the last
    terminated reason."""
    series, samples = _series_samples(ctx, RESTARTS)
    # the increases per series (keyed on its id, not its labels); the few positive ones get
    # their labels, in the order of the labels (as the first metric of a container is read)
    inc = (counter_rate(samples, series=["series_id"]).filter(pl.col("increase").is_not_null() & (pl.col("increase") > 0))
           .join(series.lazy(), on="series_id", how="inner").sort(*_RAW, "ts", nulls_last=True).collect())  # fmt: skip
    if inc.is_empty() and samples.head(1).collect().is_empty():
        return raw_frame([])
    keys = ["cluster", "namespace", "pod", "container"]
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    per = (
        inc.group_by(keys)
        .agg(
            pl.col("increase").filter(in_w).sum().alias("n"),
            pl.col("increase").filter(in_b).sum().alias("nb"),
            pl.col("ts").filter(in_w).min().alias("first"),
            pl.col("ts").filter(in_w).max().alias("last"),
            pl.col("metric").first(),
        )
        .filter(pl.col("n") > 0)
    )
    scale = ctx.minutes / ctx.base_minutes if ctx.has_baseline else 0.0
    oom = _oom_series(ctx)
    rows = []
    for r in per.sort(keys).iter_rows(named=True):
        n, nb = r["n"], r["nb"] * scale
        init = "init " if "init_container" in r["metric"] else ""
        strength = (1 - 0.5**n) * (0.5 + 0.5 * n / (n + nb))
        detail = (
            f"{init}container {r['container']} of pod {r['pod']} restarted {n:.0f} time(s) in the window "
            f"(first at about {fmt_time(r['first'])})"
            + (f"; {r['nb']:.0f} in the baseline" if r["nb"] else "")
        )
        rows.append(
            raw(
                level="Pod",
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=r["pod"],
                signal="restarts",
                time=r["first"],
                strength=strength,
                detail=detail,
                how_to_see=_how(ctx, r["metric"], r),
            )
        )
        key = (r["cluster"], r["namespace"], r["pod"], r["container"])
        if key in oom:
            rows.append(
                raw(
                    level="Pod",
                    cluster=r["cluster"],
                    namespace=r["namespace"],
                    name=r["pod"],
                    signal="oom_killed",
                    time=r["first"],
                    strength=1.0,
                    detail=f"{init}container {r['container']} of pod {r['pod']} was OOM-killed (last terminated "
                    f"reason OOMKilled) and restarted at about {fmt_time(r['first'])}",
                    how_to_see=_how(ctx, LAST_REASON[0], r),
                )
            )
            oom.pop(key)
    for (c, ns, pod, container), first in sorted(oom.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if first is not None and ctx.start <= first < ctx.end:  # the reason appeared in the window
            row = {"cluster": c, "pod": pod}
            rows.append(
                raw(
                    level="Pod",
                    cluster=c,
                    namespace=ns,
                    name=pod,
                    signal="oom_killed",
                    time=first,
                    strength=1.0,
                    detail=f"container {container} of pod {pod} was OOM-killed (its last terminated reason "
                    f"became OOMKilled at about {fmt_time(first)})",
                    how_to_see=_how(ctx, LAST_REASON[0], row),
                )
            )
    return raw_frame(rows)


def _oom_series(ctx: Context) -> dict[tuple[str, str, str, str], Any]:
    """Containers whose last terminated reason reads OOMKilled in the window → the first time
    the series reads 1 (None when it already did before the history starts)."""
    oom = pl.col("labels").fill_null("").str.contains(r'"reason":\s*"OOMKilled"')
    s = _samples(ctx, LAST_REASON, where=oom).filter(pl.col("value") > 0)
    got = s.group_by("cluster", "namespace", "pod", "container").agg(
        pl.col("ts").min().alias("first"), pl.col("ts").filter(pl.col("ts") >= ctx.start).len().alias("n_w")
    )
    return {
        (r["cluster"], r["namespace"], r["pod"], r["container"]): (
            r["first"] if r["first"] > ctx.history_start else None
        )
        for r in got.filter(pl.col("n_w") > 0).iter_rows(named=True)
    }


def pending_metric_evidence(ctx: Context) -> pl.DataFrame:
    """``pending_pods`` evidence from ``kube_pod_status_phase`` (for snapshots without pods)."""
    pending = pl.col("labels").fill_null("").str.contains(r'"phase":\s*"Pending"')
    s = _samples(ctx, "kube_pod_status_phase", where=pending).filter(pl.col("value") > 0)
    if s.is_empty():
        return raw_frame([])
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    per = (
        s.group_by("cluster", "namespace", "pod")
        .agg(
            pl.col("ts").filter(in_w).min().alias("first"),
            pl.col("ts").filter(in_w).max().alias("last"),
            in_b.any().alias("before"),
        )
        .filter(pl.col("first").is_not_null())
    )
    rows = []
    for r in per.sort("cluster", "namespace", "pod").iter_rows(named=True):
        minutes = (r["last"] - r["first"]).total_seconds() / 60
        strength = min(1.0, max(minutes, 0.5) / 5) * (0.4 if r["before"] else 1.0)
        since = "already pending before the window" if r["before"] else f"pending from {fmt_time(r['first'])}"
        rows.append(
            raw(
                level="Pod",
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=r["pod"],
                signal="pending_pods",
                time=r["first"],
                strength=strength,
                detail=f"pod {r['pod']} was Pending for {minutes:.0f} min of the window ({since})",
                how_to_see=_how(ctx, "kube_pod_status_phase", r),
            )
        )
    return raw_frame(rows)


def node_condition_evidence(ctx: Context) -> pl.DataFrame:
    """``node_not_ready`` evidence from ``kube_node_status_condition``."""
    lab = pl.col("labels").fill_null("")
    ready_bad = lab.str.contains(r'"condition":\s*"Ready"') & lab.str.contains(
        r'"status":\s*"(false|unknown)"'
    )
    pressure = lab.str.contains(r'"condition":\s*"\w+Pressure"') & lab.str.contains(r'"status":\s*"true"')
    s = _samples(ctx, NODE_CONDITION, namespace=False,
                 where=pl.col("node").is_not_null() & (ready_bad | pressure))  # fmt: skip
    if s.is_empty():
        return raw_frame([])
    s = s.filter(pl.col("value") > 0).with_columns(
        lab.str.extract(r'"condition":\s*"(\w+)"').alias("condition"),
        lab.str.extract(r'"status":\s*"(\w+)"').alias("status"),
    )
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    per = (
        s.group_by("cluster", "node", "condition", "status")
        .agg(pl.col("ts").filter(in_w).min().alias("first"), in_b.any().alias("before"))
        .filter(pl.col("first").is_not_null())
    )
    rows = []
    for r in per.sort("cluster", "node", "condition", "status").iter_rows(named=True):
        strength = (1.0 if r["condition"] == "Ready" else 0.7) * (0.4 if r["before"] else 1.0)
        what = f"Ready={r['status']}" if r["condition"] == "Ready" else f"{r['condition']}=true"
        rows.append(
            raw(
                level="Node",
                cluster=r["cluster"],
                namespace=None,
                name=r["node"],
                signal="node_not_ready",
                time=r["first"],
                strength=strength,
                detail=f"node {r['node']} reported {what} from {fmt_time(r['first'])}"
                + (" (already before the window)" if r["before"] else ""),
                how_to_see=_how(ctx, "kube_node_status_condition", r, "node"),
            )
        )
    return raw_frame(rows)
