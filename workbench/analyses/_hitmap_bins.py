"""How the hitmap bins transactions in memory, fast and exactly as the definition says.

The response-time row of a transaction is defined by :func:`rt_row_expr` (a polars
expression: ``floor((log10(max(rt_ms, rt_min_ms)) − log10(rt_min_ms)) · bins_per_decade)``,
clipped to the rows). Evaluating a log10 per span costs more than reading the span, so
integer durations (µs) are binned by a table of the rows of every duration under about a
second (:func:`_rt_table`), and by the rows' thresholds for slower ones (:func:`_rt_thresholds`);
both are computed from the definition itself, once per grid. :func:`grid_cells` counts the
transactions into a dense grid with a compiled kernel (:mod:`._hitmap_kernel`: one pass per
chunk of the read, no intermediate arrays); otherwise rows are binned in slices along the
read's chunks (no copies, small enough to stay in the CPU's caches) by :func:`cell_indexes` and
counted by ``numpy.bincount`` (:func:`count_cells`) or a ``group_by``.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

from workbench.analyses._kernels import kernel

__all__ = ["cell_indexes", "count_cells", "grid_cells", "rt_row_expr", "rt_rows_of_ms"]


def rt_row_expr(rt_min_ms: float, bins_per_decade: int, n_rt: int) -> pl.Expr:
    """The response-time row of column ``rt_ms``: the definition of the hitmap's rows."""
    lo = math.log10(rt_min_ms)
    rt = pl.col("rt_ms").clip(lower_bound=rt_min_ms)
    return ((rt.log10() - lo) * bins_per_decade).floor().cast(pl.Int64).clip(0, n_rt - 1).cast(pl.Int32)


def rt_rows_of_ms(rt_ms: pl.Series, rt_min_ms: float, bins_per_decade: int, n_rt: int) -> np.ndarray:
    out = pl.DataFrame({"rt_ms": rt_ms.cast(pl.Float64)}).select(
        rt_row_expr(rt_min_ms, bins_per_decade, n_rt)
    )
    return out.to_series().to_numpy()


#: Durations below this many µs (about a second) are binned by looking them up in a table.
_TABLE_US = 1 << 20
_NEVER = 1 << 62  # a duration no span has


def _rt_rows_of_us(dur_us: np.ndarray, rt_min_ms: float, bins_per_decade: int, n_rt: int) -> np.ndarray:
    return rt_rows_of_ms(pl.Series(dur_us, dtype=pl.Int64) / 1000.0, rt_min_ms, bins_per_decade, n_rt)


@functools.lru_cache(maxsize=16)
def _rt_thresholds(rt_min_ms: float, bins_per_decade: int, n_rt: int) -> np.ndarray:
    """For each row ``i`` ≥ 1, the shortest integer duration (µs) that :func:`rt_row_expr` puts in
    row ``i`` or above. The definition is evaluated (in polars, as everywhere) by a binary
    search from the row's edge; it grows with the duration (consecutive µs differ by far more
    than log10's rounding), so a duration's row is the number of thresholds it reaches."""
    want = np.arange(1, n_rt, dtype=np.int64)
    edge = 1000.0 * rt_min_ms * 10.0 ** (want / bins_per_decade)
    hi = np.minimum(np.ceil(edge * 1.001) + 2, _NEVER).astype(np.int64)
    while (short := _rt_rows_of_us(hi, rt_min_ms, bins_per_decade, n_rt) < want).any():
        if (hi[short] >= _NEVER).all():  # rows no duration reaches
            break
        hi[short] = np.minimum(hi[short] * 2, _NEVER)
    lo = np.maximum(np.floor(np.minimum(edge * 0.999, _NEVER)) - 2, 0).astype(np.int64)
    lo[_rt_rows_of_us(lo, rt_min_ms, bins_per_decade, n_rt) >= want] = 0  # a duration of 0 is in row 0
    while (open_ := hi - lo > 1).any():  # invariant: row(lo) < want ≤ row(hi)
        mid = lo + (hi - lo) // 2
        up = (_rt_rows_of_us(mid, rt_min_ms, bins_per_decade, n_rt) >= want) & open_
        hi = np.where(up, mid, hi)
        lo = np.where(open_ & ~up, mid, lo)
    return hi


@functools.lru_cache(maxsize=16)
def _rt_table(rt_min_ms: float, bins_per_decade: int, n_rt: int) -> np.ndarray:
    """The row of every duration 0 … :data:`_TABLE_US` − 1 µs."""
    steps = _rt_thresholds(rt_min_ms, bins_per_decade, n_rt)
    rows = np.cumsum(np.bincount(steps[steps < _TABLE_US], minlength=_TABLE_US)[:_TABLE_US])
    return rows.astype(np.int16 if n_rt < 2**15 else np.int32)


@functools.lru_cache(maxsize=16)
def _rt_coarse(rt_min_ms: float, bins_per_decade: int, n_rt: int) -> tuple[np.ndarray, int]:
    """The row of every ``1 << shift``-th duration below :data:`_TABLE_US` µs, and ``shift``:
    slices no wider than the narrowest row (at most 1,024 µs), so a duration is at most a few
    thresholds above its slice's first row (the kernel of :func:`grid_cells` counts them)."""
    steps = _rt_thresholds(rt_min_ms, bins_per_decade, n_rt)
    reached = steps[steps < _TABLE_US]
    narrowest = int(np.diff(np.concatenate([[0], reached])).min()) if reached.size else _TABLE_US
    shift = min(max(narrowest, 1).bit_length() - 1, 10)
    every = 1 << shift
    return np.ascontiguousarray(_rt_table(rt_min_ms, bins_per_decade, n_rt)[::every]), shift


#: Above this many cells a dense count array is not worth it: cells are counted by a group_by.
_DENSE_CELLS = 1 << 23
#: Rows binned at a time (pieces that stay in the CPU's caches).
_PIECE = 1 << 18
#: :func:`grid_cells` uses one more thread per this many rows (up to one per core).
_PARALLEL_ROWS = 1 << 20


def _pieces(rows: pl.DataFrame) -> Iterator[tuple[int, pl.DataFrame]]:
    """``(offset, slice)`` of ``rows`` along its chunks (no copies), none longer than :data:`_PIECE`."""
    offset = 0
    for length in rows.get_column("_e").chunk_lengths() if rows.width else []:
        for a in range(0, length, _PIECE):
            yield offset + a, rows.slice(offset + a, min(_PIECE, length - a))
        offset += length


def cell_indexes(rows: pl.DataFrame, *, us: bool, t0: int, step: int, rt: tuple[float, int, int]) -> Iterator[
        tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Per piece of ``rows``: each transaction's cell (time column × ``n_rt`` + row: cells
    come out sorted by time, then row) and whether it failed.

    Response-time rows are exactly what :func:`rt_row_expr` gives for ``rt_ms = duration_us / 1000``
    (a log10 per span would cost more than reading it): looked up in a table below
    :data:`_TABLE_US` (a negative duration gets the row of 0, as both are clipped up to
    ``rt_min_ms``), found among the rows' thresholds (:func:`_rt_thresholds`) for slower ones."""
    rt_min_ms, per_decade, n_rt = rt
    d = rows.get_column("_d")
    if us:
        table = _rt_table(rt_min_ms, per_decade, n_rt)
        slow_at = rows.select(pl.arg_where(pl.col("_d") >= _TABLE_US)).to_series().to_numpy()
        slow = np.searchsorted(_rt_thresholds(rt_min_ms, per_decade, n_rt), d.gather(slow_at).to_numpy(),
                               side="right")  # fmt: skip
    else:
        every = rt_rows_of_ms(d, rt_min_ms, per_decade, n_rt)
    for offset, part in _pieces(rows):
        if us:
            rows_rt = np.take(table, part.get_column("_d").to_numpy(), mode="clip")
            a, b = np.searchsorted(slow_at, [offset, offset + part.height])
            rows_rt[slow_at[a:b] - offset] = slow[a:b]
        else:
            rows_rt = every[offset : offset + part.height]
        idx = part.get_column("_e").to_numpy() - t0
        np.floor_divide(idx, step, out=idx)
        idx *= n_rt
        idx += rows_rt
        yield idx, part.get_column("_f").to_numpy()


def count_cells(pieces: Iterator[tuple[np.ndarray, np.ndarray]], size: int, rows: int) -> pl.DataFrame:
    """``_i``, ``count``, ``errors`` of the non-empty cells (``size`` cells, ``rows`` transactions)."""
    if size <= max(_DENSE_CELLS, 4 * rows):
        counts = np.zeros(size, dtype=np.int64)
        errors = np.zeros(size, dtype=np.int64)
        for idx, failed in pieces:
            counts += np.bincount(idx, minlength=size)
            errors += np.bincount(idx[failed], minlength=size)
        nz = np.flatnonzero(counts)
        return pl.DataFrame({"_i": nz, "count": counts[nz], "errors": errors[nz]})
    parts = list(pieces)
    idx = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
    failed = np.concatenate([f for _, f in parts]) if parts else np.zeros(0, dtype=bool)
    return (pl.DataFrame({"_i": idx, "_f": failed}).group_by("_i")
            .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("_f").sum().cast(pl.Int64).alias("errors")))  # fmt: skip


def grid_cells(rows: pl.DataFrame, *, us: bool, t0: int, step: int, rt: tuple[float, int, int],
               size: int) -> pl.DataFrame:  # fmt: skip
    """``_i``, ``count``, ``errors`` of the non-empty cells of ``rows`` (``_e``, ``_d``, ``_f``
    as :func:`cell_indexes` takes them) in a grid of ``size`` cells: the same as
    :func:`count_cells` of :func:`cell_indexes`, by the compiled kernel when the durations are
    whole µs and the grid is dense, and the input is big or the kernel already loaded (big
    inputs: a share of the rows per core, their grids added; when it is used:
    :func:`~workbench.analyses._kernels.kernel`)."""
    dense = us and size <= max(_DENSE_CELLS, 4 * rows.height)
    k = kernel("_hitmap_kernel", rows.height) if dense else None
    if k is None:
        return count_cells(cell_indexes(rows, us=us, t0=t0, step=step, rt=rt), size, rows.height)

    rt_min_ms, per_decade, n_rt = rt
    coarse, shift = _rt_coarse(rt_min_ms, per_decade, n_rt)
    thresholds = _rt_thresholds(rt_min_ms, per_decade, n_rt)

    def count(share: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
        counts = np.zeros(size, dtype=np.int64)
        errors = np.zeros(size, dtype=np.int64)
        outside = 0
        for _, part in _pieces(share):
            e, d = (part.get_column(c).to_numpy().astype(np.int64, copy=False) for c in ("_e", "_d"))
            f = part.get_column("_f").to_numpy()
            outside += k.count(e, d, f, t0, step, n_rt, coarse, shift, thresholds, counts, errors)
        return counts, errors, outside

    threads = max(1, min(len(os.sched_getaffinity(0)), rows.height // _PARALLEL_ROWS))
    if threads == 1:
        counts, errors, outside = count(rows)
    else:
        cuts = [rows.height * i // threads for i in range(threads + 1)]
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(count, [rows.slice(a, b - a) for a, b in itertools.pairwise(cuts)]))
        counts, errors = sum(c for c, _, _ in done), sum(e for _, e, _ in done)
        outside = sum(o for _, _, o in done)
    if outside:  # the caller's grid covers every row: never expected
        msg = f"{outside} transaction(s) outside the hitmap's grid"
        raise ValueError(msg)
    nz = np.flatnonzero(counts)
    return pl.DataFrame({"_i": nz, "count": counts[nz], "errors": errors[nz]})
