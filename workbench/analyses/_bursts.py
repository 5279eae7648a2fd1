"""Error bursts: when a container logged far more ERROR/FATAL lines than it usually does.

Per container (cluster, namespace, pod, container) the ERROR and FATAL lines are counted per
``step`` bucket, over every bucket from the container's first to its last log line (buckets
without errors count 0). Its baseline is the median of those counts; its spread the MAD
(median absolute deviation). A bucket is *hot* when

    z = (count − median) / max(1.4826·MAD, √median, 1)  ≥  threshold   and   count ≥ min_count

(the √median and 1 floors keep a container that is usually quiet, or whose errors are steady,
from turning one extra line into a burst). Hot buckets no more than ``merge_gap`` quiet
buckets apart form one burst. The burst's top pattern is the most frequent log pattern
(:mod:`workbench.analyses.patterns`, mined over the burst lines) among its lines.

Columns (``BURST_COLUMNS``): cluster, namespace, pod, container, start, end (end of the last
hot bucket), buckets (hot buckets), count (error lines from start to end), peak (most errors in
one bucket), baseline (median errors per bucket), z (highest z), top_pattern_id,
top_template, top_count. Largest z first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import polars as pl

from workbench.analyses import patterns as pat
from workbench.analyses.params import Params, field, split_options
from workbench.errors import ParameterError

__all__ = ["BURST_COLUMNS", "BurstParams", "error_bursts"]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
KEYS = ("cluster", "namespace", "pod", "container")
BURST_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "container": pl.String(),
    "start": TS,
    "end": TS,
    "buckets": pl.Int64(),
    "count": pl.Int64(),
    "peak": pl.Int64(),
    "baseline": pl.Float64(),
    "z": pl.Float64(),
    "top_pattern_id": pl.String(),
    "top_template": pl.String(),
    "top_count": pl.Int64(),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BurstParams(Params):
    """When a container's error rate counts as a burst."""

    levels: list[str] = field(["ERROR", "FATAL"], "levels that count as errors")
    step: str = field("1m", "bucket size ('30s', '1m', '5m')")
    threshold: float = field(5.0, "robust z-score a bucket must reach", ge=1.0, le=1000.0)
    min_count: int = field(5, "fewest error lines in a bucket for it to be hot", ge=1)
    merge_gap: int = field(1, "quiet buckets allowed inside one burst", ge=0, le=1000)
    patterns: bool = field(True, "find each burst's top log pattern")  # noqa: FBT003


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=BURST_COLUMNS)


def error_bursts(source: pat.Source, params: BurstParams | None = None, **options: Any) -> pl.DataFrame:
    """Error bursts per container (see the module docstring); ``options`` are filters
    (cluster, namespace, pod, container, start, end) and :class:`BurstParams` fields."""
    p, filters = split_options(BurstParams, params, options, what="error-burst")
    bad = [lv for lv in p.levels if lv not in pat.LEVELS]
    if bad:
        msg = f"unknown level(s) {', '.join(bad)}; use {', '.join(pat.LEVELS)}"
        raise ParameterError(msg)
    step = pat.step_duration(p.step)
    every = f"{int(step.total_seconds())}s"
    keys = list(KEYS)
    lf = pat.scan_logs(source, **filters).with_columns([pl.col(k).fill_null("") for k in keys])
    is_err = pl.col("level").cast(pl.String).is_in(p.levels)
    activity_q = lf.group_by(keys).agg(
        pl.col("ts").min().dt.truncate(every).alias("_lo"), pl.col("ts").max().dt.truncate(every).alias("_hi")
    )
    errors_q = (
        lf.filter(is_err)
        .group_by(*keys, pl.col("ts").dt.truncate(every))
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )
    errors = errors_q.collect()
    if errors.is_empty() or errors["n"].max() < p.min_count:  # type: ignore[operator]
        return _empty()  # no bucket can be hot: the per-container baselines are not needed
    activity = activity_q.collect()
    grid = (
        activity.join(errors.select(keys).unique(), on=keys, how="semi")
        .with_columns(pl.datetime_ranges("_lo", "_hi", interval=every, time_zone="UTC").alias("ts"))
        .explode("ts")
        .with_columns(pl.col("ts").cast(TS))
        .join(errors, on=[*keys, "ts"], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .sort([*keys, "ts"])
    )
    med = pl.col("n").median().over(keys)
    mad = (pl.col("n") - med).abs().median().over(keys)
    scale = pl.max_horizontal(1.4826 * mad, med.sqrt(), pl.lit(1.0))
    grid = grid.with_columns(
        med.alias("_med"),
        ((pl.col("n") - med) / scale).alias("_z"),
        (
            (pl.col("ts") - pl.col("_lo")).dt.total_microseconds() // (step // dt.timedelta(microseconds=1))
        ).alias("_i"),
    )
    hot = grid.filter((pl.col("_z") >= p.threshold) & (pl.col("n") >= p.min_count))
    if hot.is_empty():
        return _empty()
    hot = hot.with_columns(
        ((pl.col("_i") - pl.col("_i").shift(1).over(keys)).fill_null(p.merge_gap + 2) > p.merge_gap + 1)
        .cum_sum()
        .over(keys)
        .alias("_run")
    )
    runs = (
        hot.group_by(*keys, "_run")
        .agg(
            pl.col("ts").min().alias("start"),
            (pl.col("ts").max() + step).alias("end"),
            pl.len().cast(pl.Int64).alias("buckets"),
            pl.col("n").max().alias("peak"),
            pl.col("_med").first().cast(pl.Float64).alias("baseline"),
            pl.col("_z").max().alias("z"),
        )
        .with_columns(pl.int_range(pl.len()).alias("_b"))
    )
    counted = (
        grid.join(runs.select(*keys, "start", "end", "_b"), on=keys, how="inner")
        .filter((pl.col("ts") >= pl.col("start")) & (pl.col("ts") < pl.col("end")))
        .group_by("_b")
        .agg(pl.col("n").sum().alias("count"))
    )
    out = runs.join(counted, on="_b", how="left")
    out = out.join(_top_patterns(lf.filter(is_err), runs, keys), on="_b", how="left") if p.patterns else out
    for col in ("top_pattern_id", "top_template", "top_count"):
        if col not in out.columns:
            out = out.with_columns(pl.lit(None, BURST_COLUMNS[col]).alias(col))
    log.info("found %d error bursts", out.height)
    return out.sort(["z", "start"], descending=[True, False]).select(list(BURST_COLUMNS)).cast(BURST_COLUMNS)  # type: ignore[arg-type]


def _top_patterns(errors: pl.LazyFrame, runs: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The most frequent pattern among each burst's error lines: _b, top_pattern_id, top_template, top_count."""
    lines = (
        errors.join(runs.lazy().select(*keys, "start", "end", "_b"), on=keys, how="inner")
        .filter((pl.col("ts") >= pl.col("start")) & (pl.col("ts") < pl.col("end")))
        .select("ts", "level", "message", "_b")
    )
    mined = pat.mine(lines, group=pl.col("_b"))
    if mined.stats.is_empty():
        return pl.DataFrame(
            schema={
                "_b": pl.Int64,
                "top_pattern_id": pl.String,
                "top_template": pl.String,
                "top_count": pl.Int64,
            }
        )
    return (
        mined.stats.join(mined.keys, on="_k", how="left")
        .group_by("_g", "pattern_id", "template")
        .agg(pl.col("n").sum().alias("top_count"))
        .sort(["_g", "top_count", "pattern_id"], descending=[False, True, False])
        .group_by("_g", maintain_order=True)
        .first()
        .select(
            pl.col("_g").cast(pl.Int64).alias("_b"),
            pl.col("pattern_id").alias("top_pattern_id"),
            pl.col("template").alias("top_template"),
            "top_count",
        )
    )
