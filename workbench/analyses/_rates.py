"""Rates of raw counters and per-series statistics; re-exported by
:mod:`workbench.analyses.usage`, which documents them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

__all__ = ["counter_rate", "qname", "series_stats", "stream_rates"]

TS = pl.Datetime("us", "UTC")
Kind = Literal["counter", "gauge"]


def counter_rate(frame: pl.DataFrame | pl.LazyFrame, *, by: Sequence[str] = ("series_id",)) -> Any:
    """Per-second rate of the counter in ``value`` between consecutive samples of each group
    ``by`` (sorted by ``ts``), with resets handled as Prometheus does; the first sample of each
    group is dropped. Returns the same kind of frame with ``value`` replaced by the rate.

    >>> import datetime as dt, polars as pl
    >>> t = [dt.datetime(2026, 1, 1, 0, 0, s, tzinfo=dt.UTC) for s in (0, 10, 20, 30)]
    >>> f = pl.DataFrame({"series_id": [1] * 4, "ts": t, "value": [10.0, 20.0, 5.0, 15.0]})
    >>> counter_rate(f)["value"].to_list()
    [1.0, 0.5, 1.0]
    """
    keys = list(by)
    d = pl.col("value").diff().over(keys)
    secs = (pl.col("ts").diff().dt.total_microseconds().cast(pl.Float64) / 1e6).over(keys)
    inc = pl.when(d < 0).then(pl.col("value")).otherwise(d)
    out = frame.sort([*keys, "ts"]).with_columns((inc / secs).alias("value"), secs.alias("_secs"))
    return out.filter(pl.col("_secs") > 0).drop("_secs")


_RATES = {"series_id": pl.UInt64, "ts": TS, "value": pl.Float64, "increase": pl.Float64}


def _increase(v: pl.Expr, prev: pl.Expr) -> pl.Expr:
    return pl.when(v < prev).then(v).otherwise(v - prev)


def stream_rates(samples: pl.LazyFrame) -> pl.LazyFrame:
    """Per-second rates of counter ``samples`` (series_id, ts, value) in the order the snapshot
    stores them: each part sorted by series and time. Consecutive rows of one series are paired
    without sorting anything; the pairs that span two parts (a series' last sample in one part
    and its first in the next) are found from the runs' edges, a small frame, and added.
    Returns series_id, ts (of the later sample), value (the rate) and increase (resets handled
    as in :func:`counter_rate`). ``series_id`` identifies a series across clusters (it hashes
    the cluster too), so the cluster column is not needed."""
    key_changed = (pl.col("series_id") != pl.col("series_id").shift()).fill_null(value=True)
    secs = pl.col("ts").diff().dt.total_microseconds().cast(pl.Float64) / 1e6
    inc = _increase(pl.col("value"), pl.col("value").shift())
    ok = ~key_changed & (secs > 0)
    inner = samples.select(
        "series_id", "ts", pl.when(ok).then(inc / secs).alias("value"), pl.when(ok).then(inc).alias("increase")
    ).filter(pl.col("value").is_not_null())
    ends = (pl.col("series_id") != pl.col("series_id").shift(-1)).fill_null(value=True)
    edges = samples.select("series_id", "ts", "value", key_changed.alias("_s"), ends.alias("_e")).filter(
        pl.col("_s") | pl.col("_e")
    ).collect()
    if edges.height <= 2:
        return inner.cast(_RATES)  # type: ignore[arg-type]
    runs = (
        edges.with_columns(pl.col("_s").cum_sum().alias("_run"))
        .group_by("_run")
        .agg(pl.col("series_id").first(), pl.col("ts").first().alias("t0"), pl.col("value").first().alias("v0"),
             pl.col("ts").last().alias("t1"), pl.col("value").last().alias("v1"))
        .sort("series_id", "t0")
        .with_columns(pl.col("t1", "v1").shift().over("series_id").name.prefix("prev_"))
        .filter(pl.col("prev_t1").is_not_null() & (pl.col("t0") > pl.col("prev_t1")))
    )  # fmt: skip
    gap = (pl.col("t0") - pl.col("prev_t1")).dt.total_microseconds().cast(pl.Float64) / 1e6
    step = _increase(pl.col("v0"), pl.col("prev_v1"))
    joins = runs.select("series_id", pl.col("t0").alias("ts"), (step / gap).alias("value"), step.alias("increase"))
    return pl.concat([inner.cast(_RATES), joins.lazy().cast(_RATES)])  # type: ignore[arg-type]


def qname(q: float) -> str:
    """The column name of a percentile: ``p90``, ``p99.9``."""
    return f"p{q:g}"


def series_stats(samples: pl.LazyFrame, *, kind: Kind, quantiles: Sequence[float] = ()) -> pl.LazyFrame:
    """Per ``series_id``: ``samples`` (count), ``mean``, ``max`` and one ``p<q>``
    column per percentile (linear interpolation, as ``numpy.percentile``) of the values (gauge)
    or of the per-second rates (counter, see :func:`stream_rates`), and ``increase`` (counter:
    the sum of the increases; gauge: null).

    ``samples`` has columns series_id, ts, value in storage order; grouping is on the integer id
    only (no string key is hashed per sample), so join the labels (``series`` table, which has
    the cluster) to the small result."""
    if kind == "counter":
        samples = stream_rates(samples)
        extra = [pl.col("increase").sum().alias("increase")]
    else:
        samples = samples.select("series_id", "value")
        extra = [pl.lit(None, dtype=pl.Float64).alias("increase")]
    x = pl.col("value")
    aggs = [
        x.len().alias("samples"), x.mean().alias("mean"), x.max().alias("max"),
        *[x.quantile(q / 100.0, interpolation="linear").alias(qname(q)) for q in quantiles], *extra,
    ]
    return samples.group_by("series_id").agg(aggs)
