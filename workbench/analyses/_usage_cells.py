"""Per-series buckets of a whole snapshot, made once and cut to any window: what
:func:`workbench.analyses.usage.bucketed` computes for a window, step and set of series, derived
from *cells* instead of the samples.

:func:`cells_of` reads the samples of some series once, in storage order, and a compiled kernel
(:mod:`._cells_kernel`) adds them per series and :data:`BASE` bucket: the sum, number and
highest of a gauge's values or of a counter's per-sample rates (those of
:func:`~workbench.analyses._rates.stream_rates`). :func:`window_buckets` then gives, for a
window and a step that is a multiple of :data:`BASE`, the rows ``bucketed`` aggregates (series_id,
ts, mean, max, samples): the cells added per bucket of the step, over the same samples.

The one rate that depends on the window is that of a series' first sample read: a read starts
``lookback`` before the window (:func:`~workbench.analyses.usage.bucketed`), and a sample whose
predecessor lies before that has no rate. A sample of a window's buckets is at least
:data:`BASE` after the read's start, so only a sample more than :data:`BASE` after its
predecessor (a *head*, kept aside by the kernel) can lose its rate: the heads are added back
for each window unless their predecessor lies before its read.

The same rows hold when the window's start is a multiple of :data:`BASE` and its end a multiple
of the step (a bucket cut by the end holds the samples up to and at the end), when the step is
a multiple of :data:`BASE` and every value is present; else :func:`window_buckets` (or
:func:`cells_of`) returns None and the caller reads the samples.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from workbench.analyses._rates import COUNTER_SUFFIXES, _single_chunks
from workbench.schema import SCHEMAS

if TYPE_CHECKING:
    from workbench.store import Dataset

__all__ = ["BASE", "Cells", "cells_of", "window_buckets"]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
#: Width of the cells (µs): 5 minutes, the shortest read-ahead of a counter (``usage._lookback``).
BASE = 300_000_000


@dataclasses.dataclass(frozen=True)
class Cells:
    """The cells of some series (:func:`cells_of`): ``cells`` (series_id, ts = cell start,
    counter, sum, n, max; sorted by ts) and ``heads`` (series_id, ts, prev, rate, counter)."""

    cells: pl.DataFrame
    heads: pl.DataFrame


def _batches(lf: pl.LazyFrame) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """The samples as (series_id, ts in µs, value) numpy arrays, batch by batch in storage
    order; None for a batch with a null value."""
    cols = {"series_id": pl.UInt64, "ts": TS, "value": pl.Float64}
    lf = lf.select(*cols)
    if lf.collect_schema() != pl.Schema(cols):
        lf = lf.cast(cols)  # type: ignore[arg-type]
    for batch in lf.filter(pl.col("ts").is_not_null()).collect_batches(engine="streaming"):
        for piece in _single_chunks(batch):
            sid, ts, value = piece.get_columns()
            if value.has_nulls():
                yield None
                return
            yield sid.to_numpy(), ts.to_numpy().view(np.int64), value.to_numpy()


def cells_of(ds: Dataset, series: pl.DataFrame) -> Cells | None:
    """The cells of ``series`` (rows of ``ds.series()``) over the whole snapshot (one read of
    the ``metrics`` table); None when a value is null or samples are out of time order."""
    from workbench.analyses import _cells_kernel as k  # compiled on import (or loaded from the cache)

    spec = series.unique("series_id").sort("series_id")
    ids = spec["series_id"].to_numpy()
    counter = spec.select(pl.col("metric").str.ends_with(COUNTER_SUFFIXES[0])
                          .or_(*[pl.col("metric").str.ends_with(s) for s in COUNTER_SUFFIXES[1:]]))  # fmt: skip
    is_counter = counter.to_series().to_numpy().astype(bool)
    state = np.zeros((ids.size, k.STATE), dtype=np.int64)
    state[:, k.OPEN] = -1
    last_v = np.zeros(ids.size)
    cur = np.array([-1, 0], dtype=np.int64)
    lo, hi = ds.window
    room = max(1 << 16, ids.size * (2 + ((hi - lo) // dt.timedelta(microseconds=BASE) if lo and hi else 0)))
    g, b, n = (np.empty(room, dtype=np.int64) for _ in range(3))
    s, m = np.empty(room), np.empty(room)
    hg, ht, hp = (np.empty(1 << 12, dtype=np.int64) for _ in range(3))
    hr = np.empty(1 << 12)
    used = heads = 0
    # the files of these series' clusters, every row (other series' runs are skipped by the
    # kernel: cheaper than a filter on each row)
    files = ds.files("metrics", cluster=spec["cluster"].unique().to_list())
    for arrays in _batches(
        pl.scan_parquet(files, schema=SCHEMAS["metrics"])
        if files
        else pl.LazyFrame(schema=SCHEMAS["metrics"])
    ):
        if arrays is None:
            log.info("usage cells: a value is null; the samples are read per window")
            return None
        sid, ts, v = arrays
        i = 0
        while i < sid.size:
            if used == g.size:
                g, b, n, s, m = (np.concatenate([x, np.empty_like(x)]) for x in (g, b, n, s, m))
            if heads == hg.size:
                hg, ht, hp, hr = (np.concatenate([x, np.empty_like(x)]) for x in (hg, ht, hp, hr))
            used, heads, disorder, i = k.cells(sid, ts, v, i, ids, is_counter, BASE, BASE, state, last_v, g, b, s, n,
                                               m, used, hg, ht, hp, hr, heads, cur)  # fmt: skip
            if disorder:
                log.info("usage cells: samples out of time order; the samples are read per window")
                return None
    sids = pl.Series(ids, dtype=pl.UInt64)
    kinds = pl.Series(is_counter)
    out = pl.DataFrame({
        "series_id": sids.gather(g[:used]), "ts": pl.Series(b[:used]).cast(TS), "counter": kinds.gather(g[:used]),
        "sum": s[:used], "n": n[:used], "max": m[:used],
    }).sort("ts", maintain_order=True)  # fmt: skip
    head = pl.DataFrame({
        "series_id": sids.gather(hg[:heads]), "ts": pl.Series(ht[:heads], dtype=pl.Int64).cast(TS),
        "prev": pl.Series(hp[:heads], dtype=pl.Int64).cast(TS), "rate": hr[:heads],
        "counter": kinds.gather(hg[:heads]),
    })  # fmt: skip
    return Cells(cells=out, heads=head)


def window_buckets(cells: Cells, ids: pl.Series, *, start: dt.datetime | None, end: dt.datetime | None,
                   step_us: int, lookback: dt.timedelta) -> pl.DataFrame | None:  # fmt: skip
    """What :func:`~workbench.analyses.usage.bucketed` aggregates for the series ``ids`` (of
    the cells' series) over ``[start, end]`` with buckets of ``step_us`` and counters read
    ``lookback`` before ``start`` (series_id, ts, mean, max, samples), from the cells; None
    when the window or step do not allow it (see the module docstring)."""
    if (
        step_us % BASE
        or (start is not None and _us(start) % BASE)
        or (end is not None and _us(end) % step_us)
    ):
        return None
    mine = pl.col("series_id").is_in(ids.unique().implode())
    heads = cells.heads.filter(mine)
    rows = cells.cells
    if start is not None:  # the cells are sorted by time: the window's are a slice
        rows = rows.slice(rows["ts"].search_sorted(start - lookback, side="left"))
    if end is not None:
        rows = rows.slice(0, rows["ts"].search_sorted(end, side="left"))
    if start is not None:
        heads = heads.filter(pl.col("prev") >= start - lookback)  # else not read: no rate
    rows = pl.concat([
        rows.lazy().filter(mine),
        heads.lazy().select("series_id", pl.col("ts").dt.truncate(f"{BASE}us"), "counter", pl.col("rate").alias("sum"),
                            pl.lit(1, dtype=pl.Int64).alias("n"), pl.col("rate").alias("max")),
    ])  # fmt: skip
    bucket = pl.col("ts").dt.truncate(f"{step_us}us")
    if start is not None:
        first = pl.Series([start], dtype=TS).dt.truncate(f"{step_us}us")[0]
        # a counter's buckets from the one holding start; a gauge's samples from start
        rows = rows.filter(
            pl.when(pl.col("counter")).then(pl.col("ts") >= first).otherwise(pl.col("ts") >= start)
        )
    if end is not None:
        rows = rows.filter(pl.col("ts") < end)
    return (
        rows.group_by("series_id", bucket)
        .agg(pl.col("sum").sum(), pl.col("n").sum(), pl.col("max").max())
        .select(
            "series_id",
            "ts",
            (pl.col("sum") / pl.col("n")).alias("mean"),
            "max",
            pl.col("n").cast(pl.UInt32).alias("samples"),
        )
        .collect()
    )


def _us(t: dt.datetime) -> int:
    return (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
