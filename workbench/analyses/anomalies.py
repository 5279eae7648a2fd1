"""Metrics anomaly detection: robust baselines, anomalous intervals and change points for any
set of time series.

>>> from workbench.analyses import anomalies as an
>>> cpu = an.metric_series(ds, "container_cpu_usage_seconds_total", namespace="shop")   # doctest: +SKIP
>>> keys = ["cluster", "metric", "namespace", "pod", "container"]
>>> an.detect(cpu, keys=keys)                       # anomalous intervals      # doctest: +SKIP
>>> an.change_points(cpu, keys=keys)                # level shifts             # doctest: +SKIP

**Input.** A long frame: the series key columns (any, e.g. ``pod``, ``metric``), a time
column ``ts`` and a numeric ``value``, one row per point, on a regular grid. Nulls and NaNs
are dropped. Helpers build such frames from a snapshot, bucketed by ``step``:

- :func:`metric_series` (keys cluster, metric and ``by``, default namespace/pod/container):
  counters (names ending ``_total``, ``_count``, ``_sum``) become per-second rates — per raw
  series the increase between samples, where a drop means a restart so the increase is the new
  value (as PromQL ``rate``) —; gauges are averaged; raw series sharing a key are summed
  (``agg``).
- :func:`span_series` (keys cluster, service, signal): ``tps`` (0-filled), ``latency_p90_ms``,
  ``error_rate`` of entry spans (SERVER/CONSUMER or roots).
- :func:`pattern_series` (keys pattern_id, template): log lines per minute of each of the
  ``top`` patterns (0-filled). :func:`counter_rate` is the rate step on its own.

**Baseline.** For each point, from the ``window`` points *before* it (it never sees itself):

- plain: ``baseline`` = rolling median of the values; the noise ``σ`` is the larger of
  1.4826·MAD (MAD = rolling median of the past points' absolute deviations from their own
  baselines, a streaming median absolute deviation) and the 95th percentile of those
  deviations / 1.96 (both estimate the standard deviation of normal noise; the second keeps a
  series that is mostly flat with frequent blips, whose MAD is 0, from flagging every blip);
- daily seasonality (``seasonality="auto"`` when a series spans at least 2 days, or
  ``"daily"``): the *seasonal reference* of a point is the median of the values at the same
  time of day on up to ``seasonal_days`` previous days (nearest point within half a step);
  the rolling median and σ are taken of the value minus its reference, and the baseline is
  reference + that median. Points without a reference (the first day) use the plain baseline.

A point needs ``min_history`` earlier points before it is scored.

**Score.** ``score = |value − baseline| / scale`` with
``scale = max(σ, rel_scale·|baseline|, min_scale) + 1e-9`` (the floors stop flat series from
flagging tiny wiggles).
The band ``lower``/``upper`` is ``baseline ∓ threshold·scale``.

**Anomalies.** Runs of consecutive points with ``score > threshold`` lasting at least
``min_points`` points; runs at most ``merge_gap`` points apart are merged into one interval.

**Change points.** Abrupt shifts of a series' level, found with two adjacent windows: at every
point, the mean of the ``window`` points from it on is compared with the mean of the ``window``
points before it, ``stat = |after − before| / (σ·√(2/window))``, σ being the noise estimated
robustly from first differences (1.4826·MAD(Δx)/√2, which a shift barely moves). The highest
statistic above ``threshold`` is a change point; points within ``window`` of it are then
ignored and the next highest is taken, up to ``max_changes`` per series. Comparing only nearby
points keeps slow drifts (and single spikes) from counting as changes; a strong daily cycle
does count, so look at change points of deseasonalised data for such series. ``before_mean``
and ``after_mean`` are the means of the segments between neighbouring change points.

**Result columns** (after the series key columns):

- :func:`score`: ``SCORE_COLUMNS`` — ts, value, baseline, scale, score, lower, upper,
  anomalous, seasonal (the seasonal baseline was used).
- :func:`detect`: ``INTERVAL_COLUMNS`` — start, end (first and last anomalous point), points,
  peak_ts, peak_value, baseline (at the peak), peak_score, direction (``up``/``down``); highest
  peak score first.
- :func:`change_points`: ``CHANGE_COLUMNS`` — ts (first point of the new level), before_mean,
  after_mean, shift (after − before), score; in time order per series.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench.analyses._anomaly_series import (
    COUNTER_SUFFIXES,
    counter_rate,
    metric_series,
    pattern_series,
    span_series,
)
from workbench.analyses._rolling_kernel import quantiles_before
from workbench.analyses.params import Params, closest, field
from workbench.errors import ParameterError

__all__ = [
    "CHANGE_COLUMNS",
    "COUNTER_SUFFIXES",
    "INTERVAL_COLUMNS",
    "SCORE_COLUMNS",
    "AnomalyParams",
    "ChangeParams",
    "change_points",
    "counter_rate",
    "detect",
    "intervals",
    "metric_series",
    "pattern_series",
    "score",
    "span_series",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
SCORE_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "value": pl.Float64(),
    "baseline": pl.Float64(),
    "scale": pl.Float64(),
    "score": pl.Float64(),
    "lower": pl.Float64(),
    "upper": pl.Float64(),
    "anomalous": pl.Boolean(),
    "seasonal": pl.Boolean(),
}
INTERVAL_COLUMNS: dict[str, pl.DataType] = {
    "start": TS,
    "end": TS,
    "points": pl.Int64(),
    "peak_ts": TS,
    "peak_value": pl.Float64(),
    "baseline": pl.Float64(),
    "peak_score": pl.Float64(),
    "direction": pl.String(),
}
CHANGE_COLUMNS: dict[str, pl.DataType] = {
    "ts": TS,
    "before_mean": pl.Float64(),
    "after_mean": pl.Float64(),
    "shift": pl.Float64(),
    "score": pl.Float64(),
}
_DAY = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AnomalyParams(Params):
    """How a point's expected value and its anomaly score are computed."""

    window: int = field(60, "points before a point that form its baseline", ge=3, le=100_000)
    min_history: int = field(10, "earlier points a point needs before it is scored", ge=2, le=100_000)
    threshold: float = field(6.0, "score above which a point is anomalous", ge=0.5, le=1000.0)
    min_points: int = field(1, "shortest run of anomalous points that makes an interval", ge=1, le=100_000)
    merge_gap: int = field(1, "normal points allowed between two runs of one interval", ge=0, le=100_000)
    seasonality: str = field(
        "auto",
        "daily seasonal baseline: auto (≥ 2 days of data), daily, none",
        choices=("auto", "daily", "none"),
    )
    seasonal_days: int = field(
        7, "previous days whose same time of day forms the seasonal reference", ge=1, le=60
    )
    rel_scale: float = field(0.01, "smallest scale as a share of the baseline", ge=0.0, le=10.0)
    min_scale: float = field(0.0, "smallest scale in the series' unit", ge=0.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChangeParams(Params):
    """When a shift of a series' level counts as a change point."""

    threshold: float = field(
        8.0, "noise-scaled difference of the window means a change must reach", ge=1.0, le=1e6
    )
    window: int = field(30, "points compared on each side of a candidate change", ge=2, le=100_000)
    max_changes: int = field(5, "most change points per series", ge=1, le=1000)
    min_shift: float = field(0.0, "smallest |after − before| that counts, in the series' unit", ge=0.0)


def _opts(cls: type[Params], params: Params | None, kwargs: dict[str, Any]) -> Any:
    known = [f.name for f in dataclasses.fields(cls)]
    for k in kwargs:
        if k not in known:
            near = closest(k, known)
            msg = f"unknown {cls.__name__} option {k!r}" + (
                f"; did you mean {', '.join(near)}?" if near else ""
            )
            raise ParameterError(msg)
    return dataclasses.replace(params, **kwargs) if params is not None else cls(**kwargs)


def _prepare(
    frame: pl.DataFrame | pl.LazyFrame, keys: Sequence[str], ts: str, value: str
) -> tuple[pl.DataFrame, list[str]]:
    df = frame.lazy().collect() if isinstance(frame, pl.LazyFrame) else frame
    missing = [c for c in (*keys, ts, value) if c not in df.columns]
    if missing:
        msg = (
            f"the series frame has no column(s) {', '.join(missing)}; it has {', '.join(df.columns)}. "
            "Pass keys=[...], ts=... and value=... naming your columns"
        )
        raise ParameterError(msg)
    if not df.schema[value].is_numeric():
        msg = f"column {value!r} must be numeric (found {df.schema[value]})"
        raise ParameterError(msg)
    ks = list(keys) or ["_series"]
    df = df.select(*keys, pl.col(ts).alias("ts"), pl.col(value).cast(pl.Float64).alias("value"))
    if not keys:
        df = df.with_columns(pl.lit(0).alias("_series"))
    df = df.filter(pl.col("value").is_not_null() & pl.col("value").is_finite() & pl.col("ts").is_not_null())
    if df.schema["ts"] != TS:
        df = df.with_columns(
            pl.col("ts").cast(TS)
            if df.schema["ts"].time_zone
            else pl.col("ts").dt.replace_time_zone("UTC").cast(TS)
        )  # type: ignore[union-attr]
    return df.sort([*ks, "ts"]), ks


def _starts(df: pl.DataFrame, ks: list[str]) -> np.ndarray:
    """The first row of every series of ``df`` (sorted by ``ks``) and, last, its height."""
    new = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in ks])
    first = df.select(new.fill_null(value=True)).to_series().to_numpy()
    first[:1] = True
    return np.append(np.flatnonzero(first), df.height).astype(np.int64)


def _with_baseline(
    df: pl.DataFrame, col: str, p: AnomalyParams, starts: np.ndarray, prefix: str
) -> pl.DataFrame:
    """Adds ``{prefix}med`` (the baseline of ``col``) and ``{prefix}sig`` (its noise: the larger
    of 1.4826·MAD and the 95th percentile of the absolute deviations / 1.96), both from the
    ``window`` points before each point (series start at the rows ``starts``: see
    :func:`workbench.analyses._rolling_kernel.quantiles_before`)."""
    w, m = p.window, p.min_history
    (med,) = quantiles_before(df[col], starts, (0.5,), window=w, min_samples=m)
    dev = (df[col] - med).abs()
    mad, q95 = quantiles_before(dev, starts, (0.5, 0.95), window=w, min_samples=m)
    sig = pl.when(mad.is_not_null()).then(pl.max_horizontal(1.4826 * pl.lit(mad), pl.lit(q95) / 1.96))
    return df.with_columns(med.alias(f"{prefix}med"), dev.alias(f"{prefix}dev"), sig.alias(f"{prefix}sig"))


def _seasonal_reference(df: pl.DataFrame, p: AnomalyParams, ks: list[str]) -> pl.DataFrame:
    """Adds ``_ref``: the median of the values at the same time of day on previous days."""
    if p.seasonality == "auto" and df["ts"].max() - df["ts"].min() < 2 * _DAY:  # type: ignore[operator]
        return df.with_columns(pl.lit(None, pl.Float64).alias("_ref"))  # no series spans two days
    span = df.group_by(ks).agg(
        (pl.col("ts").max() - pl.col("ts").min()).alias("_span"), pl.col("ts").diff().median().alias("_step")
    )
    if p.seasonality == "auto":
        use = span.filter(pl.col("_span") >= 2 * _DAY).select(ks)
    else:
        use = span.select(ks)
    steps = span["_step"].drop_nulls()
    if use.is_empty() or steps.is_empty():
        return df.with_columns(pl.lit(None, pl.Float64).alias("_ref"))
    tol = max(steps.median() / 2, dt.timedelta(microseconds=1))  # type: ignore[operator]
    right = (
        df.join(use, on=ks, how="semi")
        .select(*ks, pl.col("ts").alias("_rts"), pl.col("value").alias("_rv"))
        .sort("_rts")
    )
    refs = []
    left = df.with_row_index("_row")
    for k in range(1, p.seasonal_days + 1):
        got = (
            left.select("_row", *ks, (pl.col("ts") - k * _DAY).alias("_rts"))
            .sort("_rts")
            .join_asof(right, on="_rts", by=ks, strategy="nearest", tolerance=tol, check_sortedness=False)
            .select("_row", pl.col("_rv").alias(f"_r{k}"))
        )
        refs.append(got)
    for got in refs:
        left = left.join(got, on="_row", how="left", maintain_order="left")  # rows stay in series order
    cols = [f"_r{k}" for k in range(1, p.seasonal_days + 1)]
    return left.with_columns(pl.concat_list(cols).list.median().alias("_ref")).drop("_row", *cols)


def score(
    frame: pl.DataFrame | pl.LazyFrame,
    params: AnomalyParams | None = None,
    *,
    keys: Sequence[str] = (),
    ts: str = "ts",
    value: str = "value",
    **options: Any,
) -> pl.DataFrame:
    """Every point with its baseline, scale, score and band (key columns + ``SCORE_COLUMNS``)."""
    p = _opts(AnomalyParams, params, options)
    df, ks = _prepare(frame, keys, ts, value)
    out_cols = [*keys, *SCORE_COLUMNS]
    if df.is_empty():
        return pl.DataFrame(schema={**{k: frame.lazy().collect_schema()[k] for k in keys}, **SCORE_COLUMNS})
    if p.min_history > p.window:
        msg = f"min_history ({p.min_history}) must be at most window ({p.window})"
        raise ParameterError(msg)
    starts = _starts(df, ks)
    df = _with_baseline(df, "value", p, starts, "_p")
    if p.seasonality != "none":
        df = _seasonal_reference(df, p, ks)
    if p.seasonality != "none" and df["_ref"].null_count() < df.height:  # else no point has a reference
        df = df.with_columns((pl.col("value") - pl.col("_ref")).alias("_y"))
        df = _with_baseline(df, "_y", p, starts, "_s")
        seasonal = (
            pl.col("_smed").is_not_null() & pl.col("_ssig").is_not_null() & pl.col("_ref").is_not_null()
        )
    else:
        df = df.with_columns(
            pl.lit(None, pl.Float64).alias("_ref"),
            pl.lit(None, pl.Float64).alias("_smed"),
            pl.lit(None, pl.Float64).alias("_ssig"),
        )
        seasonal = pl.lit(value=False)
    df = df.with_columns(seasonal.alias("seasonal"))
    df = df.with_columns(
        pl.when("seasonal")
        .then(pl.col("_ref") + pl.col("_smed"))
        .otherwise(pl.col("_pmed"))
        .alias("baseline"),
        pl.when("seasonal").then(pl.col("_ssig")).otherwise(pl.col("_psig")).alias("_sig"),
    )
    scale = (
        pl.max_horizontal(pl.col("_sig"), p.rel_scale * pl.col("baseline").abs(), pl.lit(p.min_scale)) + 1e-9
    )
    df = df.with_columns(pl.when(pl.col("_sig").is_not_null()).then(scale).alias("scale"))
    df = df.with_columns(
        ((pl.col("value") - pl.col("baseline")).abs() / pl.col("scale")).alias("score"),
        (pl.col("baseline") - p.threshold * pl.col("scale")).alias("lower"),
        (pl.col("baseline") + p.threshold * pl.col("scale")).alias("upper"),
    ).with_columns((pl.col("score") > p.threshold).fill_null(value=False).alias("anomalous"))
    return df.select(out_cols).cast(SCORE_COLUMNS)  # type: ignore[arg-type]


def intervals(
    scored: pl.DataFrame, params: AnomalyParams | None = None, *, keys: Sequence[str] = (), **options: Any
) -> pl.DataFrame:
    """Anomalous intervals from :func:`score` output (key columns + ``INTERVAL_COLUMNS``)."""
    p = _opts(AnomalyParams, params, options)
    ks = list(keys) or ["_series"]
    schema = {**{k: scored.schema[k] for k in keys}, **INTERVAL_COLUMNS}
    df = scored if keys else scored.with_columns(pl.lit(0).alias("_series"))
    df = df.sort([*ks, "ts"]).with_columns(pl.int_range(pl.len()).over(ks).alias("_i")).filter("anomalous")
    if df.is_empty():
        return pl.DataFrame(schema=schema)
    df = df.with_columns(
        ((pl.col("_i") - pl.col("_i").shift(1).over(ks)).fill_null(2) != 1).cum_sum().over(ks).alias("_run")
    )
    peak = pl.col("score").arg_max()
    runs = (
        df.group_by(*ks, "_run")
        .agg(
            pl.col("_i").min().alias("_a"),
            pl.col("_i").max().alias("_b"),
            pl.col("ts").min().alias("start"),
            pl.col("ts").max().alias("end"),
            pl.len().cast(pl.Int64).alias("points"),
            pl.col("ts").get(peak).alias("peak_ts"),
            pl.col("value").get(peak).alias("peak_value"),
            pl.col("baseline").get(peak).alias("baseline"),
            pl.col("score").max().alias("peak_score"),
        )
        .filter(pl.col("points") >= p.min_points)
        .sort([*ks, "_a"])
    )
    if runs.is_empty():
        return pl.DataFrame(schema=schema)
    runs = runs.with_columns(
        ((pl.col("_a") - pl.col("_b").shift(1).over(ks)).fill_null(p.merge_gap + 2) > p.merge_gap + 1)
        .cum_sum()
        .over(ks)
        .alias("_grp")
    )
    best = pl.col("peak_score").arg_max()
    out = (
        runs.group_by(*ks, "_grp")
        .agg(
            pl.col("start").min(),
            pl.col("end").max(),
            pl.col("points").sum(),
            *[pl.col(c).get(best) for c in ("peak_ts", "peak_value", "baseline")],
            pl.col("peak_score").max(),
        )
        .with_columns(
            pl.when(pl.col("peak_value") >= pl.col("baseline"))
            .then(pl.lit("up"))
            .otherwise(pl.lit("down"))
            .alias("direction")
        )
    )
    return (
        out.sort(["peak_score", *ks], descending=[True] + [False] * len(ks))
        .select(*keys, *INTERVAL_COLUMNS)
        .cast(schema)
    )  # type: ignore[arg-type]


def detect(
    frame: pl.DataFrame | pl.LazyFrame,
    params: AnomalyParams | None = None,
    *,
    keys: Sequence[str] = (),
    ts: str = "ts",
    value: str = "value",
    **options: Any,
) -> pl.DataFrame:
    """Anomalous intervals of every series (key columns + ``INTERVAL_COLUMNS``)."""
    p = _opts(AnomalyParams, params, options)
    return intervals(score(frame, p, keys=keys, ts=ts, value=value), p, keys=keys)


def _segment(x: np.ndarray, p: ChangeParams) -> list[tuple[int, float]]:
    """Change indexes (first point of the new level) and their statistic, in time order."""
    w, n = p.window, len(x)
    if n < 2 * w:
        return []
    d = np.diff(x)
    sigma = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)
    if sigma <= 0:
        sigma = float(np.std(d)) / np.sqrt(2)
    sigma = max(sigma, 1e-9 * (1.0 + abs(float(np.median(x)))))
    c = np.concatenate([[0.0], np.cumsum(x)])
    k = np.arange(w, n - w + 1)
    stat = np.abs((c[k + w] - c[k]) - (c[k] - c[k - w])) / w / (sigma * np.sqrt(2.0 / w))
    found: list[tuple[int, float]] = []
    while len(found) < p.max_changes:
        j = int(np.argmax(stat))
        if stat[j] < p.threshold:
            break
        found.append((int(k[j]), float(stat[j])))
        stat[max(0, j - w + 1) : j + w] = 0.0
    return sorted(found)


def change_points(
    frame: pl.DataFrame | pl.LazyFrame,
    params: ChangeParams | None = None,
    *,
    keys: Sequence[str] = (),
    ts: str = "ts",
    value: str = "value",
    **options: Any,
) -> pl.DataFrame:
    """Level shifts of every series (key columns + ``CHANGE_COLUMNS``)."""
    p = _opts(ChangeParams, params, options)
    df, ks = _prepare(frame, keys, ts, value)
    schema = {**{k: df.schema[k] for k in keys}, **CHANGE_COLUMNS}
    rows: list[dict[str, Any]] = []
    for part in df.partition_by(ks, maintain_order=True):
        x = part["value"].to_numpy().astype(float)
        cps = _segment(x, p)
        if not cps:
            continue
        bounds = [0, *[i for i, _ in cps], len(x)]
        key = {k: part[k][0] for k in keys}
        for j, (i, stat) in enumerate(cps, start=1):
            before, after = float(x[bounds[j - 1] : i].mean()), float(x[i : bounds[j + 1]].mean())
            if abs(after - before) < p.min_shift:
                continue
            rows.append(
                {
                    **key,
                    "ts": part["ts"][i],
                    "before_mean": before,
                    "after_mean": after,
                    "shift": after - before,
                    "score": stat,
                }
            )
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(rows, schema=schema).sort([*keys, "ts"])
