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

import dataclasses
import datetime as dt
import logging
import math
from typing import Any

import polars as pl

from workbench.analyses import anomalies as an
from workbench.analyses._kept import kept_by_cluster
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


def _in_scope(ctx: Context) -> list[pl.Expr]:
    """The rows of a frame keyed like :func:`_series` that are in the scope: its cluster's, and
    in a namespace its pods' and the nodes of :func:`_nodes_of_namespace` (as :func:`_series`
    of the scope reads them)."""
    mine = []
    if ctx.namespace is not None:
        nodes = sorted(_nodes_of_namespace(ctx))
        mine.append(
            pl.when(pl.col("pod").is_not_null())
            .then(pl.col("namespace") == ctx.namespace)
            .otherwise(pl.col("node").is_in(nodes))
        )
    if ctx.cluster is not None:
        mine.append(pl.col("cluster") == ctx.cluster)
    return mine


def _window_key(ctx: Context) -> tuple[Any, ...]:
    """What a window's series and scores of every namespace depend on: the snapshot's version,
    the metrics read, the window, its baseline and history, and the step."""
    return (signature(ctx.ds), ctx.metrics, ctx.history_start, ctx.base_start, ctx.start, ctx.end, ctx.step)


def _whole_cluster(ctx: Context, cluster: str | None) -> tuple[Context, Identity]:
    """``ctx`` for every namespace of ``cluster`` (None: of every cluster), with nothing read yet
    of its own, and its lookups."""
    whole = dataclasses.replace(ctx, cluster=cluster, namespace=None, notes=[], _read={})
    ident = Identity(ctx.ds, cluster=cluster, namespace=None, start=ctx.start, end=ctx.end,
                     span_start=ctx.base_start, spans=ctx.spans)  # fmt: skip
    return whole, ident


def _series_clusters(ctx: Context) -> list[str | None]:
    """The clusters of the snapshot's metric series, sorted (as a scope's series are); ``[None]``
    (every cluster at once) when a series has no cluster, or there are no series."""
    got = (
        ctx.ds.series()["cluster"].unique()
        if ctx.ds.row_counts.get("series")
        else pl.Series([], dtype=pl.String)
    )
    return [None] if got.has_nulls() or got.is_empty() else sorted(got.to_list())


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The frames one after another (those with rows; the first when none has)."""
    full = [f for f in frames if f.height]
    return pl.concat(full) if len(full) > 1 else (full or frames)[0]


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
    group = ["cluster", "metric", "namespace", "container", "_wl"]
    # the grown series of the young ones' groups (the others' medians are not asked for)
    grown = (
        firsts.filter(pl.col("_before") >= min_history)
        .select(*_KEYS, "_wl")
        .join(young.select(group).unique(), on=group, how="semi", nulls_equal=True)
    )
    sib = (
        pods.join(grown, on=_KEYS, nulls_equal=True)
        .group_by("cluster", "metric", "namespace", "container", "_wl", "ts")
        .agg(pl.col("value").median())
    )
    extra = (
        young.select(*_KEYS, "_wl", "_first")
        .join(sib, on=group, how="inner", nulls_equal=True)
        .filter(pl.col("ts") < pl.col("_first"))
        .select(*_KEYS, "ts", "value")
    )
    if extra.height:
        log.info("triage: %d young pod series scored against their siblings", young.height)
    return pl.concat([series, extra]).sort(*_KEYS, "ts", nulls_last=True)


def _shift_candidates(
    series: pl.DataFrame, ctx: Context, p: an.AnomalyParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Where the window's points of the series that have a baseline are, with their times
    (:func:`_where`), and per series the window-vs-baseline level shift (slow ramps that a
    rolling baseline follows) in the columns of the anomalous intervals, whatever its number of
    points (:func:`_with_shifts` asks for enough of them)."""
    in_b = (pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start)
    in_w = (pl.col("ts") >= ctx.start) & (pl.col("ts") < ctx.end)
    v = pl.col("value")
    ref = (
        series.filter(in_b)
        .group_by(_KEYS)
        .agg(v.median().alias("_med"), pl.len().alias("_nb"), (v - v.median()).abs().median().alias("_mad"))
        .filter(pl.col("_nb") >= p.min_history)
    )
    floor = pl.when(pl.col("metric").str.contains("memory")).then(SHIFT_FLOOR_MEMORY).otherwise(SHIFT_FLOOR)
    scale = pl.max_horizontal(1.4826 * pl.col("_mad"), floor * pl.col("_med").abs()) + 1e-9
    w = (
        series.filter(in_w)
        .join(ref, on=_KEYS, nulls_equal=True)
        .with_columns(((pl.col("value") - pl.col("_med")) / scale).alias("_z"), scale.alias("_scale"))
    )
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
        .with_columns(
            pl.when(pl.col("_zs") >= 0).then(pl.lit("up")).otherwise(pl.lit("down")).alias("direction"),
            pl.lit(0.0).alias("_bpeak"),
            pl.lit("shift").alias("_how"),
        )
        .drop("_zs")
    )
    return _where(w, "ts"), shifts


def _where(frame: pl.DataFrame, *more: str) -> pl.DataFrame:
    """What :func:`_in_scope` asks of the rows of ``frame`` (cluster, namespace, node, and
    whether there is a pod: ``""`` or null), and the columns ``more``, once each: a small frame
    that a scope filtered in the same way has rows of exactly when ``frame`` has."""
    pod = pl.when(pl.col("pod").is_not_null()).then(pl.lit("")).alias("pod")
    return frame.select("cluster", "namespace", "node", pod, *more).unique()


def _with_shifts(found: pl.DataFrame, window_points: pl.DataFrame, shifts: pl.DataFrame) -> pl.DataFrame:
    """Add the level shifts (of :func:`_shift_candidates` of the scope) that hold for at least
    :data:`SHIFT_MIN_SHARE` of the window's points to the anomalous intervals, in the same
    columns; where both exist the higher peak wins."""
    if window_points.is_empty():
        return found
    shifts = shifts.filter(pl.col("points") >= max(2, int(SHIFT_MIN_SHARE * window_points["ts"].n_unique())))
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


def _scores(ctx: Context, ident: Identity, p: an.AnomalyParams) -> tuple[pl.DataFrame, ...]:
    """Of the scope's series (young pods' with their siblings' history): where they are
    (:func:`_where`), their anomalous intervals, each one's highest score in the baseline
    (``_bpeak``), and where the window's points are and the level shifts
    (:func:`_shift_candidates`); all the (empty) series when the scope has none. Small frames:
    what a window's scores keep."""
    series = _series(ctx)
    if series.is_empty():
        return (series,) * 5
    series = _with_sibling_history(series, ctx, ident, p.min_history)
    scored = an.score(series, p, keys=_KEYS)
    every = an.intervals(scored, p, keys=_KEYS)
    base = (
        scored.filter((pl.col("ts") >= ctx.base_start) & (pl.col("ts") < ctx.start))
        .group_by(_KEYS)
        .agg(pl.col("score").max().alias("_bpeak"))
    )
    return _where(series), every, base, *_shift_candidates(series, ctx, p)


def metric_evidence(ctx: Context, ident: Identity) -> pl.DataFrame:
    """``metric_anomaly`` evidence (see the module docstring)."""
    p = _anomaly_params(ctx)
    if ctx.samples_kept:
        # a series' scores depend on its own samples only (and a young pod's on its siblings',
        # of its namespace and cluster): made for every namespace of a cluster once per window
        # and kept, a scope takes its rows from its clusters' (in the order of the clusters, as
        # a scope's are sorted)
        clusters = [ctx.cluster] if ctx.cluster else _series_clusters(ctx)
        keys = {c: (*_window_key(ctx), c) for c in clusters}

        def every() -> dict[str, tuple[pl.DataFrame, ...]]:  # several clusters scored in one pass
            whole = _scores(*_whole_cluster(ctx, None), p)
            return {c: tuple(f.filter(pl.col("cluster") == c) for f in whole) for c in clusters}

        parts = kept_by_cluster(
            "metric scores", keys, lambda c: _scores(*_whole_cluster(ctx, c), p), every, size=16
        )
        mine = _in_scope(ctx)
        where, every, base, window_points, shifts = (
            f.filter(*mine) if mine else f for f in (_concat([part[i] for part in parts]) for i in range(5))
        )
    else:
        where, every, base, window_points, shifts = _scores(ctx, ident, p)
    if where.is_empty():
        ctx.note("no container or node metrics in scope: metric anomalies not used")
        return raw_frame([])
    found = every.filter((pl.col("end") >= ctx.start) & (pl.col("start") < ctx.end))
    found = found.join(base, on=_KEYS, how="left", nulls_equal=True).with_columns(
        pl.col("_bpeak").fill_null(0.0), pl.lit("point").alias("_how")
    )
    found = _with_shifts(found, window_points, shifts)
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
    resource in one of its pods (a pod of the node's cluster on a node of that name; however
    weak, and even before the window) is that pod's doing: its strength × 0.3."""
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
                and p["cluster"] == n["cluster"]
                and nodes.get((p["cluster"], p["namespace"], p["pod"])) == n["name"]
                and abs(p["start"] - n["time"]) <= near
            }
        )
        if culprits:
            n["strength"] *= 0.3
            n["detail"] += f"; explained by its pod(s) {', '.join(culprits[:3])}"


def _throttling_series(ctx: Context) -> pl.DataFrame:
    """Both :data:`THROTTLING` metrics per container of the scope. When the samples are kept
    (:attr:`Context.samples_kept`), those of every cluster and namespace are made once per window
    and kept (the last two windows'): a scope takes its rows."""

    def make(c: Context) -> pl.DataFrame:
        return an.metric_series(c.metric_samples(THROTTLING), by=("namespace", "pod", "container"), step=c.step,
                                where=_containers_only())  # fmt: skip

    if not ctx.samples_kept:
        return make(ctx)
    every = kept("throttling series", _window_key(ctx), lambda: make(_whole_cluster(ctx, None)[0]), size=2)
    mine = [
        pl.col(c) == v for c, v in (("cluster", ctx.cluster), ("namespace", ctx.namespace)) if v is not None
    ]
    return every.filter(*mine) if mine else every


def throttling_evidence(ctx: Context) -> pl.DataFrame:
    """``throttling`` evidence (see the module docstring)."""
    names = list(THROTTLING)
    s = _throttling_series(ctx)
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
