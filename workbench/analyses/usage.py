"""Resource usage from the metric tables, shared by the cluster, pod start, performance and
right-sizing analyses.

Counters are stored raw (cumulative, resetting when a container restarts), so every rate is
computed here, one way: per series, ``(v[i] - v[i-1]) / (t[i] - t[i-1])``; when the counter went
down it was reset and the increase is ``v[i]`` (as Prometheus' ``rate`` counts it). The first
sample of a series has no rate; neither has a sample at the same time as the one before.

- :func:`increments`: that rule as columns (``increase``, ``seconds``, ``rate``) on any frame,
  per series named by key columns (the anomaly and resource browser analyses use it too);
  :func:`counter_rate` keeps only the rates.
- :func:`stream_rates`: the same over a lazy scan of the ``metrics`` table without sorting it
  (it is stored sorted by series and time in each part; the pairs spanning two parts are
  added from the parts' edges).
- :func:`series_stats` / :func:`metric_stats`: per series, count, mean, max, total increase and
  percentiles of a gauge's values or a counter's rates, for many metrics in **one pass** over
  the samples in storage order: compiled kernels (numba, :mod:`._series_kernels`) follow each
  series' runs, pair a counter's samples across parts, and rank each series' values with a
  histogram instead of a sort. The fast path of right-sizing (benchmark B1).
- :func:`bucketed`: per series and time bucket, the mean and max of the values (gauges) or rates
  (counters), joined to their labels after aggregation. :func:`cell_buckets` gives the same
  aggregates from per-series 5-minute sums made once for a whole snapshot
  (:mod:`._usage_cells`), for windows on their grid.

Usage over time (``step`` is a bucket width such as ``"1m"``; ``ts`` is the bucket start):

- :func:`container_usage`: :data:`CONTAINER_USAGE_COLUMNS`; ``cpu_cores`` is the mean rate of
  ``container_cpu_usage_seconds_total`` in the bucket, ``memory_bytes`` the mean and
  ``memory_max_bytes`` the max of ``container_memory_working_set_bytes``. Series without a
  container name or named ``POD`` (cgroup totals, the pause container) are left out; series
  that differ only in other labels (an old and a new cgroup around a restart) count once (max).
- :func:`pod_usage`: :data:`POD_USAGE_COLUMNS`: containers added per pod, plus the pod's
  network receive/transmit bytes per second (all interfaces added).
- :func:`node_usage`: :data:`NODE_USAGE_COLUMNS`: node CPU busy cores (``node_cpu_seconds_total``
  of every mode but idle and iowait) and memory in use (``MemTotal - MemAvailable``) from
  node-exporter when the node has them (``source="node-exporter"``), else the sum of its
  containers (``source="containers"``); a node-exporter figure below its containers' sum gives
  way to that sum (a node is busy at least as much as its containers); ``pods_cpu_cores``/``pods_memory_bytes`` are always the
  containers' sum; network is the sum over the node's pods.
- :func:`requests_over_time`: :data:`REQUESTS_COLUMNS`: per node and bucket, the pods bound to
  the node during the bucket and the sum of their requests and limits (``pods`` table).

A pod holds its node's resources from ``scheduled`` (else ``created``) until ``deleted``, or until
it reached Succeeded/Failed (the first such revision in ``objects``; else its last observation).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from workbench.analyses._rates import (
    COUNTER_SUFFIXES,
    STATS_COLUMNS,
    counter_rate,
    increments,
    metric_kind,
    metric_stats,
    qname,
    series_stats,
    stream_rates,
)
from workbench.analyses._usage_cells import Cells, window_buckets
from workbench.analyses.params import parse_duration
from workbench.store import Dataset, to_utc

__all__ = [
    "CONTAINER_USAGE_COLUMNS", "COUNTER_SUFFIXES", "CPU", "MEMORY", "NET_RX", "NET_TX", "NODE_USAGE_COLUMNS", "PERIODS",
    "POD_USAGE_COLUMNS", "REQUESTS_COLUMNS", "STATS_COLUMNS", "THROTTLED", "bucketed", "cell_buckets", "container_usage",
    "counter_rate", "increments", "is_app_container", "metric_kind", "metric_stats", "micros", "node_series",
    "node_usage", "nsum", "pod_intervals", "pod_usage", "qname", "read_samples", "requests_over_time", "series_stats",
    "stream_rates",
]  # fmt: skip

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
Kind = Literal["counter", "gauge"]

CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
NET_RX = "container_network_receive_bytes_total"
NET_TX = "container_network_transmit_bytes_total"
THROTTLED = "container_cpu_cfs_throttled_periods_total"
PERIODS = "container_cpu_cfs_periods_total"
NODE_CPU = "node_cpu_seconds_total"
NODE_MEM_AVAILABLE = "node_memory_MemAvailable_bytes"
NODE_MEM_TOTAL = "node_memory_MemTotal_bytes"
#: node-exporter CPU modes that are not work.
IDLE_MODES = ("idle", "iowait")

_KEY = {"cluster": pl.String(), "namespace": pl.String(), "pod": pl.String()}
CONTAINER_USAGE_COLUMNS: dict[str, pl.DataType] = {
    **_KEY,
    "container": pl.String(),
    "node": pl.String(),
    "ts": TS,
    "cpu_cores": pl.Float64(),
    "memory_bytes": pl.Float64(),
    "memory_max_bytes": pl.Float64(),
}
POD_USAGE_COLUMNS: dict[str, pl.DataType] = {
    **_KEY,
    "node": pl.String(),
    "ts": TS,
    "cpu_cores": pl.Float64(),
    "memory_bytes": pl.Float64(),
    "memory_max_bytes": pl.Float64(),
    "network_rx_bytes_per_s": pl.Float64(),
    "network_tx_bytes_per_s": pl.Float64(),
}
NODE_USAGE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "node": pl.String(),
    "ts": TS,
    "cpu_cores": pl.Float64(),
    "memory_bytes": pl.Float64(),
    "pods_cpu_cores": pl.Float64(),
    "pods_memory_bytes": pl.Float64(),
    "network_rx_bytes_per_s": pl.Float64(),
    "network_tx_bytes_per_s": pl.Float64(),
    "source": pl.String(),
}
REQUESTS_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "node": pl.String(),
    "ts": TS,
    "pods": pl.Int64(),
    "cpu_requests": pl.Float64(),
    "cpu_limits": pl.Float64(),
    "memory_requests": pl.Float64(),
    "memory_limits": pl.Float64(),
}
_BUCKET_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "metric": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "container": pl.String(),
    "node": pl.String(),
    "labels": pl.String(),
    "ts": TS,
    "mean": pl.Float64(),
    "max": pl.Float64(),
    "samples": pl.UInt32(),
}


def micros(value: str | dt.timedelta, *, what: str = "duration") -> int:
    """A duration (``"15s"``, ``"5m"``, ``"1h30m"``; see :func:`params.parse_duration`) in whole
    microseconds, the unit of the snapshot's timestamps."""
    return parse_duration(value, what=what) // dt.timedelta(microseconds=1)


def empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with these columns (no data is never ``None``)."""
    return pl.DataFrame(schema=columns)


def shape(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``columns``, in order and cast (missing ones become null)."""
    return frame.select(
        [
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in columns.items()
        ]
    )


def nsum(column: str) -> pl.Expr:
    """The sum of a column in a group, null when all its values are null."""
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum()).alias(column)


def is_app_container() -> pl.Expr:
    """True for series of a real container (not a cgroup total, not the pause container)."""
    return pl.col("container").is_not_null() & ~pl.col("container").is_in(["", "POD"])


def _names(value: Any) -> list[str] | None:
    if value is None or value == "" or value == ():
        return None
    return [value] if isinstance(value, str) else list(value)


def select_series(ds: Dataset, metric: str | Sequence[str], *, cluster: Any = None, namespace: Any = None,
                  pod: Any = None, workload: str | None = None, node: Any = None,
                  containers_only: bool = False) -> pl.DataFrame:  # fmt: skip
    """The ``series`` rows of ``metric`` matching the filters (``containers_only``: real
    containers, see :func:`is_app_container`)."""
    filters = {k: v for k, v in (("cluster", _names(cluster)), ("namespace", _names(namespace)),
                                 ("pod", _names(pod)), ("node", _names(node))) if v is not None}  # fmt: skip
    if workload:
        series = ds.series(metric=metric, workload=workload, **filters)
    else:  # the dataset keeps the (small) series table in memory: filtered there, not read again
        series = ds.series(metric=metric)
        if filters:
            series = series.filter(*[pl.col(k).is_in(v) for k, v in filters.items()])
    if containers_only:
        series = series.filter(is_app_container())
    return series


def samples_of(ds: Dataset, series: pl.DataFrame, *, start: dt.datetime | None,
               end: dt.datetime | None) -> pl.LazyFrame:  # fmt: skip
    """The lazy samples (cluster, series_id, ts, value) of these series in ``[start, end]``."""
    if series.is_empty():
        return pl.LazyFrame(
            schema={"cluster": pl.String, "series_id": pl.UInt64, "ts": TS, "value": pl.Float64}
        )
    ids = series["series_id"].unique().sort()
    clusters = series["cluster"].unique().to_list()
    lf = ds.scan("metrics", cluster=clusters, start=start, end=end)
    return lf.filter(
        pl.col("series_id").is_between(ids.min(), ids.max()), pl.col("series_id").is_in(ids.implode())
    )


def _lookback(step_us: int) -> dt.timedelta:
    """How far before ``start`` a counter is read so that its first bucket has a rate."""
    return dt.timedelta(microseconds=max(step_us, 300_000_000))


def read_samples(ds: Dataset, series: pl.DataFrame, *, step: str = "1m", start: Any = None,
                 end: Any = None, kept: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """The samples (series_id, ts, value; in storage order) of ``series`` (rows of
    ``ds.series()``) that :func:`bucketed` reads for them with this ``step``, ``start`` and
    ``end``, read into memory once: pass them as its ``samples`` when several calls share one
    read of the metrics table. ``kept``: samples already in memory (of these series or more,
    over a longer time, in storage order, e.g. all of them read once), filtered instead of
    reading the table: the same rows in the same order."""
    lo, hi = to_utc(start) or ds.window[0], to_utc(end) or ds.window[1]
    first = None if lo is None else lo - _lookback(micros(step, what="step"))
    if kept is None:
        return samples_of(ds, series, start=first, end=hi).select("series_id", "ts", "value").collect()
    out = kept.lazy().select("series_id", "ts", "value")
    if first is not None:
        out = out.filter(pl.col("ts") >= first)
    if hi is not None:
        out = out.filter(pl.col("ts") <= hi)
    return out.filter(pl.col("series_id").is_in(series["series_id"].unique().implode())).collect()


def cell_buckets(ds: Dataset, cells: Cells, series: pl.DataFrame, *, step: str = "1m", start: Any = None,
                 end: Any = None) -> pl.DataFrame | None:  # fmt: skip
    """The rows :func:`bucketed` aggregates for ``series`` (series_id, ts, mean, max, samples)
    with this ``step``, ``start`` and ``end``, made from the cells of these series or more
    (:func:`._usage_cells.cells_of`, kept for a snapshot) instead of the samples: pass them as
    its ``buckets``. None when the window or step do not allow it (a start not on a 5-minute
    boundary, an end not on one of the step's, a step not a multiple of 5 minutes): read the
    samples then."""
    step_us = micros(step, what="step")
    lo, hi = to_utc(start) or ds.window[0], to_utc(end) or ds.window[1]
    return window_buckets(
        cells, series["series_id"], start=lo, end=hi, step_us=step_us, lookback=_lookback(step_us)
    )


_BUCKET_ORDER = ("cluster", "metric", "namespace", "pod", "container", "ts")


def bucketed(ds: Dataset, metric: str | Sequence[str], *, kind: Kind, step: str = "1m",
             start: Any = None, end: Any = None, containers_only: bool = False,
             series_filter: pl.Expr | None = None, samples: pl.DataFrame | None = None,
             buckets: pl.DataFrame | None = None, **filters: Any) -> pl.DataFrame:  # fmt: skip
    """Per series and bucket of ``step``: mean and max of the values (gauge) or rates (counter)
    and the number of samples, with the series' labels (columns cluster, metric, namespace, pod,
    container, node, labels, ts, mean, max, samples). Counters read one ``step`` (at least 5
    minutes) before ``start`` so the first bucket has a rate; buckets start before ``end``.
    ``start``/``end`` default to the snapshot's window. ``series_filter``: an expression on the
    series' labels that keeps only some (applied before any sample is read). ``samples``: the
    samples already read (:func:`read_samples` of these series or more, with the same window
    and step) instead of reading the table; ``buckets``: the rows aggregated already
    (:func:`cell_buckets` of these series or more, with the same window and step)."""
    return _bucketed(
        ds,
        metric,
        kind=kind,
        step=step,
        start=start,
        end=end,
        containers_only=containers_only,
        series_filter=series_filter,
        samples=samples,
        buckets=buckets,
        **filters,
    ).sort(list(_BUCKET_ORDER))


def _bucketed(ds: Dataset, metric: str | Sequence[str], *, kind: Kind, step: str, start: Any, end: Any,
              containers_only: bool = False, series_filter: pl.Expr | None = None,
              samples: pl.DataFrame | None = None, buckets: pl.DataFrame | None = None,
              **filters: Any) -> pl.DataFrame:  # fmt: skip
    """:func:`bucketed`, its rows in any order (for callers that aggregate them)."""
    step_us = micros(step, what="step")
    lo, hi = to_utc(start) or ds.window[0], to_utc(end) or ds.window[1]
    series = select_series(ds, metric, containers_only=containers_only, **filters)
    if series_filter is not None:
        series = series.filter(series_filter)
    if series.is_empty():
        return empty(_BUCKET_COLUMNS)
    if buckets is not None:
        agg = buckets.filter(pl.col("series_id").is_in(series["series_id"].unique().implode()))
        return shape(agg.join(series, on="series_id", how="inner"), _BUCKET_COLUMNS)
    first = None if lo is None else lo - _lookback(step_us) if kind == "counter" else lo
    if samples is None:
        lf = samples_of(ds, series, start=first, end=hi).select("series_id", "ts", "value")
        if kind == "counter":  # stream_rates goes over its input twice: read it once
            lf = lf.collect().lazy()
    else:
        lf = samples.lazy().filter(pl.col("series_id").is_in(series["series_id"].unique().implode()))
        if first is not None:
            lf = lf.filter(pl.col("ts") >= first)
        if hi is not None:
            lf = lf.filter(pl.col("ts") <= hi)
    lf = stream_rates(lf).drop("increase") if kind == "counter" else lf
    lf = lf.with_columns(pl.col("ts").dt.truncate(f"{step_us}us"))
    if lo is not None:
        lf = lf.filter(pl.col("ts") >= grid(lo, lo, step_us)[0])
    if hi is not None:
        lf = lf.filter(pl.col("ts") < hi)
    agg = (
        lf.group_by("series_id", "ts")
        .agg(
            pl.col("value").mean().alias("mean"),
            pl.col("value").max().alias("max"),
            pl.len().cast(pl.UInt32).alias("samples"),
        )
        .collect()
    )
    return shape(agg.join(series, on="series_id", how="inner"), _BUCKET_COLUMNS)


def _container_keys() -> list[str]:
    return ["cluster", "namespace", "pod", "container"]


def container_usage(ds: Dataset, *, cluster: Any = None, namespace: Any = None, pod: Any = None,
                    workload: str | None = None, start: Any = None, end: Any = None,
                    step: str = "1m", samples: pl.DataFrame | None = None,
                    buckets: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """CPU and memory per container and bucket (:data:`CONTAINER_USAGE_COLUMNS`); ``samples``
    and ``buckets`` as for :func:`bucketed` (samples read once for both metrics when neither
    is given)."""
    return _container_usage(
        ds,
        cluster=cluster,
        namespace=namespace,
        pod=pod,
        workload=workload,
        start=start,
        end=end,
        step=step,
        samples=samples,
        buckets=buckets,
    ).sort([*_container_keys(), "ts"])


def _container_usage(ds: Dataset, *, cluster: Any, namespace: Any, pod: Any, workload: str | None, start: Any,
                     end: Any, step: str, samples: pl.DataFrame | None,
                     buckets: pl.DataFrame | None) -> pl.DataFrame:  # fmt: skip
    """:func:`container_usage`, its rows in any order."""
    f = {"cluster": cluster, "namespace": namespace, "pod": pod, "workload": workload}
    keys = [*_container_keys(), "ts"]
    w = {"step": step, "start": start, "end": end}
    if samples is None and buckets is None:
        samples = read_samples(ds, select_series(ds, [CPU, MEMORY], containers_only=True, **f), **w)
    read = {"samples": samples, "buckets": buckets}
    cpu = _bucketed(ds, CPU, kind="counter", containers_only=True, **read, **w, **f)
    mem = _bucketed(ds, MEMORY, kind="gauge", containers_only=True, **read, **w, **f)
    if cpu.is_empty() and mem.is_empty():
        return empty(CONTAINER_USAGE_COLUMNS)
    c = cpu.group_by(keys).agg(pl.col("mean").max().alias("cpu_cores"), pl.col("node").drop_nulls().first())
    m = mem.group_by(keys).agg(
        pl.col("mean").max().alias("memory_bytes"),
        pl.col("max").max().alias("memory_max_bytes"),
        pl.col("node").drop_nulls().first().alias("node_m"),
    )
    out = c.join(m, on=keys, how="full", coalesce=True, nulls_equal=True)
    out = out.with_columns(pl.coalesce("node", "node_m").alias("node"))
    out = fill_nodes(ds, out)
    return shape(out, CONTAINER_USAGE_COLUMNS)


def fill_nodes(ds: Dataset, frame: pl.DataFrame) -> pl.DataFrame:
    """Fill a null ``node`` from the pods table (raw cAdvisor scrapes carry no node label)."""
    if frame.is_empty() or frame["node"].null_count() == 0:
        return frame
    pods = (
        ds.scan("pods", cluster=frame["cluster"].unique().to_list())
        .select("cluster", "namespace", pl.col("name").alias("pod"), pl.col("node").alias("_pod_node"))
        .unique(["cluster", "namespace", "pod"], keep="last")
        .collect()
    )
    return (
        frame.join(pods, on=["cluster", "namespace", "pod"], how="left", nulls_equal=True)
        .with_columns(pl.coalesce("node", "_pod_node").alias("node"))
        .drop("_pod_node")
    )


def pod_usage(ds: Dataset, *, cluster: Any = None, namespace: Any = None, pod: Any = None,
              workload: str | None = None, start: Any = None, end: Any = None,
              step: str = "1m", samples: pl.DataFrame | None = None,
              buckets: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """CPU, memory and network per pod and bucket (:data:`POD_USAGE_COLUMNS`); ``samples`` and
    ``buckets`` as for :func:`bucketed` (samples read once for the four metrics when neither
    is given)."""
    return _pod_usage(
        ds,
        cluster=cluster,
        namespace=namespace,
        pod=pod,
        workload=workload,
        start=start,
        end=end,
        step=step,
        samples=samples,
        buckets=buckets,
    ).sort("cluster", "namespace", "pod", "ts")


def _pod_usage(
    ds: Dataset,
    *,
    cluster: Any,
    namespace: Any,
    pod: Any,
    workload: str | None,
    start: Any,
    end: Any,
    step: str,
    samples: pl.DataFrame | None,
    buckets: pl.DataFrame | None,
) -> pl.DataFrame:
    """:func:`pod_usage`, its rows in any order."""
    f = {"cluster": cluster, "namespace": namespace, "pod": pod, "workload": workload}
    keys = ["cluster", "namespace", "pod", "ts"]
    w = {"step": step, "start": start, "end": end}
    if samples is None and buckets is None:
        samples = read_samples(ds, select_series(ds, _POD_METRICS, **f), **w)
    read = {"samples": samples, "buckets": buckets}
    cont = _container_usage(ds, **read, **w, **f)
    per_pod = cont.group_by(keys).agg(
        nsum("cpu_cores"),
        nsum("memory_bytes"),
        nsum("memory_max_bytes"),
        pl.col("node").drop_nulls().first(),
    )
    net = _bucketed(ds, [NET_RX, NET_TX], kind="counter", **read, **w, **f)
    net = (
        net.filter(pl.col("pod").is_not_null())
        .group_by([*keys, "metric"])
        .agg(pl.col("mean").sum(), pl.col("node").drop_nulls().first())
    )
    rx = net.filter(pl.col("metric") == NET_RX).select(*keys, pl.col("mean").alias("network_rx_bytes_per_s"),
                                                       pl.col("node").alias("node_rx"))  # fmt: skip
    tx = net.filter(pl.col("metric") == NET_TX).select(*keys, pl.col("mean").alias("network_tx_bytes_per_s"))
    out = per_pod
    for other in (rx, tx):
        out = out.join(other, on=keys, how="full", coalesce=True, nulls_equal=True)
    if out.is_empty():
        return empty(POD_USAGE_COLUMNS)
    out = out.with_columns(pl.coalesce("node", "node_rx").alias("node"))
    return shape(fill_nodes(ds, out), POD_USAGE_COLUMNS)


_POD_METRICS = [CPU, MEMORY, NET_RX, NET_TX]


def _busy_cpu() -> pl.Expr:
    """Series other than node-exporter's idle CPU time (:data:`IDLE_MODES`)."""
    return (pl.col("metric") != NODE_CPU) | ~pl.col("labels").str.json_path_match("$.mode").is_in(IDLE_MODES)


def node_series(ds: Dataset, *, cluster: Any = None, node: Any = None) -> pl.DataFrame:
    """The series :func:`node_usage` reads (``ds.series()`` rows): the pods' CPU, memory and
    network, and node-exporter's busy CPU and memory."""
    nodes = select_series(ds, [NODE_CPU, NODE_MEM_TOTAL, NODE_MEM_AVAILABLE], cluster=cluster, node=node)
    return pl.concat([select_series(ds, _POD_METRICS, cluster=cluster), nodes.filter(_busy_cpu())])


def node_usage(ds: Dataset, *, cluster: Any = None, node: Any = None, start: Any = None, end: Any = None,
               step: str = "1m", samples: pl.DataFrame | None = None,
               buckets: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """CPU, memory and network per node and bucket (:data:`NODE_USAGE_COLUMNS`). ``samples``:
    the samples already read (:func:`read_samples` of :func:`node_series`, or of more series
    or a longer time, in storage order) instead of reading the table; ``buckets``: the rows
    aggregated already (:func:`cell_buckets` of :func:`node_series` or more series, with the
    same window and step)."""
    keys = ["cluster", "node", "ts"]
    w = {"step": step, "start": start, "end": end}
    # one read of the table for the pods' and the nodes' metrics
    if samples is None and buckets is None:
        samples = read_samples(ds, node_series(ds, cluster=cluster, node=node), **w)
    read = {"samples": samples, "buckets": buckets}
    pods = _pod_usage(ds, cluster=cluster, namespace=None, pod=None, workload=None, **read, **w)
    if node is not None:
        pods = pods.filter(pl.col("node").is_in(_names(node)))
    from_pods = (
        pods.filter(pl.col("node").is_not_null())
        .group_by(keys)
        .agg(
            nsum("cpu_cores").alias("pods_cpu_cores"),
            nsum("memory_bytes").alias("pods_memory_bytes"),
            nsum("network_rx_bytes_per_s"),
            nsum("network_tx_bytes_per_s"),
        )
    )
    cpu = _bucketed(ds, NODE_CPU, kind="counter", series_filter=_busy_cpu(), **read, cluster=cluster,
                   node=node, **w)  # fmt: skip
    cpu = cpu.filter(pl.col("node").is_not_null()).group_by(keys).agg(pl.col("mean").sum().alias("ne_cpu"))
    mem = _bucketed(ds, [NODE_MEM_TOTAL, NODE_MEM_AVAILABLE], kind="gauge", **read, cluster=cluster,
                   node=node, **w)  # fmt: skip
    mem = mem.filter(pl.col("node").is_not_null()).group_by(keys).agg(
        (pl.col("mean").filter(pl.col("metric") == NODE_MEM_TOTAL).max()
         - pl.col("mean").filter(pl.col("metric") == NODE_MEM_AVAILABLE).max()).alias("ne_mem")
    )  # fmt: skip
    out = from_pods
    for other in (cpu, mem):
        out = out.join(other, on=keys, how="full", coalesce=True, nulls_equal=True)
    if out.is_empty():
        return empty(NODE_USAGE_COLUMNS)
    has_ne = pl.col("ne_cpu").is_not_null() | pl.col("ne_mem").is_not_null()
    # A node is busy at least as much as its containers: a node-exporter figure below their sum
    # (scrapes at different moments) gives way to the sum.
    out = out.with_columns(
        pl.max_horizontal("ne_cpu", "pods_cpu_cores").alias("cpu_cores"),
        pl.max_horizontal("ne_mem", "pods_memory_bytes").alias("memory_bytes"),
        pl.when(has_ne).then(pl.lit("node-exporter")).otherwise(pl.lit("containers")).alias("source"),
    )
    return shape(out, NODE_USAGE_COLUMNS).sort(keys)


def _terminal_times(ds: Dataset, pods: pl.DataFrame) -> pl.DataFrame:
    """When each Succeeded/Failed pod was first seen terminal (cluster, uid, terminal_at)."""
    done = pods.filter(
        pl.col("phase").cast(pl.String).is_in(["Succeeded", "Failed"]) & pl.col("uid").is_not_null()
    )
    schema = {"cluster": pl.String, "uid": pl.String, "terminal_at": TS}
    if done.is_empty():
        return pl.DataFrame(schema=schema)
    revs = (
        ds.scan("objects", cluster=done["cluster"].unique().to_list(), latest=False)
        .filter(pl.col("kind") == "Pod", pl.col("uid").is_in(done["uid"].unique().implode()))
        .filter(pl.col("manifest").str.json_path_match("$.status.phase").is_in(["Succeeded", "Failed"]))
        .group_by("cluster", "uid")
        .agg(pl.col("observed_at").min().alias("terminal_at"))
        .collect()
    )
    return revs.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def pod_intervals(ds: Dataset, *, cluster: Any = None, namespace: Any = None) -> pl.DataFrame:
    """The pods table with ``bound_from``/``bound_to``: when the pod held its node's resources
    (``bound_to`` null = still at the end). Pods never bound to a node are left out."""
    pods = ds.pods(cluster=_names(cluster), namespace=_names(namespace)).filter(pl.col("node").is_not_null())
    term = _terminal_times(ds, pods)
    pods = pods.join(term, on=["cluster", "uid"], how="left", nulls_equal=True)
    terminal = pl.col("phase").cast(pl.String).is_in(["Succeeded", "Failed"])
    return pods.with_columns(
        pl.coalesce("scheduled", "created").alias("bound_from"),
        pl.min_horizontal("deleted", pl.when(terminal).then(pl.coalesce("terminal_at", "observed_at"))).alias(
            "bound_to"
        ),
    )


def grid(lo: dt.datetime, hi: dt.datetime, step_us: int) -> pl.Series:
    """Bucket starts from ``lo`` (truncated to the step) up to, not including, ``hi``."""
    first = pl.Series([lo], dtype=TS).dt.truncate(f"{step_us}us")[0]
    last = max(first, hi - dt.timedelta(microseconds=1))
    return (
        pl.datetime_range(first, last, interval=f"{step_us}us", eager=True, time_zone="UTC")
        .cast(TS)
        .alias("ts")
    )


def requests_over_time(ds: Dataset, *, cluster: Any = None, start: Any = None, end: Any = None,
                       step: str = "5m", intervals: pl.DataFrame | None = None) -> pl.DataFrame:  # fmt: skip
    """Per node and bucket: pods bound to it during the bucket and their summed requests and
    limits (:data:`REQUESTS_COLUMNS`). The window defaults to the snapshot's. ``intervals``:
    :func:`pod_intervals` of ``cluster`` when already at hand."""
    step_us = micros(step, what="step")
    lo, hi = to_utc(start) or ds.window[0], to_utc(end) or ds.window[1]
    pods = pod_intervals(ds, cluster=cluster) if intervals is None else intervals
    if pods.is_empty() or lo is None or hi is None:
        return empty(REQUESTS_COLUMNS)
    g = grid(lo, hi, step_us).to_frame()
    step_d = dt.timedelta(microseconds=step_us)
    live = pods.filter(pl.col("bound_from") <= hi, pl.col("bound_to").is_null() | (pl.col("bound_to") >= lo))
    vals = ["cpu_request", "cpu_limit", "memory_request", "memory_limit"]
    # Each pod adds its values from the bucket holding bound_from and removes them after the
    # bucket holding bound_to: a running sum per node gives the pods bound during each bucket.
    live = live.with_columns(pl.lit(1).alias("n"), *[pl.col(v).cast(pl.Float64).fill_null(0.0) for v in vals])
    first = g["ts"][0]
    adds = live.select("cluster", "node", pl.max_horizontal(pl.col("bound_from").dt.truncate(f"{step_us}us"),
                                                            pl.lit(first)).alias("ts"), "n", *vals)  # fmt: skip
    subs = live.filter(pl.col("bound_to").is_not_null()).select(
        "cluster",
        "node",
        (pl.col("bound_to").dt.truncate(f"{step_us}us") + step_d).alias("ts"),
        -pl.col("n"),
        *[-pl.col(v) for v in vals],
    )
    deltas = pl.concat([adds, subs]).group_by("cluster", "node", "ts").agg(pl.col("n", *vals).sum())
    nodes = deltas.select("cluster", "node").unique()
    full = nodes.join(g, how="cross").join(deltas, on=["cluster", "node", "ts"], how="left")
    # deltas before the grid fold into its first bucket; after it they do not matter
    out = full.sort("cluster", "node", "ts").with_columns(
        pl.col("n", *vals).fill_null(0).cum_sum().over("cluster", "node")
    )
    out = out.select(
        "cluster",
        "node",
        "ts",
        pl.col("n").alias("pods"),
        pl.col("cpu_request").alias("cpu_requests"),
        pl.col("cpu_limit").alias("cpu_limits"),
        pl.col("memory_request").alias("memory_requests"),
        pl.col("memory_limit").alias("memory_limits"),
    )
    return shape(out, REQUESTS_COLUMNS).with_columns(
        pl.col("cpu_requests", "cpu_limits", "memory_requests", "memory_limits").round(9)
    )
