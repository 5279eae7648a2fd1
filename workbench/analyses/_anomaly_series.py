"""Time series for anomaly detection, built from a snapshot (re-exported by
:mod:`workbench.analyses.anomalies`).

- :func:`metric_series`: a metric per key (``by``) and bucket. Counters (names ending in
  ``_total``, ``_count`` or ``_sum``, e.g. ``container_cpu_usage_seconds_total``) become
  per-second rates: per raw series, the increase between samples (a drop means the counter
  restarted, so the increase is the new value, as Prometheus' ``rate`` does) divided by the
  time between them, summed per bucket. Gauges are averaged per raw series and bucket. Raw
  series sharing a key are then combined with ``agg`` (sum, mean, max). Columns: cluster,
  metric, the ``by`` columns, ts, value.
- :func:`span_series`: per service (``by``) and bucket, from entry spans (SERVER/CONSUMER
  spans and roots): ``tps`` (per second, 0 in buckets without spans), ``latency_p90_ms`` and
  ``error_rate`` (share of entry spans in error; buckets without spans are left out).
  Columns: the ``by`` columns, signal, ts, value.
- :func:`pattern_series`: lines per minute of each log pattern (the ``top`` most frequent),
  0 in buckets without lines. Columns: pattern_id, template, ts, value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.analyses import patterns as pat
from workbench.analyses.usage import COUNTER_SUFFIXES, increments
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = ["COUNTER_SUFFIXES", "counter_rate", "metric_series", "pattern_series", "span_series"]

TS = pl.Datetime("us", "UTC")
_RAW = ["cluster", "metric", "namespace", "pod", "container", "node", "labels"]
_AGGS = {"sum": pl.Expr.sum, "mean": pl.Expr.mean, "max": pl.Expr.max, "min": pl.Expr.min}


def _every(step: str | dt.timedelta) -> str:
    return f"{int(pat.step_duration(step).total_seconds())}s"


def counter_rate(frame: pl.DataFrame | pl.LazyFrame, *, series: Sequence[str], ts: str = "ts", value: str = "value") -> pl.LazyFrame:
    """Adds ``increase`` (since the previous sample of the same series; after a reset, the new
    value), ``seconds`` (time since that sample) and ``rate`` (increase per second). The first
    sample of a series has nulls. The rule is :func:`workbench.analyses.usage.increments`'."""
    return increments(frame, by=series, ts=ts, value=value)


def metric_series(
    source: Dataset | pl.DataFrame | pl.LazyFrame,
    metric: str | Sequence[str] | None = None,
    *,
    by: Sequence[str] = ("namespace", "pod", "container"),
    step: str | dt.timedelta = "1m",
    agg: str = "sum",
    counter: bool | None = None,
    **filters: Any,
) -> pl.DataFrame:
    """A metric as series per ``by`` key and ``step`` bucket (see the module docstring).

    ``source`` is a Dataset (``filters`` go to ``ds.scan_metrics``: cluster, namespace, pod,
    node, start, end…) or a wide metrics frame (cluster, metric, namespace, pod, container,
    node, labels, ts, value). ``counter`` forces counter/gauge handling.
    """
    if agg not in _AGGS:
        msg = f"agg must be one of {', '.join(_AGGS)} (got {agg!r})"
        raise ParameterError(msg)
    bad = [b for b in by if b not in _RAW[2:]]
    if bad:
        msg = f"by may name {', '.join(_RAW[2:])} (got {', '.join(bad)})"
        raise ParameterError(msg)
    if isinstance(source, Dataset):
        lf = source.scan_metrics(metric=metric, **filters)
    else:
        lf = source.lazy()
        if metric is not None:
            lf = lf.filter(pl.col("metric").is_in([metric] if isinstance(metric, str) else list(metric)))
        missing = [c for c in (*_RAW, "ts", "value") if c not in lf.collect_schema()]
        if missing:
            msg = f"a wide metrics frame needs the columns {', '.join(missing)}"
            raise ParameterError(msg)
    every = _every(step)
    is_counter = pl.col("metric").str.ends_with(COUNTER_SUFFIXES[0])
    for suffix in COUNTER_SUFFIXES[1:]:
        is_counter = is_counter | pl.col("metric").str.ends_with(suffix)
    if counter is not None:
        is_counter = pl.lit(counter)
    lf = lf.with_columns(is_counter.alias("_counter"))
    bucket = pl.col("ts").dt.truncate(every).alias("ts")
    rates = (
        counter_rate(lf.filter("_counter"), series=_RAW)
        .filter(pl.col("seconds").is_not_null())
        .group_by(*_RAW, bucket)
        .agg((pl.col("increase").sum() / pl.col("seconds").sum()).alias("value"))
    )
    gauges = lf.filter(~pl.col("_counter")).group_by(*_RAW, bucket).agg(pl.col("value").mean())
    keys = ["cluster", "metric", *by]
    both = pl.concat([rates, gauges])
    out = both.group_by(*keys, "ts").agg(_AGGS[agg](pl.col("value")).alias("value")).sort([*keys, "ts"]).collect()
    return out.with_columns(pl.col("ts").cast(TS), pl.col("value").cast(pl.Float64))


def _fill(frame: pl.DataFrame, keys: list[str], every: str, lo: dt.datetime, hi: dt.datetime) -> pl.DataFrame:
    """Every key on every bucket from ``lo`` to ``hi``; missing values become 0."""
    grid = pl.DataFrame({"ts": pl.datetime_range(lo, hi, interval=every, time_zone="UTC", eager=True)}).with_columns(
        pl.col("ts").cast(TS))
    full = frame.select(keys).unique().join(grid, how="cross")
    return full.join(frame, on=[*keys, "ts"], how="left").with_columns(pl.col("value").fill_null(0.0))


def span_series(
    source: Dataset | pl.DataFrame | pl.LazyFrame,
    *,
    step: str | dt.timedelta = "1m",
    by: Sequence[str] = ("cluster", "service"),
    kinds: Sequence[str] = ("SERVER", "CONSUMER"),
    **filters: Any,
) -> pl.DataFrame:
    """TPS, p90 latency and error rate per service and bucket (see the module docstring)."""
    service = filters.pop("service", None)
    lf = source.scan("spans", **filters) if isinstance(source, Dataset) else source.lazy()
    if service is not None:
        lf = lf.filter(pl.col("service").is_in([service] if isinstance(service, str) else list(service)))
    every = _every(step)
    seconds = pat.step_duration(step).total_seconds()
    keys = list(by)
    entry = pl.col("kind").cast(pl.String).is_in(list(kinds)) | pl.col("parent_id").is_null()
    per = (
        lf.filter(entry)
        .group_by(*keys, pl.col("start").dt.truncate(every).alias("ts"))
        .agg(
            (pl.len() / seconds).alias("tps"),
            (pl.col("duration_us").quantile(0.9, interpolation="linear") / 1000).alias("latency_p90_ms"),
            pl.col("error").fill_null(value=False).mean().alias("error_rate"),
        )
        .collect()
        .with_columns(pl.col("ts").cast(TS))
    )
    schema = {**{k: pl.String for k in keys}, "signal": pl.String, "ts": TS, "value": pl.Float64}
    if per.is_empty():
        return pl.DataFrame(schema=schema)
    lo, hi = to_utc(per["ts"].min()), to_utc(per["ts"].max())
    tps = _fill(per.select(*keys, "ts", pl.col("tps").alias("value")), keys, every, lo, hi)  # type: ignore[arg-type]
    frames = [tps.with_columns(pl.lit("tps").alias("signal"))]
    for sig in ("latency_p90_ms", "error_rate"):
        frames.append(per.select(*keys, "ts", pl.col(sig).alias("value"), pl.lit(sig).alias("signal")))
    out = pl.concat([f.select(*keys, "signal", "ts", pl.col("value").cast(pl.Float64)) for f in frames])
    return out.sort([*keys, "signal", "ts"]).cast(schema)  # type: ignore[arg-type]


def pattern_series(
    source: pat.Source,
    params: pat.PatternParams | None = None,
    *,
    step: str | dt.timedelta = "1m",
    top: int = 20,
    **filters: Any,
) -> pl.DataFrame:
    """Lines per minute of the ``top`` most frequent log patterns, per bucket (0-filled)."""
    p, where = pat.split_options(params, filters)
    mined = pat.mine(pat.scan_logs(source, **where), p, step=step)
    counts = mined.counts(top=top)
    schema = {"pattern_id": pl.String, "template": pl.String, "ts": TS, "value": pl.Float64}
    if counts.is_empty():
        return pl.DataFrame(schema=schema)
    per_min = pat.step_duration(step).total_seconds() / 60
    frame = counts.select("pattern_id", "ts", (pl.col("count") / per_min).alias("value"))
    lo, hi = to_utc(frame["ts"].min()), to_utc(frame["ts"].max())
    full = _fill(frame, ["pattern_id"], _every(step), lo, hi)  # type: ignore[arg-type]
    summary = mined.summary().select("pattern_id", "template")
    out = full.join(summary, on="pattern_id", how="left")
    return out.select(list(schema)).sort("pattern_id", "ts").cast(schema)  # type: ignore[arg-type]
