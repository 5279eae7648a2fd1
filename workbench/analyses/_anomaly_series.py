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
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench.analyses import patterns as pat
from workbench.analyses._rates import _single_chunks
from workbench.analyses.usage import COUNTER_SUFFIXES, increments
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = ["COUNTER_SUFFIXES", "counter_rate", "metric_series", "pattern_series", "span_series"]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
_RAW = ["cluster", "metric", "namespace", "pod", "container", "node", "labels"]
_AGGS = {"sum": pl.Expr.sum, "mean": pl.Expr.mean, "max": pl.Expr.max, "min": pl.Expr.min}


def _every(step: str | dt.timedelta) -> str:
    return f"{int(pat.step_duration(step).total_seconds())}s"


def counter_rate(
    frame: pl.DataFrame | pl.LazyFrame, *, series: Sequence[str], ts: str = "ts", value: str = "value"
) -> pl.LazyFrame:
    """Adds ``increase`` (since the previous sample of the same series; after a reset, the new
    value), ``seconds`` (time since that sample) and ``rate`` (increase per second). The first
    sample of a series has nulls. The rule is :func:`workbench.analyses.usage.increments`'."""
    return increments(frame, by=series, ts=ts, value=value)


def metric_series(
    source: Dataset | tuple[pl.DataFrame, pl.DataFrame | pl.LazyFrame] | pl.DataFrame | pl.LazyFrame,
    metric: str | Sequence[str] | None = None,
    *,
    by: Sequence[str] = ("namespace", "pod", "container"),
    step: str | dt.timedelta = "1m",
    agg: str = "sum",
    counter: bool | None = None,
    where: pl.Expr | None = None,
    **filters: Any,
) -> pl.DataFrame:
    """A metric as series per ``by`` key and ``step`` bucket (see the module docstring).

    ``source`` is a Dataset (``filters`` go to ``ds.metric_samples``: cluster, namespace, pod,
    node, start, end…), a pair ``(series, samples)`` as ``ds.metric_samples`` returns them
    (samples already read: those of other series are skipped), or a wide metrics frame
    (cluster, metric, namespace, pod, container, node, labels, ts, value). ``counter`` forces
    counter/gauge handling. ``where`` keeps only the raw series for which it is true: an
    expression over their labels (cluster, metric, namespace, pod, container, node, labels),
    evaluated once per raw series that has samples here, so a window expression
    (``.any().over("pod")``) sees each series once.

    From a Dataset (or a pair) the samples are taken in storage order, keyed on the integer
    ``series_id``, and a compiled kernel (:mod:`._bucket_kernel`) makes the per-series buckets
    in one pass; the labels are joined to the (few) buckets only. A wide frame is sorted by its
    label columns.
    """
    if agg not in _AGGS:
        msg = f"agg must be one of {', '.join(_AGGS)} (got {agg!r})"
        raise ParameterError(msg)
    bad = [b for b in by if b not in _RAW[2:]]
    if bad:
        msg = f"by may name {', '.join(_RAW[2:])} (got {', '.join(bad)})"
        raise ParameterError(msg)
    keys = ["cluster", "metric", *by]
    if isinstance(source, Dataset | tuple):
        if isinstance(source, Dataset):
            series, samples = source.metric_samples(metric=metric, **filters)
        elif filters:
            msg = (
                f"metric_series: filters ({', '.join(filters)}) apply to a Dataset, not to (series, samples)"
            )
            raise ParameterError(msg)
        else:
            series, samples = source
            if metric is not None:
                series = series.filter(
                    pl.col("metric").is_in([metric] if isinstance(metric, str) else list(metric))
                )
        every_us = int(pat.step_duration(step).total_seconds()) * 1_000_000
        return _keyed_series(
            series, samples, keys=keys, every_us=every_us, agg=agg, counter=counter, where=where
        )
    lf = source.lazy()
    if metric is not None:
        lf = lf.filter(pl.col("metric").is_in([metric] if isinstance(metric, str) else list(metric)))
    missing = [c for c in (*_RAW, "ts", "value") if c not in lf.collect_schema()]
    if missing:
        msg = f"a wide metrics frame needs the columns {', '.join(missing)}"
        raise ParameterError(msg)
    if where is not None:
        kept = lf.select(_RAW).unique().filter(where)
        lf = lf.join(kept, on=_RAW, how="semi", nulls_equal=True)
    every = _every(step)
    lf = lf.with_columns(_is_counter(counter=counter).alias("_counter"))
    bucket = pl.col("ts").dt.truncate(every).alias("ts")
    rates = (
        counter_rate(lf.filter("_counter"), series=_RAW)
        .filter(pl.col("seconds").is_not_null())
        .group_by(*_RAW, bucket)
        .agg((pl.col("increase").sum() / pl.col("seconds").sum()).alias("value"))
    )
    gauges = lf.filter(~pl.col("_counter")).group_by(*_RAW, bucket).agg(pl.col("value").mean())
    both = pl.concat([rates, gauges])
    out = (
        both.group_by(*keys, "ts")
        .agg(_AGGS[agg](pl.col("value")).alias("value"))
        .sort([*keys, "ts"])
        .collect()
    )
    return out.with_columns(pl.col("ts").cast(TS), pl.col("value").cast(pl.Float64))


def _is_counter(*, counter: bool | None) -> pl.Expr:
    """True for the samples (or series) of a counter: by the metric's name, or ``counter``."""
    if counter is not None:
        return pl.lit(counter)
    is_counter = pl.col("metric").str.ends_with(COUNTER_SUFFIXES[0])
    for suffix in COUNTER_SUFFIXES[1:]:
        is_counter = is_counter | pl.col("metric").str.ends_with(suffix)
    return is_counter


def _keyed_series(series: pl.DataFrame, samples: pl.DataFrame | pl.LazyFrame, *, keys: list[str], every_us: int, agg: str,
                  counter: bool | None, where: pl.Expr | None) -> pl.DataFrame:  # fmt: skip
    """:func:`metric_series` of ``series`` (rows of ``ds.series()``) over their ``samples``
    (series_id, ts, value in storage order): the kernel's cells per series and bucket, then per
    key (numbered in the order of the sorted keys, so sorting by that number sorts by key)."""
    from workbench.analyses import _bucket_kernel as k  # compiled on import (or loaded from the cache)

    schema = {**{c: pl.String for c in keys}, "ts": TS, "value": pl.Float64}
    spec = series.unique("series_id", keep="first").sort("series_id").with_row_index("_g")
    ids = spec["series_id"].to_numpy()
    if counter is None:
        is_counter = spec.select(_is_counter(counter=None)).to_series().to_numpy()
    else:
        is_counter = np.full(ids.size, counter)
    cells = _cells(k, _sample_batches(samples), ids, is_counter, every_us)
    if cells is None:
        log.info("metric_series: samples out of time order; sorting the samples first")
        frame = (
            samples.select("series_id", "ts", "value").collect().sort("series_id", "ts", maintain_order=True)
        )
        cells = _cells(k, _sample_batches(frame), ids, is_counter, every_us)
        assert cells is not None  # sorted: every series in time order
    g, bucket, a, s, seen = cells
    kept = spec.filter(pl.Series(seen))
    if where is not None:
        kept = kept.filter(where)
    if g.size == 0 or kept.is_empty():
        return pl.DataFrame(schema=schema)
    numbered = kept.select(keys).unique().sort(keys).with_row_index("_k")
    key_of = np.full(ids.size, -1, dtype=np.int64)
    pairs = kept.join(numbered, on=keys, how="inner", nulls_equal=True)
    key_of[pairs["_g"].to_numpy()] = pairs["_k"].to_numpy()
    c = is_counter[g]
    per_series = pl.DataFrame({"_k": key_of[g], "ts": bucket, "_c": c, "a": a, "s": s}).filter(
        pl.col("_k") >= 0
    )
    value = (
        pl.when(pl.col("_c"))
        .then(pl.col("a") / pl.col("s"))
        .when(pl.col("s") > 0)
        .then(pl.col("a") / pl.col("s"))
    )
    out = (
        per_series.lazy()
        .group_by("_k", "ts")
        .agg(_AGGS[agg](value).alias("value"))
        .sort("_k", "ts")
        .collect()
    )
    labels = numbered.drop("_k")[out["_k"].to_numpy()]
    return labels.with_columns(out["ts"].cast(TS), out["value"].cast(pl.Float64)).cast(schema)  # type: ignore[arg-type]


_ALL_OK = np.zeros(0, dtype=bool)


def _sample_batches(samples: pl.LazyFrame | pl.DataFrame) -> Iterator[tuple[np.ndarray, ...]]:
    """The samples as (series_id, ts in µs, value, not-null mask or empty) numpy arrays, batch by
    batch in their order (a snapshot's samples always have a time: the writer rejects others)."""
    cols = {"series_id": pl.UInt64, "ts": TS, "value": pl.Float64}
    frames: Iterable[pl.DataFrame]
    if isinstance(samples, pl.DataFrame):  # in memory: sliced, not copied
        frame = samples.select(*cols)
        if frame.schema != pl.Schema(cols):
            frame = frame.cast(cols)  # type: ignore[arg-type]
        if frame["ts"].has_nulls():
            frame = frame.filter(pl.col("ts").is_not_null())
        # cut where a column's chunks end: each piece's columns convert to numpy without a copy
        frames = (piece for part in _single_chunks(frame) for piece in part.iter_slices(1 << 20))
    else:
        lf = samples.select(*cols)
        if lf.collect_schema() != pl.Schema(cols):
            lf = lf.cast(cols)  # type: ignore[arg-type]
        frames = (
            piece
            for batch in lf.filter(pl.col("ts").is_not_null()).collect_batches(engine="streaming")
            for piece in _single_chunks(batch)
        )
    for frame in frames:
        sid, ts, value = frame.get_columns()
        ok = value.is_not_null().to_numpy() if value.has_nulls() else _ALL_OK
        yield sid.to_numpy(), ts.to_numpy().view(np.int64), value.to_numpy(), ok


def _cells(k: Any, batches: Iterator[tuple[np.ndarray, ...]], ids: np.ndarray, is_counter: np.ndarray,
           every_us: int) -> tuple[np.ndarray, ...] | None:  # fmt: skip
    """Run the kernel over the batches: the cells' series index, bucket start (µs), increase or
    value sum, seconds or value count, and which series had samples; None when some samples
    were out of time order."""
    state = np.zeros((ids.size, k.STATE), dtype=np.int64)
    state[:, k.OPEN] = -1
    last_v = np.zeros(ids.size)
    cur = np.array([-1, 0], dtype=np.int64)
    g, b = (np.empty(1 << 16, dtype=np.int64) for _ in range(2))
    a, s = (np.empty(1 << 16) for _ in range(2))
    used = 0
    for sid, ts, v, ok in batches:
        i = 0
        while i < sid.size:
            if used == g.size:  # full: twice the room
                g, b, a, s = (np.concatenate([x, np.empty_like(x)]) for x in (g, b, a, s))
            used, disorder, i = k.buckets(sid, ts, v, ok, i, ids, is_counter, every_us, state, last_v, g, b, a, s,
                                          used, cur)  # fmt: skip
            if disorder:
                return None
    return g[:used], b[:used], a[:used], s[:used], state[:, k.SEEN] > 0


def _fill(frame: pl.DataFrame, keys: list[str], every: str, lo: dt.datetime, hi: dt.datetime) -> pl.DataFrame:
    """Every key on every bucket from ``lo`` to ``hi``; missing values become 0."""
    grid = pl.DataFrame(
        {"ts": pl.datetime_range(lo, hi, interval=every, time_zone="UTC", eager=True)}
    ).with_columns(pl.col("ts").cast(TS))
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
    kind = lf.collect_schema().get("kind")
    if isinstance(kind, pl.Enum) and set(kinds) <= set(kind.categories):  # compared as stored, not as text
        entry = pl.col("kind").is_in(pl.Series(list(kinds), dtype=kind)) | pl.col("parent_id").is_null()
    else:
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
