"""Rates of raw counters and per-series statistics: the one implementation every analysis uses
(re-exported and documented by :mod:`workbench.analyses.usage`)."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from workbench.errors import ParameterError

if TYPE_CHECKING:
    from workbench.store import Dataset

__all__ = ["COUNTER_SUFFIXES", "STATS_COLUMNS", "counter_rate", "increments", "metric_kind", "metric_stats",
           "qname", "series_stats", "stream_rates"]  # fmt: skip

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
Kind = Literal["counter", "gauge"]
#: Metric names ending like this are counters (cumulative, reset on restart); the rest are gauges.
COUNTER_SUFFIXES: tuple[str, ...] = ("_total", "_count", "_sum")
#: Columns of :func:`series_stats`; its ``p<q>`` columns come between ``max`` and ``increase``.
STATS_COLUMNS: dict[str, pl.DataType] = {
    "series_id": pl.UInt64(), "metric": pl.String(), "samples": pl.UInt32(), "mean": pl.Float64(),
    "max": pl.Float64(), "increase": pl.Float64(),
}  # fmt: skip


def metric_kind(metric: str) -> Kind:
    """``"counter"`` for names ending in ``_total``, ``_count`` or ``_sum``, else ``"gauge"``."""
    return "counter" if metric.endswith(COUNTER_SUFFIXES) else "gauge"


def _increase(v: pl.Expr, prev: pl.Expr) -> pl.Expr:
    """The counter's increase since ``prev``: after a reset (the value went down) the new value."""
    return pl.when(v < prev).then(v).otherwise(v - prev)


def _seconds(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds().cast(pl.Float64) / 1e6


def increments(frame: pl.DataFrame | pl.LazyFrame, *, by: Sequence[str], ts: str = "ts", value: str = "value",
               presorted: bool = False) -> pl.LazyFrame:  # fmt: skip
    """``frame`` sorted by ``by`` and ``ts`` with ``increase`` (since the previous sample of the
    same series ``by``; after a reset, the new value), ``seconds`` (since that sample) and
    ``rate`` (increase per second; null when no time passed). The first sample of a series has
    nulls. ``presorted``: the frame is already sorted so.

    >>> import datetime as dt, polars as pl
    >>> t = [dt.datetime(2026, 1, 1, 0, 0, s, tzinfo=dt.UTC) for s in (0, 10, 20)]
    >>> f = pl.DataFrame({"pod": ["a"] * 3, "ts": t, "value": [10.0, 20.0, 5.0]})
    >>> increments(f, by=["pod"]).collect()["rate"].to_list()
    [None, 1.0, 0.5]
    """
    keys = list(by)
    lf = frame.lazy() if presorted else frame.lazy().sort([*keys, ts], nulls_last=True)
    same = (
        pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift()) for k in keys])
        if keys
        else pl.lit(value=True)
    )
    same = same & pl.int_range(pl.len()).gt(0)
    v = pl.col(value)
    return lf.with_columns(
        pl.when(same).then(_increase(v, v.shift())).alias("increase"),
        pl.when(same).then(_seconds(pl.col(ts).diff())).alias("seconds"),
    ).with_columns(pl.when(pl.col("seconds") > 0).then(pl.col("increase") / pl.col("seconds")).alias("rate"))


def counter_rate(frame: pl.DataFrame | pl.LazyFrame, *, by: Sequence[str] = ("series_id",)) -> Any:
    """Per-second rate of the counter in ``value`` between consecutive samples of each group
    ``by`` (sorted by ``ts``), with resets handled as Prometheus does; the first sample of each
    group (and a sample at the same time as the one before) is dropped. Returns the same kind of
    frame with ``value`` replaced by the rate.

    >>> import datetime as dt, polars as pl
    >>> t = [dt.datetime(2026, 1, 1, 0, 0, s, tzinfo=dt.UTC) for s in (0, 10, 20, 30)]
    >>> f = pl.DataFrame({"series_id": [1] * 4, "ts": t, "value": [10.0, 20.0, 5.0, 15.0]})
    >>> counter_rate(f)["value"].to_list()
    [1.0, 0.5, 1.0]
    """
    out = increments(frame, by=by).filter(pl.col("rate").is_not_null())
    out = out.with_columns(pl.col("rate").alias("value")).drop("increase", "seconds", "rate")
    return out.collect() if isinstance(frame, pl.DataFrame) else out


_RATES = {"series_id": pl.UInt64, "ts": TS, "value": pl.Float64, "increase": pl.Float64}


def stream_rates(samples: pl.LazyFrame) -> pl.LazyFrame:
    """Per-second rates of counter ``samples`` (series_id, ts, value) in the order the snapshot
    stores them: each part sorted by series and time. Consecutive rows of one series are paired
    without sorting anything; the pairs that span two parts (a series' last sample in one part
    and its first in the next) are found from the runs' edges, a small frame, and added.
    Returns series_id, ts (of the later sample), value (the rate) and increase (resets handled
    as in :func:`counter_rate`). ``series_id`` identifies a series across clusters (it hashes
    the cluster too), so the cluster column is not needed."""
    key_changed = (pl.col("series_id") != pl.col("series_id").shift()).fill_null(value=True)
    secs = _seconds(pl.col("ts").diff())
    inc = _increase(pl.col("value"), pl.col("value").shift())
    ok = ~key_changed & (secs > 0)
    inner = samples.select(
        "series_id",
        "ts",
        pl.when(ok).then(inc / secs).alias("value"),
        pl.when(ok).then(inc).alias("increase"),
    ).filter(pl.col("value").is_not_null())
    ends = (pl.col("series_id") != pl.col("series_id").shift(-1)).fill_null(value=True)
    edges = (
        samples.select("series_id", "ts", "value", key_changed.alias("_s"), ends.alias("_e"))
        .filter(pl.col("_s") | pl.col("_e"))
        .collect()
    )
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
    step = _increase(pl.col("v0"), pl.col("prev_v1"))
    gap = _seconds(pl.col("t0") - pl.col("prev_t1"))
    joins = runs.select(
        "series_id", pl.col("t0").alias("ts"), (step / gap).alias("value"), step.alias("increase")
    )
    return pl.concat([inner.cast(_RATES), joins.lazy().cast(_RATES)])  # type: ignore[arg-type]


def qname(q: float) -> str:
    """The column name of a percentile: ``p90``, ``p99.9``."""
    return f"p{q:g}"


# --- per-series statistics (compiled kernels) ----------------------------------------------------
_SAMPLES = {"series_id": pl.UInt64, "ts": TS, "value": pl.Float64}
#: Values held for ranking at a time (8 bytes each): bigger inputs are read in parts.
_PART_VALUES = 1 << 25


def _batches(samples: pl.LazyFrame | pl.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The samples as (series_id, ts in µs, value) numpy arrays, batch by batch, nulls dropped.
    A lazy read starts at once: polars decodes the first batches ahead, in its own threads."""
    if isinstance(samples, pl.DataFrame):
        frames: Iterable[pl.DataFrame] = samples.select(*_SAMPLES).cast(_SAMPLES).iter_slices(1 << 20)  # type: ignore[arg-type]
    else:
        lf = samples.select(*_SAMPLES)
        if lf.collect_schema() != pl.Schema(_SAMPLES):
            lf = lf.cast(_SAMPLES)  # type: ignore[arg-type]
        frames = lf.collect_batches(engine="streaming")
    return _arrays(frames)


def _arrays(frames: Iterable[pl.DataFrame]) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    for frame in frames:
        for piece in _single_chunks(frame):
            sid, ts, value = piece.get_columns()
            if value.has_nulls():
                keep = value.is_not_null()
                sid, ts, value = sid.filter(keep), ts.filter(keep), value.filter(keep)
            yield sid.to_numpy(), ts.to_numpy().view(np.int64), value.to_numpy()


def _single_chunks(frame: pl.DataFrame) -> Iterable[pl.DataFrame]:
    """``frame`` cut where any column's chunks end, so that every column of every piece is one
    chunk and converts to numpy without a copy (a filtered read gives the id column in two)."""
    cuts = {0, frame.height}
    for column in frame.get_columns():
        if column.n_chunks() > 1:
            cuts.update(itertools.accumulate(column.chunk_lengths()))
    if len(cuts) <= 2:
        yield frame
        return
    ends = sorted(cuts)
    for a, b in itertools.pairwise(ends):
        yield frame.slice(a, b - a)


def _spec(series: pl.DataFrame, quantiles: Sequence[float] | Mapping[str, Sequence[float]],
          kinds: Mapping[str, Kind] | None) -> tuple[pl.DataFrame, list[tuple[float, ...]]]:  # fmt: skip
    """The series sorted by id with ``_counter`` (bool) and ``_qset`` (index into the returned
    percentile sets, one per distinct set asked for)."""
    missing = [c for c in ("series_id", "metric") if c not in series.columns]
    if missing:
        msg = f"series_stats: the series frame needs the column(s) {', '.join(missing)} (as ds.series() returns)"
        raise ParameterError(msg)
    spec = series.select(pl.col("series_id").cast(pl.UInt64), pl.col("metric").cast(pl.String)).unique(
        "series_id", keep="first").sort("series_id")  # fmt: skip
    metrics = sorted(set(spec["metric"].drop_nulls()))
    per = {m: tuple(sorted({float(q) for q in (quantiles.get(m, ()) if isinstance(quantiles, Mapping) else quantiles)}))
           for m in metrics}  # fmt: skip
    bad = [q for qs in per.values() for q in qs if not 0 <= q <= 100]
    if bad:
        msg = f"series_stats: percentile {bad[0]:g} is not between 0 and 100"
        raise ParameterError(msg)
    sets = sorted(set(per.values())) or [()]
    kind = {m: (kinds or {}).get(m) or metric_kind(m) for m in metrics}
    wrong = {m: k for m, k in kind.items() if k not in ("counter", "gauge")}
    if wrong:
        msg = f"series_stats: kinds must be 'counter' or 'gauge' (got {wrong})"
        raise ParameterError(msg)
    spec = spec.with_columns(
        pl.col("metric").replace_strict(kind, default="gauge").eq("counter").alias("_counter"),
        pl.col("metric").replace_strict({m: sets.index(per[m]) for m in metrics}, default=0,
                                        return_dtype=pl.Int64).alias("_qset"),
    )  # fmt: skip
    return spec, sets


def series_stats(samples: pl.LazyFrame | pl.DataFrame, series: pl.DataFrame, *,
                 quantiles: Sequence[float] | Mapping[str, Sequence[float]] = (),
                 kinds: Mapping[str, Kind] | None = None, capacity: int = 0) -> pl.DataFrame:  # fmt: skip
    """Per series of ``series`` (columns series_id, metric): ``samples`` (count), ``mean``,
    ``max``, ``increase`` and one ``p<q>`` column per percentile (linear interpolation, as
    ``numpy.percentile``) of its values (gauges) or of its per-second rates (counters, as
    :func:`counter_rate` computes them), in one pass over ``samples`` (inputs of more than
    ``capacity`` > 32 M samples: one pass per part of the series-id range).

    ``samples`` (series_id, ts, value; lazy or not) must be in storage order: sorted by series
    and time within each part, the parts in time order (as ``ds.scan("metrics")`` reads them);
    samples out of time order are detected and the samples are then sorted first. Samples of
    other series are skipped, null values ignored. ``quantiles`` applies to every metric, or maps
    a metric to its own (others get null). ``kinds`` maps metric names to ``"counter"`` or
    ``"gauge"`` (default: :func:`metric_kind`). ``increase`` is a counter's total increase (null
    for gauges). ``capacity``: expected number of samples (an upper bound saves regrowing).
    Only series with samples are returned, sorted by ``series_id``."""
    from workbench.analyses import _series_kernels as k  # compiled on import (or loaded from the cache)

    spec, sets = _spec(series, quantiles, kinds)
    ids, counter, qset_of = (spec[c].to_numpy() for c in ("series_id", "_counter", "_qset"))
    acc = np.zeros((ids.size, k.ACC))
    acc[:, k.MIN], acc[:, k.MAX] = np.inf, -np.inf
    qsets = np.full((len(sets), max(1, *map(len, sets))), np.nan)
    for i, qs in enumerate(sets):
        qsets[i, : len(qs)] = np.asarray(qs, dtype=np.float64) / 100.0
    res = np.full((ids.size, qsets.shape[1]), np.nan)
    # Big inputs are read in parts by series-id range (row groups outside a part's range are
    # skipped by their statistics), so the values held for ranking stay near _PART_VALUES. Every
    # part reuses one buffer, so only one part's worth of fresh memory is ever touched: a part's
    # percentiles are computed (on every core) before the next part is scanned, while polars
    # starts reading it (while a part is read, the reading and the scan kernel keep the cores busy).
    parts = 1 if isinstance(samples, pl.DataFrame) else max(1, min(ids.size, -(-capacity // _PART_VALUES)))
    cuts = list(itertools.pairwise([ids.size * i // parts for i in range(parts + 1)]))

    def read(j: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        g0, g1 = cuts[j]
        return _batches(samples if parts == 1 else samples.filter(pl.col("series_id").is_between(int(ids[g0]), int(ids[g1 - 1]))))  # fmt: skip

    buffer = np.empty(max(min(capacity, _PART_VALUES), 1 << 16))
    runs = np.empty((1 << 12, 3), dtype=np.int64)
    batches = read(0)
    for j, (g0, g1) in enumerate(cuts):
        buffer, runs, found, disorder = _scan_part(k, batches, ids, counter, acc, buffer, runs)
        if disorder:
            log.info("series_stats: %d samples out of time order; sorting the samples first", disorder)
            frame = samples if isinstance(samples, pl.DataFrame) else samples.select(*_SAMPLES).collect()
            return series_stats(frame.sort("series_id", "ts", maintain_order=True), series, quantiles=quantiles,
                                kinds=kinds)  # fmt: skip
        if j + 1 < parts:
            batches = read(j + 1)
        _quantiles(k, buffer, found, acc, qsets, qset_of, res, g0, g1)
    n = acc[:, k.CNT].astype(np.int64)
    columns = [
        pl.Series("samples", n, dtype=pl.UInt32),
        pl.Series("mean", acc[:, k.SUM] / np.maximum(n, 1)),
        pl.Series("max", np.where(acc[:, k.MAX] >= acc[:, k.MIN], acc[:, k.MAX], np.nan)),
    ]
    for q in sorted({q for qs in sets for q in qs}):
        col, asked = np.full(ids.size, np.nan), np.zeros(ids.size, dtype=bool)
        for i, qs in enumerate(sets):
            if q in qs:
                rows = qset_of == i
                col[rows], asked[rows] = res[rows, qs.index(q)], True
        columns.append(pl.Series(qname(q), col).scatter(np.flatnonzero(~asked), None))
    columns.append(pl.Series("increase", acc[:, k.INC]).scatter(np.flatnonzero(~counter), None))
    return spec.select("series_id", "metric").with_columns(columns).filter(pl.col("samples") > 0)


def metric_stats(ds: Dataset, series: pl.DataFrame, *, start: Any = None, end: Any = None,
                 quantiles: Sequence[float] | Mapping[str, Sequence[float]] = (),
                 kinds: Mapping[str, Kind] | None = None) -> pl.DataFrame:  # fmt: skip
    """:func:`series_stats` of these ``series`` (rows of ``ds.series()``: series_id, metric,
    cluster) over their samples in ``[start, end]`` (default: all): one read of the ``metrics``
    files of their clusters and dates, skipping row groups outside their id range."""
    if series.is_empty():
        return series_stats(pl.DataFrame(schema={"series_id": pl.UInt64, "ts": TS, "value": pl.Float64}), series,
                            quantiles=quantiles, kinds=kinds)  # fmt: skip
    clusters = series["cluster"].unique().to_list() if "cluster" in series.columns else None
    files = {str(p) for p in ds.files("metrics", cluster=clusters, start=start, end=end)}
    rows = sum(f.get("rows", 0) for f in ds.manifest["tables"].get("metrics", {}).get("files", [])
               if str(ds.path / f["path"]) in files)  # fmt: skip
    ids = series["series_id"]
    lf = ds.scan("metrics", cluster=clusters, start=start, end=end)
    every = ds.series()["series_id"]
    if ids.min() > every.min() or ids.max() < every.max():  # lets row groups outside the range be skipped
        lf = lf.filter(pl.col("series_id").is_between(ids.min(), ids.max()))
    return series_stats(lf, series, quantiles=quantiles, kinds=kinds, capacity=rows)


def _scan_part(k: Any, batches: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], ids: np.ndarray,
               counter: np.ndarray, acc: np.ndarray, out: np.ndarray,
               runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:  # fmt: skip
    """Run the scan kernel over ``batches`` (:func:`_batches`): returns the value buffer
    (``out``, or a bigger one), the runs array, a copy of the runs found and the number of
    samples out of time order."""
    cur = np.array([-1, 0, 0], dtype=np.int64)
    n_out = n_runs = 0
    for sid, ts, v in batches:
        if n_out + sid.size > out.size:
            out = _grow(out, n_out, n_out + sid.size)
        i = 0
        while i < sid.size:
            if n_runs == runs.shape[0]:
                runs = _grow(runs, n_runs, n_runs + 1)
            n_out, n_runs, i = k.scan(sid, ts, v, i, ids, counter, acc, out, n_out, runs, n_runs, cur)
    return out, runs, runs[:n_runs].copy(), int(cur[2])


def _grow(a: np.ndarray, used: int, need: int) -> np.ndarray:
    new = np.empty((max(2 * a.shape[0], need), *a.shape[1:]), dtype=a.dtype)
    new[:used] = a[:used]
    return new


def _quantiles(k: Any, out: np.ndarray, runs: np.ndarray, acc: np.ndarray, qsets: np.ndarray, qset_of: np.ndarray,
               res: np.ndarray, g0: int, g1: int) -> None:  # fmt: skip
    """Fill ``res[g]`` for ``g0 <= g < g1`` (set ``qset_of[g]``'s percentiles, in order) from the
    values of ``runs`` in ``out``, the series split over the threads by their sample counts."""
    if not runs.shape[0] or np.isnan(qsets).all():
        return
    order = np.argsort(runs[:, 0], kind="stable")
    starts, ends = runs[order, 1].copy(), runs[order, 2].copy()
    gptr = np.zeros(acc.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(runs[:, 0], minlength=acc.shape[0]), out=gptr[1:])
    threads = max(1, min(len(os.sched_getaffinity(0)), pl.thread_pool_size(), g1 - g0))
    work = np.cumsum(acc[g0:g1, 0])
    cuts = [g0, *(g0 + int(np.searchsorted(work, work[-1] * i / threads)) for i in range(1, threads)), g1]
    spans = [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    if len(spans) == 1:
        k.quantiles(out, starts, ends, gptr, acc, qsets, qset_of, g0, g1, res)
        return
    with ThreadPoolExecutor(len(spans)) as pool:
        list(
            pool.map(
                lambda ab: k.quantiles(out, starts, ends, gptr, acc, qsets, qset_of, ab[0], ab[1], res), spans
            )
        )
