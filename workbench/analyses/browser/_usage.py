"""CPU and memory usage of containers from the metrics table.

Samples are stored raw, under the exporters' names (see
:mod:`workbench.sources.prometheus.catalogue`): ``container_cpu_usage_seconds_total`` is a
cumulative counter, ``container_memory_working_set_bytes`` a gauge. CPU usage is the counter's
increase divided by the time it covers, per series; a drop is a counter reset (the container
restarted) and the value after it counts as the increase from zero, as PromQL's ``rate`` does.
Series of one container that differ only in other labels (an old and a new cgroup, two
scrapers) are duplicates of one quantity: the largest is kept, never the sum.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.analyses.manifests._objects import TS
from workbench.analyses.usage import increments
from workbench.store import Dataset

__all__ = [
    "CPU_METRIC",
    "MEMORY_METRIC",
    "USAGE_COLUMNS",
    "SERIES_COLUMNS",
    "usage_frame",
    "usage_series",
    "read_samples",
]

CPU_METRIC = "container_cpu_usage_seconds_total"
MEMORY_METRIC = "container_memory_working_set_bytes"
_KEY = ["cluster", "namespace", "pod", "container"]
_SERIES = [*_KEY, "node", "labels"]

USAGE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "container": pl.String(),
    "cpu_usage": pl.Float64(),
    "memory_usage": pl.Float64(),
}

SERIES_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "container": pl.String(),
    "ts": TS,
    "cpu_usage": pl.Float64(),
    "memory_usage": pl.Float64(),
}


def _container_rows(samples: pl.DataFrame) -> pl.DataFrame:
    return samples.filter(
        pl.col("container").is_not_null()
        & ~pl.col("container").is_in(["", "POD"])
        & pl.col("pod").is_not_null()
    )


def _increments(cpu: pl.LazyFrame) -> pl.LazyFrame:
    """Per sample of each counter series: the increase since the previous sample (a reset counts
    from zero) and the seconds since it (:func:`workbench.analyses.usage.increments`)."""
    return increments(cpu, by=_SERIES)


def usage_frame(
    samples: pl.DataFrame, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> pl.DataFrame:
    """Mean CPU (cores) and memory (bytes) per container over ``start``..``end``
    (:data:`USAGE_COLUMNS`) from metric samples in the wide form (cluster, metric, namespace,
    pod, container, node, labels, ts, value). A container with fewer than two CPU samples in
    the window has no CPU usage."""
    rows = _container_rows(samples)
    if start is not None:
        rows = rows.filter(pl.col("ts") >= start)
    if end is not None:
        rows = rows.filter(pl.col("ts") <= end)
    if rows.is_empty():
        return pl.DataFrame(schema=USAGE_COLUMNS)
    cpu = (
        _increments(rows.lazy().filter(pl.col("metric") == CPU_METRIC))
        .group_by(_SERIES)
        .agg(pl.col("increase").sum(), pl.col("seconds").sum())
        .filter(pl.col("seconds") > 0)
        .with_columns((pl.col("increase") / pl.col("seconds")).alias("cpu_usage"))
        .group_by(_KEY)
        .agg(pl.col("cpu_usage").max())
    )
    mem = (
        rows.lazy()
        .filter(pl.col("metric") == MEMORY_METRIC)
        .group_by(_SERIES)
        .agg(pl.col("value").mean())
        .group_by(_KEY)
        .agg(pl.col("value").max().alias("memory_usage"))
    )
    out = cpu.join(mem, on=_KEY, how="full", coalesce=True, nulls_equal=True).collect()
    return out.select(list(USAGE_COLUMNS)).cast(USAGE_COLUMNS).sort(_KEY)  # type: ignore[arg-type]


def usage_series(samples: pl.DataFrame, *, bucket: str = "1m") -> pl.DataFrame:
    """CPU (cores) and memory (bytes) per container and time bucket (:data:`SERIES_COLUMNS`):
    the CPU rate between consecutive samples and the memory samples, averaged per bucket."""
    rows = _container_rows(samples)
    if rows.is_empty():
        return pl.DataFrame(schema=SERIES_COLUMNS)
    cpu = (
        _increments(rows.lazy().filter(pl.col("metric") == CPU_METRIC))
        .filter(pl.col("seconds") > 0)
        .with_columns(pl.col("rate").alias("_rate"), pl.col("ts").dt.truncate(bucket))
        .group_by([*_SERIES, "ts"])
        .agg(pl.col("_rate").mean())
        .group_by([*_KEY, "ts"])
        .agg(pl.col("_rate").max().alias("cpu_usage"))
    )
    mem = (
        rows.lazy()
        .filter(pl.col("metric") == MEMORY_METRIC)
        .with_columns(pl.col("ts").dt.truncate(bucket))
        .group_by([*_SERIES, "ts"])
        .agg(pl.col("value").mean())
        .group_by([*_KEY, "ts"])
        .agg(pl.col("value").max().alias("memory_usage"))
    )
    out = cpu.join(mem, on=[*_KEY, "ts"], how="full", coalesce=True, nulls_equal=True).collect()
    return out.select(list(SERIES_COLUMNS)).cast(SERIES_COLUMNS).sort([*_KEY, "ts"])  # type: ignore[arg-type]


def read_samples(
    ds: Dataset,
    *,
    cluster: str | list[str] | None,
    namespace: str | list[str] | None,
    pods: list[str] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> pl.DataFrame:
    """The CPU and memory samples of these pods (all pods when None) in the window."""
    if pods is not None and not pods:
        return ds.metrics(metric=[CPU_METRIC, MEMORY_METRIC], cluster=cluster, pod=["\0"]).head(0)
    return ds.metrics(metric=[CPU_METRIC, MEMORY_METRIC], cluster=cluster, namespace=namespace, pod=pods,
                      start=start, end=end)  # fmt: skip
