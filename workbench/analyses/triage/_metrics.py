"""Metric evidence: anomalies of container and node metrics, and CPU throttling.

**Anomalies** (signal ``metric_anomaly``). Each metric of :data:`CONTAINER_METRICS` (per
namespace, pod and container; network per pod) and :data:`NODE_METRICS` (per node) becomes a
series with :func:`workbench.analyses.anomalies.metric_series` (counters → rates) from
``history_start`` to the window's end, and is scored by
:func:`workbench.analyses.anomalies.score` (each point against the ``window`` points before it).
For every series, the anomalous interval (:func:`~workbench.analyses.anomalies.intervals`)
with the highest peak that overlaps the incident window is its evidence::

    strength = magnitude × novelty × direction
    magnitude = clip(ln(peak / threshold) / ln(8), 0, 1)       (peak = 8 × threshold → 1)
    novelty   = clip(1 − baseline_peak / peak, 0, 1)             (baseline_peak: highest score in the baseline)
    direction = 1 for a rise, 0.6 for a fall (0 for falls of free memory's opposite: MemAvailable rising)

A pod born in or just before the window has no history of its own: its points are preceded by
the median of its running siblings (same workload and container), so a new pod that burns far
more CPU than its siblings do is still found (slow starts).

**Throttling** (signal ``throttling``): per container, the share of CFS periods throttled
(rate of ``container_cpu_cfs_throttled_periods_total`` ÷ rate of
``container_cpu_cfs_periods_total``); strength = clip((q90_window − q90_baseline − 0.05) / 0.4, 0, 1)
when the window's 90th percentile is at least 10 %.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import polars as pl

from workbench.analyses import anomalies as an
from workbench.analyses.triage._context import Context, fmt_time, kept, raw, raw_frame, signature
from workbench.analyses.triage._identity import Identity

__all__ = ["CONTAINER_METRICS", "METRICS", "NODE_METRICS", "POD_METRICS", "THROTTLING", "metric_evidence",
           "throttling_evidence"]  # fmt: skip

log = logging.getLogger(__name__)

#: Container metrics scored for anomalies → what they are called in the evidence.
CONTAINER_METRICS: dict[str, str] = {
    "container_cpu_usage_seconds_total": "CPU usage",
    "container_memory_working_set_bytes": "memory working set",
    "container_memory_rss": "memory RSS",
    "container_fs_reads_bytes_total": "disk reads",
    "container_fs_writes_bytes_total": "disk writes",
}
#: Pod-level (network) metrics: per pod, every interface summed.
POD_METRICS: dict[str, str] = {
    "container_network_receive_bytes_total": "network received",
    "container_network_transmit_bytes_total": "network sent",
    "container_network_receive_packets_dropped_total": "received packets dropped",
    "container_network_transmit_packets_dropped_total": "sent packets dropped",
    "container_network_receive_errors_total": "network receive errors",
    "container_network_transmit_errors_total": "network transmit errors",
}
#: Node metrics: non-idle CPU (``node_cpu_seconds_total`` without mode idle/iowait/steal) and free memory.
NODE_METRICS: dict[str, str] = {
    "node_cpu_seconds_total": "node CPU busy",
    "node_memory_MemAvailable_bytes": "node free memory",
}
#: CFS periods throttled, and all (per container).
THROTTLING = ("container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total")
#: Every metric read here.
METRICS = (*CONTAINER_METRICS, *POD_METRICS, *NODE_METRICS, *THROTTLING)
#: A fall of these is what goes wrong (a rise is good news).
_FALL_IS_BAD = {"node_memory_MemAvailable_bytes"}
#: Only a rise of these matters.
_RISE_ONLY = {k for k in POD_METRICS if "dropped" in k or "errors" in k}
_IDLE = r'"mode":\s*"(idle|iowait|steal)"'
#: A level shift is measured against max(1.4826 · MAD of the baseline, this share of its median);
#: memory is steadier than CPU or traffic, so a smaller share of it counts.
SHIFT_FLOOR = 0.05
SHIFT_FLOOR_MEMORY = 0.02
#: A level shift must hold for at least this share of the window's points.
SHIFT_MIN_SHARE = 0.2


def _anomaly_params(ctx: Context) -> an.AnomalyParams:
    base_points = max(1, int((ctx.start - ctx.history_start) / ctx.step))
    window = max(10, min(60, base_points // 2))
    return an.AnomalyParams(window=window, min_history=min(10, window), seasonality="none")


def _series(ctx: Context) -> pl.DataFrame:
    """All scored metrics as one long frame: cluster, metric, namespace, pod, container, node, ts, value."""
    frames = []
    known = set(ctx.ds.series()["metric"].unique().to_list()) if ctx.ds.row_counts.get("series") else set()
    cm = [m for m in CONTAINER_METRICS if m in known]
    if cm:
        frames.append(
            an.metric_series(
                ctx.metric_samples(cm),
                by=("namespace", "pod", "container"),
                step=ctx.step,
                where=_containers_only(),
            ).with_columns(pl.lit(None, pl.String).alias("node"))
        )
    pm = [m for m in POD_METRICS if m in known]
    if pm:
        frames.append(
            an.metric_series(
                ctx.metric_samples(pm),
                by=("namespace", "pod"),
                step=ctx.step,
                where=pl.col("pod").is_not_null(),
            ).with_columns(pl.lit(None, pl.String).alias("container"), pl.lit(None, pl.String).alias("node"))
        )
    nm = [m for m in NODE_METRICS if m in known]
    if nm:
        busy = pl.col("node").is_not_null() & ~pl.col("labels").fill_null("").str.contains(_IDLE)
        nodes = an.metric_series(
            ctx.metric_samples(nm, namespace=False), by=("node",), step=ctx.step, where=busy
        )
        if ctx.namespace is not None:
            nodes = nodes.filter(pl.col("node").is_in(sorted(_nodes_of_namespace(ctx))))
        frames.append(
            nodes.with_columns(
                pl.lit(None, pl.String).alias("namespace"),
                pl.lit(None, pl.String).alias("pod"),
                pl.lit(None, pl.String).alias("container"),
            )
        )
    cols = ["cluster", "metric", "namespace", "pod", "container", "node", "ts", "value"]
    if not frames:
        return pl.DataFrame(
            schema={
                "cluster": pl.String,
                "metric": pl.String,
                "namespace": pl.String,
                "pod": pl.String,
                "container": pl.String,
                "node": pl.String,
                "ts": an.SCORE_COLUMNS["ts"],
                "value": pl.Float64,
            }
        )
    return pl.concat([f.select(cols) for f in frames])


def _containers_only() -> pl.Expr:
    """Series of a pod: cAdvisor's per-container series; the pod-level sums (container "" or
    null) and the pause container ("POD") only where a pod has no per-container series (a
    ``where`` of :func:`~workbench.analyses.anomalies.metric_series`: evaluated per series)."""
    named = pl.col("container").is_not_null() & ~pl.col("container").is_in(["", "POD"])
    pod_level = ~named.any().over("cluster", "metric", "namespace", "pod") & (
        pl.col("container").fill_null("") != "POD"
    )
    return pl.col("pod").is_not_null() & (named | pod_level)


def _nodes_of_namespace(ctx: Context) -> frozenset[str]:
    """The nodes the namespace's series and pods are on (kept per snapshot version and scope)."""

    def read() -> frozenset[str]:
        nodes = (
            ctx.ds.scan("series", cluster=ctx.cluster, namespace=ctx.namespace)
            .select("node")
            .unique()
            .collect()
        )
        pods = (
            ctx.ds.scan("pods", cluster=ctx.cluster, namespace=ctx.namespace)
            .select("node")
            .unique()
            .collect()
        )
        return frozenset(n for n in [*nodes["node"].to_list(), *pods["node"].to_list()] if n)

    return kept("nodes of namespace", (signature(ctx.ds), ctx.cluster, ctx.namespace), read, size=32)


_KEYS = ["cluster", "metric", "namespace", "pod", "container", "node"]


def _with_sibling_history(
    series: pl.DataFrame, ctx: Context, ident: Identity, min_history: int
) -> pl.DataFrame:
    """Young pod series (fewer than ``min_history`` points before the window) get their
    siblings' median as the history before their first point."""
    pods = series.filter(pl.col("pod").is_not_null())
    if pods.is_empty():
        return series
    firsts = pods.group_by(_KEYS).agg(
        pl.col("ts").min().alias("_first"), (pl.col("ts") < ctx.start).sum().alias("_before")
    )
    pods_seen = firsts.select("cluster", "namespace", "pod").unique()
    # each pod's workload as kind/name (a pod without one: "/pod")
    wl = pods_seen.with_columns(
        pl.Series("_wl", ["/".join(ident.workload_of(c, ns, p) or ("", p)) for c, ns, p in pods_seen.rows()],
                  dtype=pl.String)
    )  # fmt: skip
    firsts = firsts.join(wl, on=["cluster", "namespace", "pod"], how="left", nulls_equal=True,
                         maintain_order="left")  # fmt: skip
    young = firsts.filter(pl.col("_before") < min_history)
    if young.is_empty():
        return series
    grown = firsts.filter(pl.col("_before") >= min_history).select(*_KEYS, "_wl")
    sib = (
        pods.join(grown, on=_KEYS, nulls_equal=True)
        .group_by("cluster", "metric", "namespace", "container", "_wl", "ts")
        .agg(pl.col("value").median())
    )
    extra = (
        young.select(*_KEYS, "_wl", "_first")
        .join(sib, on=["cluster", "metric", "namespace", "container", "_wl"], how="inner", nulls_equal=True)
        .filter(pl.col("ts") < pl.col("_first"))
        .select(*_KEYS, "ts", "value")
    )
    if extra.height:
        log.info("triage: %d young pod series scored against their siblings", young.height)
    return pl.concat([series, extra]).sort(*_KEYS, "ts", nulls_last=True)


def _with_shifts(
    found: pl.DataFrame, series: pl.DataFrame, ctx: Context, p: an.AnomalyParams
) -> pl.DataFrame:
    """Add the window-vs-baseline level shifts (slow ramps that a rolling baseline follows) to
    the anomalous intervals, in the same columns; where both exist the higher peak wins."""
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    ref = (
        series.filter(in_b).group_by(_KEYS).agg(pl.col("value").median().alias("_med"), pl.len().alias("_nb"))
    )
    ref = ref.join(
        series.filter(in_b)
        .join(ref, on=_KEYS, nulls_equal=True)
        .group_by(_KEYS)
        .agg((pl.col("value") - pl.col("_med")).abs().median().alias("_mad")),
        on=_KEYS,
        nulls_equal=True,
    ).filter(pl.col("_nb") >= p.min_history)
    floor = pl.when(pl.col("metric").str.contains("memory")).then(SHIFT_FLOOR_MEMORY).otherwise(SHIFT_FLOOR)
    scale = pl.max_horizontal(1.4826 * pl.col("_mad"), floor * pl.col("_med").abs()) + 1e-9
    w = (
        series.filter(in_w)
        .join(ref, on=_KEYS, nulls_equal=True)
        .with_columns(((pl.col("value") - pl.col("_med")) / scale).alias("_z"), scale.alias("_scale"))
    )
    if w.is_empty():
        return found
    hot = w.filter(pl.col("_z").abs() > p.threshold)
    shifts = (
        hot.sort("ts")
        .group_by(_KEYS)
        .agg(
            pl.col("ts").first().alias("start"),
            pl.col("ts").last().alias("end"),
            pl.len().cast(pl.Int64).alias("points"),
            pl.col("ts").sort_by(pl.col("_z").abs()).last().alias("peak_ts"),
            pl.col("value").sort_by(pl.col("_z").abs()).last().alias("peak_value"),
            pl.col("_med").first().alias("baseline"),
            pl.col("_z").abs().max().alias("peak_score"),
            pl.col("_z").sort_by(pl.col("_z").abs()).last().alias("_zs"),
        )
        .filter(pl.col("points") >= max(2, int(SHIFT_MIN_SHARE * w["ts"].n_unique())))
        .with_columns(
            pl.when(pl.col("_zs") >= 0).then(pl.lit("up")).otherwise(pl.lit("down")).alias("direction"),
            pl.lit(0.0).alias("_bpeak"),
            pl.lit("shift").alias("_how"),
        )
        .drop("_zs")
    )
    both = pl.concat([found, shifts.select(found.columns).cast(found.schema)])  # type: ignore[arg-type]
    return both.sort("peak_score", "_how", descending=[True, False]).unique(
        _KEYS, keep="first", maintain_order=True
    )


def _subject(row: dict[str, Any]) -> tuple[str, str, str]:
    """(level, name, where-text) of a series key."""
    if row["pod"] is None:
        return "Node", row["node"], f"node {row['node']}"
    where = f"pod {row['pod']}" + (f", container {row['container']}" if row["container"] else "")
    return "Pod", row["pod"], where


def _fmt(metric: str, v: float) -> str:
    if "bytes" in metric and "_total" not in metric:
        return f"{v / 2**20:,.0f} MiB"
    if "bytes_total" in metric:
        return f"{v / 2**10:,.1f} KiB/s"
    if metric.endswith("seconds_total"):
        return f"{v:.2f} cores"
    return f"{v:,.3g}/s" if metric.endswith("_total") else f"{v:,.3g}"


def metric_evidence(ctx: Context, ident: Identity) -> pl.DataFrame:
    """``metric_anomaly`` evidence (see the module docstring)."""
    series = _series(ctx)
    if series.is_empty():
        ctx.note("no container or node metrics in scope: metric anomalies not used")
        return raw_frame([])
    p = _anomaly_params(ctx)
    series = _with_sibling_history(series, ctx, ident, p.min_history)
    scored = an.score(series, p, keys=_KEYS)
    every = an.intervals(scored, p, keys=_KEYS)
    found = every.filter((pl.col("end") >= ctx.start) & (pl.col("start") < ctx.end))
    base = (
        scored.filter((pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start))
        .group_by(_KEYS)
        .agg(pl.col("score").max().alias("_bpeak"))
    )
    found = found.join(base, on=_KEYS, how="left", nulls_equal=True).with_columns(
        pl.col("_bpeak").fill_null(0.0), pl.lit("point").alias("_how")
    )
    found = _with_shifts(found, series, ctx, p)
    labels = {**CONTAINER_METRICS, **POD_METRICS, **NODE_METRICS}
    rows = []
    for r in found.sort(_KEYS, nulls_last=True).iter_rows(named=True):
        metric, peak = r["metric"], r["peak_score"]
        up = r["direction"] == "up"
        if (metric in _RISE_ONLY and not up) or (metric in _FALL_IS_BAD and up):
            continue
        bad_way = (not up) if metric in _FALL_IS_BAD else up
        magnitude = max(0.0, min(1.0, math.log(max(peak, 1e-9) / p.threshold) / math.log(8)))
        novelty = max(0.0, min(1.0, 1 - r["_bpeak"] / peak))
        strength = magnitude * novelty * (1.0 if bad_way else 0.6)
        level, name, where = _subject(r)
        change = "rose" if up else "fell"
        usual = "the baseline's median" if r["_how"] == "shift" else "expected"
        detail = (
            f"{labels.get(metric, metric)} of {where} {change} to {_fmt(metric, r['peak_value'])} "
            f"({usual} {_fmt(metric, r['baseline'])}) at {fmt_time(r['peak_ts'])}, "
            f"{peak:.0f}× the usual noise; anomalous from {fmt_time(r['start'])}"
        )
        sel = f"pod={r['pod']!r}" if r["pod"] else f"node={r['node']!r}"
        how = f"ds.metrics(metric={metric!r}, cluster={r['cluster']!r}, {sel}, {ctx.window_args()})"
        rows.append(
            raw(
                level=level,
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=name,
                signal="metric_anomaly",
                time=r["start"],
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
            | {"_metric": metric}
        )
    cols = [*_KEYS, "start", "direction"]
    pod_rises = (
        pl.concat([every.select(cols), found.select(cols)])
        .filter(pl.col("pod").is_not_null() & (pl.col("direction") == "up"))
        .unique()
    )
    _explain_nodes(rows, pod_rises, _pod_nodes(ctx, ident))
    return raw_frame({k: v for k, v in r.items() if k != "_metric"} for r in rows if r["strength"] >= 0.05)


_FAMILY = {"node_cpu_seconds_total": "cpu", "node_memory_MemAvailable_bytes": "memory"}


def _pod_nodes(ctx: Context, ident: Identity) -> dict[tuple[str, str, str], str]:
    """(cluster, namespace, pod) → node, from the pods table and the metric series' node label."""

    def read() -> dict[tuple[str, str, str], str]:
        series = (
            ctx.ds.scan("series", cluster=ctx.cluster)
            .filter(pl.col("pod").is_not_null() & pl.col("node").is_not_null())
            .select("cluster", "namespace", "pod", "node")
            .unique()
        )
        return {
            (r["cluster"], r["namespace"], r["pod"]): r["node"]
            for r in series.collect().iter_rows(named=True)
        }

    # the series' nodes are the same for every namespace and window: kept per snapshot version
    out = dict(kept("series pod nodes", (signature(ctx.ds), ctx.cluster), read, size=8))
    for r in ident.pods.filter(pl.col("node").is_not_null()).iter_rows(named=True):
        out[(r["cluster"], r["namespace"], r["pod"])] = r["node"]
    return out


def _explain_nodes(
    rows: list[dict[str, Any]], pod_rises: pl.DataFrame, nodes: dict[tuple[str, str, str], str]
) -> None:
    """A node's CPU or memory anomaly that starts within 10 minutes of a rise of the same
    resource in one of its pods (however weak, and even before the window) is that pod's
    doing: its strength × 0.3."""
    near = dt.timedelta(minutes=10)
    rises = list(pod_rises.iter_rows(named=True))
    for n in (r for r in rows if r["level"] == "Node"):
        family = _FAMILY.get(n["_metric"])
        culprits = sorted(
            {
                p["pod"]
                for p in rises
                if family
                and family in p["metric"]
                and nodes.get((p["cluster"], p["namespace"], p["pod"])) == n["name"]
                and abs(p["start"] - n["time"]) <= near
            }
        )
        if culprits:
            n["strength"] *= 0.3
            n["detail"] += f"; explained by its pod(s) {', '.join(culprits[:3])}"


def throttling_evidence(ctx: Context) -> pl.DataFrame:
    """``throttling`` evidence (see the module docstring)."""
    names = list(THROTTLING)
    s = an.metric_series(ctx.metric_samples(THROTTLING), by=("namespace", "pod", "container"), step=ctx.step,
                         where=_containers_only())  # fmt: skip
    if s.is_empty():
        return raw_frame([])
    keys = ["cluster", "namespace", "pod", "container", "ts"]
    wide = (
        s.filter(pl.col("metric") == names[0])
        .select(*keys, pl.col("value").alias("thr"))
        .join(s.filter(pl.col("metric") == names[1]).select(*keys, pl.col("value").alias("per")), on=keys)
        .filter(pl.col("per") > 0)
        .with_columns((pl.col("thr") / pl.col("per")).clip(0, 1).alias("ratio"))
    )
    k = keys[:-1]
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    stats = wide.group_by(k).agg(
        pl.col("ratio").filter(in_w).quantile(0.9).alias("w"),
        pl.col("ratio").filter(in_b).quantile(0.9).alias("b"),
        pl.col("ratio").filter(in_w).max().alias("peak"),
    )
    rows = []
    for r in stats.filter(pl.col("w") >= 0.1).sort(k).iter_rows(named=True):
        b = r["b"] or 0.0
        strength = (r["w"] - b - 0.05) / 0.4
        if strength < 0.05:
            continue
        onset = wide.filter(*(pl.col(c) == r[c] for c in k), in_w, pl.col("ratio") >= max(0.1, b + 0.05))[
            "ts"
        ].min()
        detail = (
            f"container {r['container']} of pod {r['pod']} was CPU-throttled in {r['w']:.0%} of its CFS periods "
            f"(90th percentile; peak {r['peak']:.0%}; baseline {b:.0%}): its CPU limit is too low for its load"
        )
        how = f"ds.metrics(metric={names[0]!r}, cluster={r['cluster']!r}, pod={r['pod']!r}, {ctx.window_args()})"
        rows.append(
            raw(
                level="Pod",
                cluster=r["cluster"],
                namespace=r["namespace"],
                name=r["pod"],
                signal="throttling",
                time=onset if isinstance(onset, dt.datetime) else ctx.start,
                strength=strength,
                detail=detail,
                how_to_see=how,
            )
        )
    return raw_frame(rows)
