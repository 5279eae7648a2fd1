"""The cluster overview: nodes, pods by status, problem pods and the node resource matrix
(CPU and memory usage vs requests vs allocatable, network in/out) per node and cluster-wide,
at the snapshot's end and over time.

>>> from workbench.analyses import cluster
>>> view = cluster.analyse(ds, cluster="eks-prod-us-east-1", step="5m")     # doctest: +SKIP
>>> view.matrix.select("node", "cpu_usage_pct", "cpu_requests_pct")          # doctest: +SKIP

Result columns:

- :func:`nodes`: :data:`NODE_COLUMNS`: one row per node; ``age`` from creation to the
  snapshot's end; ``pods`` bound to it at the end.
- :func:`pods_by_status` and :func:`problem_pods`: exactly
  :func:`workbench.analyses.overview.pods_by_status` / ``problem_pods`` (same columns, same rows).
- :func:`node_resources`: :data:`NODE_RESOURCE_COLUMNS`: per node and bucket (``step``):
  usage (:func:`workbench.analyses.usage.node_usage`), the requests and limits of the pods bound
  to the node during the bucket (:func:`~workbench.analyses.usage.requests_over_time`), the
  node's allocatable, and percentages of allocatable (``cpu_requests_pct`` is the requests
  commitment: Σ requests / allocatable).
- :func:`cluster_resources`: :data:`CLUSTER_RESOURCE_COLUMNS`: the same added over a cluster's
  nodes per bucket (percentages of the summed allocatable).
- :func:`node_matrix`: :data:`MATRIX_COLUMNS`: one row per node: usage over the window (mean
  of the buckets, and the highest bucket), requests and limits of the pods bound at the
  snapshot's end, allocatable, and percentages; :func:`cluster_matrix` adds them per cluster
  (:data:`CLUSTER_MATRIX_COLUMNS`).

Requests count for a pod from the moment it is bound to a node until it is deleted or
finished (Succeeded/Failed); a Pending pod already bound to a node counts, as the scheduler
counts it. Allocatable is the node's latest ``status.allocatable``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.analyses import _usage_cells, overview, usage
from workbench.analyses._kept import kept, signature
from workbench.analyses.params import Finding, Params, field, require_one_of, resolve_params
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = [
    "CLUSTER_MATRIX_COLUMNS",
    "CLUSTER_RESOURCE_COLUMNS",
    "MATRIX_COLUMNS",
    "NODE_COLUMNS",
    "NODE_RESOURCE_COLUMNS",
    "ClusterOverview",
    "ClusterParams",
    "analyse",
    "cluster_matrix",
    "cluster_resources",
    "findings",
    "node_matrix",
    "node_resources",
    "nodes",
    "pods_by_status",
    "problem_pods",
]

log = logging.getLogger(__name__)
TS = pl.Datetime("us", "UTC")
F, S = pl.Float64(), pl.String()

NODE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "name": S,
    "status": S,
    "ready": pl.Boolean(),
    "unschedulable": pl.Boolean(),
    "roles": S,
    "zone": S,
    "instance_type": S,
    "created": TS,
    "age": pl.Duration("us"),
    "kubelet_version": S,
    "cpu_allocatable": F,
    "memory_allocatable": pl.Int64(),
    "pods_allocatable": pl.Int64(),
    "pods": pl.Int64(),
    "taints": S,
}
_RES = {
    "cpu_usage": F,
    "cpu_requests": F,
    "cpu_limits": F,
    "cpu_allocatable": F,
    "cpu_usage_pct": F,
    "cpu_requests_pct": F,
    "cpu_limits_pct": F,
    "memory_usage": F,
    "memory_requests": F,
    "memory_limits": F,
    "memory_allocatable": F,
    "memory_usage_pct": F,
    "memory_requests_pct": F,
    "memory_limits_pct": F,
    "network_rx_bytes_per_s": F,
    "network_tx_bytes_per_s": F,
    "pods": pl.Int64(),
}
NODE_RESOURCE_COLUMNS: dict[str, pl.DataType] = {"cluster": S, "node": S, "ts": TS, **_RES, "source": S}
CLUSTER_RESOURCE_COLUMNS: dict[str, pl.DataType] = {"cluster": S, "ts": TS, "nodes": pl.Int64(), **_RES}
MATRIX_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "node": S,
    "status": S,
    "ready": pl.Boolean(),
    **_RES,
    "cpu_usage_max": F,
    "memory_usage_max": F,
}
CLUSTER_MATRIX_COLUMNS: dict[str, pl.DataType] = {
    "cluster": S,
    "nodes": pl.Int64(),
    "nodes_ready": pl.Int64(),
    **_RES,
    "cpu_usage_max": F,
    "memory_usage_max": F,
}

#: A node whose requests commit more than this share of its allocatable is flagged.
COMMITMENT_WARN_PCT = 90.0
#: A node whose memory in use exceeds this share of its allocatable is flagged.
MEMORY_WARN_PCT = 90.0
#: Snapshots with at most this many metric samples keep the samples of the node usage series
#: (:func:`~workbench.analyses.usage.node_series`: every cluster, the snapshot's whole time; 24
#: bytes a sample) in memory, shared by every scope, window and session of a process: a new
#: window reads none again, it takes its own from them. Larger snapshots: :data:`KEEP_CELLS`.
KEEP_SAMPLES = 8_000_000
#: Larger snapshots keep, when there are at most this many, the *cells* of the node usage series
#: instead (:mod:`._usage_cells`: per series and 5 minutes, sums of values or rates, made in one
#: read of the metrics table; 41 bytes a cell): a window starting on 5 minutes and ending on a
#: bucket takes its buckets from them, another reads its samples.
KEEP_CELLS = 12_000_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClusterParams(Params):
    """Parameters of the cluster overview."""

    cluster: str | None = field(None, "cluster to show (all when empty)")
    namespace: str | None = field(None, "namespace for pods by status and problem pods (all when empty)")
    start: dt.datetime | str | None = field(None, "window start, UTC (the snapshot's when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the snapshot's when empty)")
    step: str = field("5m", "bucket width of the series over time (1m, 5m, 1h…)")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "start", to_utc(self.start or None))
        object.__setattr__(self, "end", to_utc(self.end or None))
        object.__setattr__(self, "cluster", self.cluster or None)
        object.__setattr__(self, "namespace", self.namespace or None)
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)
        usage.micros(self.step, what="step")


@dataclasses.dataclass(frozen=True)
class ClusterOverview:
    """Everything the cluster overview shows, as frames (see the module docstring)."""

    params: ClusterParams
    nodes: pl.DataFrame
    pods_by_status: pl.DataFrame
    problem_pods: pl.DataFrame
    matrix: pl.DataFrame
    cluster_matrix: pl.DataFrame
    node_resources: pl.DataFrame
    cluster_resources: pl.DataFrame
    findings: list[Finding]


def _params(ds: Dataset, params: ClusterParams | None, changes: dict[str, Any]) -> ClusterParams:
    p = resolve_params(ClusterParams, params, changes)
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.namespace is not None:
        known = kept("overview namespaces", (signature(ds), p.cluster),
                     lambda: overview.namespaces(ds, cluster=p.cluster), size=16)  # fmt: skip
        require_one_of("namespace", p.namespace, known)
    return p


def _window(ds: Dataset, p: ClusterParams) -> tuple[dt.datetime | None, dt.datetime | None]:
    lo, hi = ds.window
    return p.start or lo, p.end or hi


def _end(ds: Dataset, p: ClusterParams) -> dt.datetime:
    """The moment "at the end" views describe: the window's end, else the newest pod
    observation (a one-off dump has no window), else now."""
    end = _window(ds, p)[1]
    if end is not None:
        return end
    seen = ds.scan("pods", cluster=p.cluster).select(pl.col("observed_at").max()).collect().item()
    return seen or dt.datetime.now(dt.UTC)


def nodes(ds: Dataset, params: ClusterParams | None = None, **changes: Any) -> pl.DataFrame:
    """The nodes (:data:`NODE_COLUMNS`), sorted by cluster and name."""
    p = _params(ds, params, changes)
    return _nodes(ds, p, usage.pod_intervals(ds, cluster=p.cluster))


def _nodes(ds: Dataset, p: ClusterParams, intervals: pl.DataFrame) -> pl.DataFrame:
    n = ds.nodes(cluster=p.cluster)
    if n.is_empty():
        return usage.empty(NODE_COLUMNS)
    end = _end(ds, p)
    bound = _bound_at(intervals, end).group_by("cluster", "node").agg(pl.len().cast(pl.Int64).alias("pods"))
    n = n.join(bound.rename({"node": "name"}), on=["cluster", "name"], how="left").with_columns(
        pl.col("pods").fill_null(0), (pl.lit(end, dtype=TS) - pl.col("created")).alias("age")
    )
    return usage.shape(n, NODE_COLUMNS).sort("cluster", "name")


def pods_by_status(ds: Dataset, params: ClusterParams | None = None, **changes: Any) -> pl.DataFrame:
    """Pods per kubectl STATUS at the snapshot's end (:func:`overview.pods_by_status`)."""
    p = _params(ds, params, changes)
    return overview.pods_by_status(ds, cluster=p.cluster, namespace=p.namespace)


def problem_pods(ds: Dataset, params: ClusterParams | None = None, **changes: Any) -> pl.DataFrame:
    """The pods in trouble at the snapshot's end (:func:`overview.problem_pods`)."""
    p = _params(ds, params, changes)
    return overview.problem_pods(ds, cluster=p.cluster, namespace=p.namespace)


def _bound_at(intervals: pl.DataFrame, at: dt.datetime) -> pl.DataFrame:
    """Pods holding their node's resources at ``at`` (rows of :func:`usage.pod_intervals`)."""
    held = pl.col("bound_to").is_null() | (pl.col("bound_to") > at)
    return intervals.filter(pl.col("bound_from") <= at, held)


def _pct(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den) * 100.0)


def _percentages(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        *[
            _pct(f"{r}_{k}", f"{r}_allocatable").alias(f"{r}_{k}_pct")
            for r in ("cpu", "memory")
            for k in ("usage", "requests", "limits")
        ]  # fmt: skip
    )


def _allocatable(ds: Dataset, p: ClusterParams) -> pl.DataFrame:
    return ds.nodes(cluster=p.cluster).select(
        "cluster",
        pl.col("name").alias("node"),
        "status",
        "ready",
        "cpu_allocatable",
        pl.col("memory_allocatable").cast(pl.Float64),
    )


def node_resources(ds: Dataset, params: ClusterParams | None = None, **changes: Any) -> pl.DataFrame:
    """Usage, requests and allocatable per node over time (:data:`NODE_RESOURCE_COLUMNS`)."""
    return _node_resources(ds, _params(ds, params, changes))


def _node_samples(ds: Dataset, p: ClusterParams) -> pl.DataFrame | None:
    """The samples :func:`usage.node_usage` reads for ``p``, taken from those of a small
    snapshot (:data:`KEEP_SAMPLES`) read once per version and kept; None for a larger one."""
    if ds.row_counts.get("metrics", 0) > KEEP_SAMPLES:
        return None

    def read() -> pl.DataFrame:
        every = usage.samples_of(ds, usage.node_series(ds), start=None, end=None)
        return every.select("series_id", "ts", "value").collect().rechunk()

    every = kept("cluster node samples", signature(ds), read, size=2)
    lo, hi = _window(ds, p)
    series = usage.node_series(ds, cluster=p.cluster)
    return usage.read_samples(ds, series, step=p.step, start=lo, end=hi, kept=every)


def _node_buckets(ds: Dataset, p: ClusterParams) -> pl.DataFrame | None:
    """The rows :func:`usage.node_usage` aggregates for ``p`` (:func:`usage.cell_buckets`),
    made from the cells of a larger snapshot's node usage series (:data:`KEEP_CELLS`), made
    once per version and kept; None when not kept or not for this window and step."""
    lo, hi = ds.window
    if ds.row_counts.get("metrics", 0) <= KEEP_SAMPLES or lo is None or hi is None:
        return None
    every = usage.node_series(ds)
    if every.height * (2 + (hi - lo) // dt.timedelta(microseconds=_usage_cells.BASE)) > KEEP_CELLS:
        return None
    cells = kept("cluster node cells", signature(ds), lambda: _usage_cells.cells_of(ds, every), size=2)
    if cells is None:
        return None
    start, end = _window(ds, p)
    series = every if p.cluster is None else usage.node_series(ds, cluster=p.cluster)
    return usage.cell_buckets(ds, cells, series, step=p.step, start=start, end=end)


def _intervals(ds: Dataset, p: ClusterParams) -> pl.DataFrame:
    """:func:`usage.pod_intervals` of ``p``'s cluster: every cluster's, computed once per
    snapshot version and kept, then filtered (a pod's interval is its own)."""
    every = kept("cluster pod intervals", signature(ds), lambda: usage.pod_intervals(ds), size=2)
    return every if p.cluster is None else every.filter(pl.col("cluster") == p.cluster)


def _pod_views(ds: Dataset, p: ClusterParams) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`problem_pods` and :func:`pods_by_status` of ``p``'s cluster and namespace. Once the
    window's end is known they are every pod's, computed once per snapshot version and kept,
    then filtered (a pod's problems are its own); without one, "the end" is the scope's newest
    pod, so each scope computes its own."""
    where = {"cluster": p.cluster, "namespace": p.namespace}
    if ds.window[1] is None:
        return overview.problem_pods(ds, **where), overview.pods_by_status(ds, **where)
    problems, at_end = kept("cluster pod views", signature(ds),
                            lambda: (overview.problem_pods(ds), overview.pods_at_end(ds)), size=2)  # fmt: skip
    mine = [pl.col(k) == v for k, v in where.items() if v is not None]
    if mine:
        problems, at_end = problems.filter(*mine), at_end.filter(*mine)
    return problems, overview.status_counts(at_end)


def _node_resources(ds: Dataset, p: ClusterParams, intervals: pl.DataFrame | None = None) -> pl.DataFrame:
    lo, hi = _window(ds, p)
    keys = ["cluster", "node", "ts"]
    buckets = _node_buckets(ds, p)
    samples = None if buckets is not None else _node_samples(ds, p)
    use = usage.node_usage(
        ds, cluster=p.cluster, start=lo, end=hi, step=p.step, samples=samples, buckets=buckets
    )
    req = usage.requests_over_time(ds, cluster=p.cluster, start=lo, end=hi, step=p.step, intervals=intervals)
    if hi is not None:
        use = use.filter(pl.col("ts") < hi)
    out = req.join(use, on=keys, how="full", coalesce=True, nulls_equal=True)
    if out.is_empty():
        return usage.empty(NODE_RESOURCE_COLUMNS)
    out = out.join(_allocatable(ds, p).drop("status", "ready"), on=["cluster", "node"], how="left")
    out = out.rename({"cpu_cores": "cpu_usage", "memory_bytes": "memory_usage"})
    return usage.shape(_percentages(out), NODE_RESOURCE_COLUMNS).sort(keys)


_SUMMED = [
    "cpu_usage",
    "cpu_requests",
    "cpu_limits",
    "cpu_allocatable",
    "memory_usage",
    "memory_requests",
    "memory_limits",
    "memory_allocatable",
    "network_rx_bytes_per_s",
    "network_tx_bytes_per_s",
    "pods",
]


def cluster_resources(node_res: pl.DataFrame) -> pl.DataFrame:
    """:func:`node_resources` added over each cluster's nodes per bucket
    (:data:`CLUSTER_RESOURCE_COLUMNS`)."""
    if node_res.is_empty():
        return usage.empty(CLUSTER_RESOURCE_COLUMNS)
    out = node_res.group_by("cluster", "ts").agg(
        pl.col("node").n_unique().cast(pl.Int64).alias("nodes"), *[usage.nsum(c) for c in _SUMMED]
    )
    return usage.shape(_percentages(out), CLUSTER_RESOURCE_COLUMNS).sort("cluster", "ts")


def node_matrix(ds: Dataset, params: ClusterParams | None = None, *, node_res: pl.DataFrame | None = None,
                **changes: Any) -> pl.DataFrame:  # fmt: skip
    """One row per node: usage over the window vs requests at the end vs allocatable
    (:data:`MATRIX_COLUMNS`). Pass ``node_res`` (:func:`node_resources`) to reuse it."""
    p = _params(ds, params, changes)
    return _node_matrix(ds, p, node_res, usage.pod_intervals(ds, cluster=p.cluster))


def _node_matrix(ds: Dataset, p: ClusterParams, node_res: pl.DataFrame | None,
                 intervals: pl.DataFrame) -> pl.DataFrame:  # fmt: skip
    alloc = _allocatable(ds, p)
    if alloc.is_empty():
        return usage.empty(MATRIX_COLUMNS)
    res = _node_resources(ds, p, intervals) if node_res is None else node_res
    used = res.group_by("cluster", "node").agg(
        pl.col("cpu_usage").mean(),
        pl.col("cpu_usage").max().alias("cpu_usage_max"),
        pl.col("memory_usage").mean(),
        pl.col("memory_usage").max().alias("memory_usage_max"),
        pl.col("network_rx_bytes_per_s").mean(),
        pl.col("network_tx_bytes_per_s").mean(),
    )
    bound = (
        _bound_at(intervals, _end(ds, p))
        .group_by("cluster", "node")
        .agg(
            pl.len().cast(pl.Int64).alias("pods"),
            *[
                pl.col(f"{r}_{k}").cast(pl.Float64).fill_null(0.0).sum().alias(f"{r}_{k}s")
                for r in ("cpu", "memory")
                for k in ("request", "limit")
            ],  # fmt: skip
        )
    )
    out = alloc.join(used, on=["cluster", "node"], how="left").join(bound, on=["cluster", "node"], how="left")
    out = out.with_columns(pl.col("pods").fill_null(0), *[pl.col(f"{r}_{k}s").fill_null(0.0)
                                                         for r in ("cpu", "memory") for k in ("request", "limit")])  # fmt: skip
    return usage.shape(_percentages(out), MATRIX_COLUMNS).sort("cluster", "node")


def cluster_matrix(matrix: pl.DataFrame) -> pl.DataFrame:
    """:func:`node_matrix` added per cluster (:data:`CLUSTER_MATRIX_COLUMNS`)."""
    if matrix.is_empty():
        return usage.empty(CLUSTER_MATRIX_COLUMNS)
    out = matrix.group_by("cluster").agg(
        pl.len().cast(pl.Int64).alias("nodes"), pl.col("ready").fill_null(value=False).sum().cast(pl.Int64)
        .alias("nodes_ready"), *[usage.nsum(c) for c in [*_SUMMED, "cpu_usage_max", "memory_usage_max"]],
    )  # fmt: skip
    return usage.shape(_percentages(out), CLUSTER_MATRIX_COLUMNS).sort("cluster")


def findings(matrix: pl.DataFrame, problems: pl.DataFrame) -> list[Finding]:
    """What a reader should look at: nodes not Ready, nodes committed or using memory above
    :data:`COMMITMENT_WARN_PCT`/:data:`MEMORY_WARN_PCT`, and the problem pods per cluster."""
    out: list[Finding] = []
    for r in matrix.iter_rows(named=True):
        where = {"cluster": r["cluster"], "kind": "Node", "name": r["node"]}
        if r["ready"] is False:
            out.append(Finding(severity="critical", title=f"node {r['node']} is {r['status'] or 'not Ready'}",
                               detail=f"{r['pods']} pod(s) still bound to it", **where))  # fmt: skip
        for res in ("cpu", "memory"):
            pct = r[f"{res}_requests_pct"]
            if pct is not None and pct > COMMITMENT_WARN_PCT:
                out.append(Finding(severity="warning", title=f"node {r['node']}: {res} requests commit {pct:.0f}% "
                                   "of allocatable", detail="new pods with requests may not fit", **where))  # fmt: skip
        mem = r["memory_usage_pct"]
        if mem is not None and mem > MEMORY_WARN_PCT:
            out.append(Finding(severity="warning", title=f"node {r['node']}: memory in use {mem:.0f}% of allocatable",
                               detail="risk of evictions under memory pressure", **where))  # fmt: skip
    for (c,), grp in problems.group_by(["cluster"], maintain_order=True):
        names = grp["name"].to_list()
        out.append(Finding(severity="warning", title=f"{len(names)} problem pod(s) in {c}", cluster=str(c),
                           evidence=tuple(f"{ns}/{n}: {s}" for ns, n, s in
                                          grp.select("namespace", "name", "status").iter_rows())))  # fmt: skip
    return out


def _same_nodes(a: ClusterParams, b: ClusterParams) -> bool:
    """Whether the node views (nodes, node resources, matrices) of ``a`` and ``b`` are the same:
    they depend on the cluster, window and step, not on the namespace."""
    return (a.cluster, a.start, a.end, a.step) == (b.cluster, b.start, b.end, b.step)


def _narrows(ds: Dataset, a: ClusterParams, b: ClusterParams) -> bool:
    """Whether the node views of ``b`` are those of ``a`` (every cluster) kept to ``b``'s
    cluster: each view is computed per cluster, so that holds for the same window and step,
    once the window's end is known (without one, "the end" is each cluster's newest pod)."""
    return (a.cluster is None and b.cluster is not None and (a.start, a.end, a.step) == (b.start, b.end, b.step)
            and _window(ds, b)[1] is not None)  # fmt: skip


def _widens(ds: Dataset, a: ClusterParams, b: ClusterParams) -> bool:
    """Whether the node views of ``a`` (one cluster) are part of those of ``b`` (every cluster):
    the converse of :func:`_narrows`."""
    return _narrows(ds, b, a)


#: The node views of a :class:`ClusterOverview` and the columns each is sorted by.
_NODE_VIEWS = {
    "nodes": ("cluster", "name"),
    "node_resources": ("cluster", "node", "ts"),
    "matrix": ("cluster", "node"),
    "cluster_matrix": ("cluster",),
    "cluster_resources": ("cluster", "ts"),
}


def _computed(ds: Dataset, p: ClusterParams) -> dict[str, pl.DataFrame]:
    intervals = _intervals(ds, p)  # read once for the three views
    res = _node_resources(ds, p, intervals)
    matrix = _node_matrix(ds, p, res, intervals)
    return {"nodes": _nodes(ds, p, intervals), "node_resources": res, "matrix": matrix,
            "cluster_matrix": cluster_matrix(matrix), "cluster_resources": cluster_resources(res)}  # fmt: skip


def _node_views(ds: Dataset, p: ClusterParams, previous: list[ClusterOverview]) -> dict[str, pl.DataFrame]:
    """The node views of ``p``: those of an earlier result with the same cluster, window and step;
    else an earlier every-cluster result's kept to ``p``'s cluster; else, for every cluster, the
    earlier results of single clusters over the same window and step with the other clusters
    computed one by one; else computed."""
    for prev in previous:
        if _same_nodes(prev.params, p):
            return {v: getattr(prev, v) for v in _NODE_VIEWS}
    for prev in previous:
        if _narrows(ds, prev.params, p):
            mine = pl.col("cluster") == p.cluster
            return {v: getattr(prev, v).filter(mine) for v in _NODE_VIEWS}
    known = {prev.params.cluster: prev for prev in previous if _widens(ds, prev.params, p)}
    if not known:
        return _computed(ds, p)
    parts = [
        {v: getattr(known[c], v) for v in _NODE_VIEWS}
        if c in known
        else _computed(ds, dataclasses.replace(p, cluster=c))
        for c in sorted(ds.clusters)
    ]
    return {
        v: pl.concat([part[v] for part in parts]).sort(list(keys), maintain_order=True)
        for v, keys in _NODE_VIEWS.items()
    }


def analyse(ds: Dataset, params: ClusterParams | None = None, *,
            previous: ClusterOverview | Sequence[ClusterOverview] | None = None,
            **changes: Any) -> ClusterOverview:  # fmt: skip
    """Every view of the cluster overview at once (:class:`ClusterOverview`). ``previous``: one
    or more earlier results on the same snapshot; their node views are reused when the cluster,
    window and step are the same (a new namespace changes only the pods' views and the
    findings), kept to the cluster asked for when one showed every cluster over the same window
    and step, and put together (the clusters missing computed) when every cluster is asked for
    and some showed single clusters over the same window and step. Each view is computed per
    cluster, so the result is the same."""
    p = _params(ds, params, changes)  # checked once; the views below take it as it is
    earlier = (
        [] if previous is None else [previous] if isinstance(previous, ClusterOverview) else list(previous)
    )
    views = _node_views(ds, p, earlier)
    problems, by_status = _pod_views(ds, p)
    return ClusterOverview(
        params=p,
        nodes=views["nodes"],
        pods_by_status=by_status,
        problem_pods=problems,
        matrix=views["matrix"],
        cluster_matrix=views["cluster_matrix"],
        node_resources=views["node_resources"],
        cluster_resources=views["cluster_resources"],
        findings=findings(views["matrix"], problems),
    )
