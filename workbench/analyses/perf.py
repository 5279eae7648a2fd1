"""The performance browser: pick a window, a workload, some of its pods and metrics from a
catalogue, and compare them side by side on one time axis.

>>> from workbench.analyses import perf
>>> view = perf.browse(ds, namespace="shop", workload="checkout", metrics=("cpu_usage", "cpu_limit"))  # doctest: +SKIP
>>> view.summary.select("pod", "metric", "mean", "p95", "max")                                       # doctest: +SKIP

Metrics (:data:`METRICS`: name → unit, description) are per pod and bucket (``step``):
CPU usage/request/limit in millicores, throttled share of CFS periods in %, memory
usage/request/limit in bytes, container filesystem and PVC volume usage in bytes, network
receive/transmit in bytes per second, and the Normal and Warning events about the pod per
bucket (an event seen ``count`` times between its first and last time is spread evenly over
the buckets in between). Requests and limits (``pods`` table) are drawn over the buckets in
which the pod existed; event counts are zero in such buckets when nothing happened.

Results (:class:`PerfView`): ``data`` (:data:`LONG_COLUMNS`: cluster, namespace, pod, metric,
unit, ts, value; sorted) and ``summary`` (:data:`SUMMARY_COLUMNS`: per pod and metric the
mean, p95 (linear, as numpy), max and last value and the number of buckets).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import polars as pl

from workbench.analyses import usage
from workbench.analyses.params import Params, closest, field, require_one_of, resolve_params
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = ["DEFAULT_METRICS", "LONG_COLUMNS", "METRICS", "SUMMARY_COLUMNS", "PerfParams", "PerfView", "browse",
           "summarise"]  # fmt: skip

log = logging.getLogger(__name__)
TS = pl.Datetime("us", "UTC")

#: The metric catalogue: name → (unit, description).
METRICS: dict[str, tuple[str, str]] = {
    "cpu_usage": ("millicores", "CPU used by the pod's containers"),
    "cpu_request": ("millicores", "CPU requested by the pod"),
    "cpu_limit": ("millicores", "CPU limit of the pod"),
    "cpu_throttled": ("%", "share of CFS periods in which the pod's containers were throttled"),
    "memory_usage": ("bytes", "working set of the pod's containers"),
    "memory_request": ("bytes", "memory requested by the pod"),
    "memory_limit": ("bytes", "memory limit of the pod"),
    "fs_usage": ("bytes", "bytes the pod's containers use on their filesystems"),
    "volume_usage": ("bytes", "bytes used on the PersistentVolumeClaims the pod mounts"),
    "network_rx": ("bytes/s", "bytes received by the pod per second"),
    "network_tx": ("bytes/s", "bytes sent by the pod per second"),
    "events_normal": ("events", "Normal events about the pod"),
    "events_warning": ("events", "Warning events about the pod"),
}
DEFAULT_METRICS: tuple[str, ...] = ("cpu_usage", "cpu_request", "cpu_limit", "memory_usage", "memory_request",
                                    "memory_limit", "network_rx", "network_tx", "events_warning")  # fmt: skip

LONG_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "metric": pl.String(),
    "unit": pl.String(),
    "ts": TS,
    "value": pl.Float64(),
}
SUMMARY_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "metric": pl.String(),
    "unit": pl.String(),
    "mean": pl.Float64(),
    "p95": pl.Float64(),
    "max": pl.Float64(),
    "last": pl.Float64(),
    "samples": pl.Int64(),
}
_KEYS = ["cluster", "namespace", "pod", "ts"]


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerfParams(Params):
    """Parameters of the performance browser."""

    cluster: str | None = field(None, "cluster (all when empty)")
    namespace: str | None = field(None, "namespace (all when empty)")
    workload: str | None = field(None, "workload name or Kind/name (every pod when empty)")
    pods: tuple[str, ...] = field((), "pods to compare (all of the workload's when empty)")
    metrics: tuple[str, ...] = field(DEFAULT_METRICS, f"metrics to compare, of: {', '.join(METRICS)}")
    start: dt.datetime | str | None = field(None, "window start, UTC (the snapshot's when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the snapshot's when empty)")
    step: str = field("1m", "bucket width (15s, 1m, 5m…)")

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("cluster", "namespace", "workload"):
            object.__setattr__(self, name, getattr(self, name) or None)
        object.__setattr__(self, "pods", _tuple(self.pods))
        object.__setattr__(self, "metrics", _tuple(self.metrics) or DEFAULT_METRICS)
        object.__setattr__(self, "start", to_utc(self.start or None))
        object.__setattr__(self, "end", to_utc(self.end or None))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)
        for m in self.metrics:
            if m not in METRICS:
                near = closest(m, METRICS)
                hint = f"did you mean {', '.join(near)}? " if near else ""
                msg = f"unknown metric {m!r}; {hint}the catalogue has: {', '.join(METRICS)}"
                raise ParameterError(msg)
        usage.micros(self.step, what="step")


@dataclasses.dataclass(frozen=True)
class PerfView:
    """What the performance browser shows: the aligned long frame and its summary."""

    params: PerfParams
    pods: pl.DataFrame
    data: pl.DataFrame
    summary: pl.DataFrame


def _pods(ds: Dataset, p: PerfParams, lo: dt.datetime | None, hi: dt.datetime | None) -> pl.DataFrame:
    if p.cluster is not None:
        require_one_of("cluster", p.cluster, ds.clusters)
    if p.workload is not None:
        names = ds.scan("pods", cluster=p.cluster, namespace=p.namespace).select(
            "workload_name", "workload_kind"
        )
        names = names.unique().collect().drop_nulls("workload_name")
        pool = names["workload_name"].to_list() + [f"{k}/{n}" for n, k in names.iter_rows() if k]
        require_one_of("workload", p.workload, pool)
    pods = ds.pods(cluster=p.cluster, namespace=p.namespace, workload=p.workload, start=lo, end=hi)
    for name in p.pods:
        require_one_of("pod", name, pods["name"].to_list())
    if p.pods:
        pods = pods.filter(pl.col("name").is_in(list(p.pods)))
    return pods.sort("cluster", "namespace", "name")


def _long(frame: pl.DataFrame, column: str, metric: str, *, scale: float = 1.0) -> pl.DataFrame:
    return frame.filter(pl.col(column).is_not_null()).select(
        "cluster",
        "namespace",
        "pod",
        pl.lit(metric).alias("metric"),
        pl.lit(METRICS[metric][0]).alias("unit"),
        "ts",
        (pl.col(column).cast(pl.Float64) * scale).alias("value"),
    )


def _lifetime_grid(pods: pl.DataFrame, lo: dt.datetime, hi: dt.datetime, step_us: int) -> pl.DataFrame:
    """(cluster, namespace, pod, ts) for every bucket in which the pod existed."""
    g = usage.grid(lo, hi, step_us).to_frame()
    step = dt.timedelta(microseconds=step_us)
    p = pods.select("cluster", "namespace", pl.col("name").alias("pod"), "created", "deleted")
    return (
        p.join(g, how="cross")
        .filter(
            pl.col("created").is_null() | (pl.col("created") < pl.col("ts") + step),
            pl.col("deleted").is_null() | (pl.col("deleted") >= pl.col("ts")),
        )
        .select("cluster", "namespace", "pod", "ts")
    )


def _pvc_claims(ds: Dataset, pods: pl.DataFrame) -> pl.DataFrame:
    """(cluster, namespace, pod, persistentvolumeclaim) from the pods' latest manifests."""
    schema = {
        "cluster": pl.String,
        "namespace": pl.String,
        "pod": pl.String,
        "persistentvolumeclaim": pl.String,
    }
    revs = ds.scan("objects", cluster=pods["cluster"].unique().to_list(), latest=False).filter(
        pl.col("kind") == "Pod", pl.col("uid").is_in(pods["uid"].drop_nulls().implode())
    ).sort("observed_at").group_by("cluster", "uid").agg(pl.col("namespace").last(), pl.col("name").last(),
                                                          pl.col("manifest").last()).collect()  # fmt: skip
    if revs.is_empty():
        return pl.DataFrame(schema=schema)
    vol = pl.Struct({"persistentVolumeClaim": pl.Struct({"claimName": pl.String})})
    claims = revs.with_columns(
        pl.col("manifest").str.json_decode(pl.Struct({"spec": pl.Struct({"volumes": pl.List(vol)})}))
        .struct.field("spec").struct.field("volumes").alias("v")
    ).explode("v").select(
        "cluster", "namespace", pl.col("name").alias("pod"),
        pl.col("v").struct.field("persistentVolumeClaim").struct.field("claimName").alias("persistentvolumeclaim"),
    )  # fmt: skip
    return claims.drop_nulls("persistentvolumeclaim").unique().cast(schema)  # type: ignore[arg-type]


def _events(ds: Dataset, pods: pl.DataFrame, grid: pl.DataFrame, lo: dt.datetime, hi: dt.datetime,
            step_us: int) -> pl.DataFrame:  # fmt: skip
    ev = ds.events(cluster=pods["cluster"].unique().to_list(), pod=pods["name"].to_list(), start=lo, end=hi)
    ev = ev.filter(pl.col("involved_kind").is_null() | (pl.col("involved_kind") == "Pod")).with_columns(
        pl.coalesce("involved_namespace", "namespace").alias("namespace_")
    ).join(pods.select("cluster", pl.col("namespace").alias("namespace_"), pl.col("name").alias("involved_name")),
           on=["cluster", "namespace_", "involved_name"])  # fmt: skip
    every = f"{step_us}us"
    first = pl.coalesce("first_time", "last_time", "observed_at").dt.truncate(every)
    last = pl.coalesce("last_time", "first_time", "observed_at").dt.truncate(every)
    spread = (
        ev.filter(first.is_not_null())
        .with_columns(
            pl.datetime_ranges(first, pl.max_horizontal(first, last), interval=every).alias("ts"),
            pl.col("count").fill_null(1).clip(1).cast(pl.Float64).alias("n"),
        )
        .with_columns((pl.col("n") / pl.col("ts").list.len()).alias("n"))
        .explode("ts")
    )
    counts = spread.group_by("cluster", pl.col("namespace_").alias("namespace"),
                             pl.col("involved_name").alias("pod"), "ts").agg(
        pl.col("n").filter(pl.col("type") == "Normal").sum().alias("events_normal"),
        pl.col("n").filter(pl.col("type") == "Warning").sum().alias("events_warning"),
    )  # fmt: skip
    counts = counts.with_columns(pl.col("ts").cast(TS))
    return grid.join(counts, on=_KEYS, how="left").with_columns(
        pl.col("events_normal", "events_warning").fill_null(0.0)
    )


def browse(ds: Dataset, params: PerfParams | None = None, **changes: Any) -> PerfView:
    """The chosen metrics of the chosen pods, aligned per bucket (:class:`PerfView`)."""
    p = resolve_params(PerfParams, params, changes)
    lo, hi = p.start or ds.window[0], p.end or ds.window[1]
    pods = _pods(ds, p, lo, hi)
    empty = PerfView(p, pods, usage.empty(LONG_COLUMNS), usage.empty(SUMMARY_COLUMNS))
    if pods.is_empty() or lo is None or hi is None:
        return empty
    step_us = usage.micros(p.step)
    names = pods["name"].unique().to_list()
    f = {"cluster": pods["cluster"].unique().to_list(), "namespace": pods["namespace"].unique().to_list(),
         "pod": names, "start": lo, "end": hi}  # fmt: skip
    want = set(p.metrics)
    ids = pods.select("cluster", "namespace", pl.col("name").alias("pod"))
    parts: list[pl.DataFrame] = []
    if want & {"cpu_usage", "memory_usage", "network_rx", "network_tx"}:
        use = usage.pod_usage(ds, step=p.step, **f).join(ids, on=["cluster", "namespace", "pod"], how="semi")
        for m, col, k in (("cpu_usage", "cpu_cores", 1000.0), ("memory_usage", "memory_bytes", 1.0),
                          ("network_rx", "network_rx_bytes_per_s", 1.0), ("network_tx", "network_tx_bytes_per_s", 1.0)):  # fmt: skip
            if m in want:
                parts.append(_long(use, col, m, scale=k))
    grid = _lifetime_grid(pods, lo, hi, step_us)
    res = [m for m in ("cpu_request", "cpu_limit", "memory_request", "memory_limit") if m in want]
    if res:
        g = grid.join(
            pods.select("cluster", "namespace", pl.col("name").alias("pod"), *res),
            on=["cluster", "namespace", "pod"],
        )
        parts += [_long(g, m, m, scale=1000.0 if m.startswith("cpu") else 1.0) for m in res]
    if "cpu_throttled" in want:
        b = usage.bucketed(
            ds, [usage.THROTTLED, usage.PERIODS], kind="counter", step=p.step, containers_only=True, **f
        )
        t = b.group_by(_KEYS).agg(
            (pl.col("mean").filter(pl.col("metric") == usage.THROTTLED).sum()
             / pl.col("mean").filter(pl.col("metric") == usage.PERIODS).sum() * 100.0).alias("v")
        ).filter(pl.col("v").is_finite())  # fmt: skip
        parts.append(_long(t, "v", "cpu_throttled"))
    if "fs_usage" in want:
        b = usage.bucketed(
            ds, "container_fs_usage_bytes", kind="gauge", step=p.step, containers_only=True, **f
        )
        parts.append(_long(b.group_by(_KEYS).agg(pl.col("mean").sum()), "mean", "fs_usage"))
    if "volume_usage" in want:
        claims = _pvc_claims(ds, pods)
        if claims.height:
            b = usage.bucketed(ds, "kubelet_volume_stats_used_bytes", kind="gauge", step=p.step, start=lo, end=hi,
                               cluster=f["cluster"], namespace=f["namespace"])  # fmt: skip
            b = b.with_columns(
                pl.col("labels").str.json_path_match("$.persistentvolumeclaim").alias("persistentvolumeclaim")
            )
            v = claims.join(b.drop("pod"), on=["cluster", "namespace", "persistentvolumeclaim"])
            parts.append(_long(v.group_by(_KEYS).agg(pl.col("mean").sum()), "mean", "volume_usage"))
    if want & {"events_normal", "events_warning"}:
        ev = _events(ds, pods, grid, lo, hi, step_us)
        parts += [_long(ev, m, m) for m in ("events_normal", "events_warning") if m in want]
    parts = [x for x in parts if x.height]
    if not parts:
        return empty
    order = {m: i for i, m in enumerate(METRICS)}
    data = pl.concat(parts).filter(pl.col("ts") >= usage.grid(lo, lo, step_us)[0], pl.col("ts") < hi)
    data = usage.shape(data, LONG_COLUMNS).sort(
        "cluster", "namespace", "pod", pl.col("metric").replace_strict(order, return_dtype=pl.Int32), "ts"
    )
    return PerfView(p, pods, data, summarise(data))


def summarise(data: pl.DataFrame) -> pl.DataFrame:
    """Per pod and metric: mean, p95, max, last and number of buckets (:data:`SUMMARY_COLUMNS`)."""
    if data.is_empty():
        return usage.empty(SUMMARY_COLUMNS)
    order = {m: i for i, m in enumerate(METRICS)}
    out = (
        data.sort("ts")
        .group_by("cluster", "namespace", "pod", "metric", "unit")
        .agg(
            pl.col("value").mean().alias("mean"),
            pl.col("value").quantile(0.95, interpolation="linear").alias("p95"),
            pl.col("value").max().alias("max"),
            pl.col("value").last().alias("last"),
            pl.len().cast(pl.Int64).alias("samples"),
        )
    )
    return usage.shape(out, SUMMARY_COLUMNS).sort(
        "cluster",
        "namespace",
        "pod",
        pl.col("metric").replace_strict(order, default=99, return_dtype=pl.Int32),
    )
