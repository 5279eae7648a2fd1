"""The hitmap (X-View): every transaction's finish time × response time, as a 2-D histogram.

Transactions are those of :mod:`workbench.analyses.apm`. A cell is a time column
``[ts, ts + time_bin)`` of the finish time (``end``) and a response-time row
``[rt_lo_ms, rt_hi_ms)`` on a log scale: row ``i`` starts at ``rt_min_ms · 10^(i / bins_per_decade)``
(exactly: ``floor((log10(rt_ms) − log10(rt_min_ms)) · bins_per_decade)``, see :func:`_rt_bin`).
Faster transactions than ``rt_min_ms`` go to the first row, slower ones than ``rt_max_ms`` to
the last: every transaction is counted once.

Speed: one read of the columns needed — finish time, duration and error of the transactions
(the kind filter is applied by the Parquet reader; the start times are read only when the
files may hold null times), plus the ``by`` columns and what the scope filters on — then binning
in memory: integer time columns, response-time rows by table lookup, counted into a dense
grid in one pass by a compiled kernel (:mod:`._hitmap_kernel`, for big inputs or once loaded;
else ``numpy.bincount``; a ``group_by`` when grouped). Ten million spans take about twice the
time of reading those columns. The result is already a raster (no datashader). ``data`` may also be
:class:`~workbench.analyses.apm.Transactions` picked once for several results.

- :func:`hitmap` → :class:`Hitmap`: ``cells`` with ``<by>`` + :data:`CELL_COLUMNS` (only
  non-empty cells) and the grid's geometry (``grid()`` gives dense arrays for plotting).
- :func:`select` → the transactions inside a box of finish time × response time (what a box
  selection on the plot returns), slowest first, with :data:`~workbench.analyses.apm.TRANSACTION_COLUMNS`.
- :func:`trace` → one trace as a waterfall table (:data:`WATERFALL_COLUMNS`), depth first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl

from workbench.analyses._hitmap_bins import cell_indexes, count_cells, grid_cells, rt_row_expr
from workbench.analyses._transactions import (
    PACKED,
    TRANSACTION_COLUMNS,
    Data,
    SpanParams,
    Transactions,
    duration_us,
    engine,
    epoch_us,
    nullable_columns,
    span_frame,
    transaction_frame,
    transaction_rows,
    unpack_ids,
)
from workbench.analyses.apm import GROUP_COLUMNS, resolve_params
from workbench.analyses.params import field
from workbench.analyses.servicemap import link
from workbench.errors import ParameterError
from workbench.store import Dataset, to_utc

__all__ = [
    "CELL_COLUMNS",
    "NICE_BINS",
    "WATERFALL_COLUMNS",
    "Hitmap",
    "HitmapParams",
    "hitmap",
    "select",
    "select_slowest",
    "trace",
]

log = logging.getLogger(__name__)

_PACKED = {"trace_id": PACKED[:2], "span_id": PACKED[2:]}

TS = pl.Datetime("us", "UTC")
CELL_COLUMNS: dict[str, pl.DataType] = {
    "t_bin": pl.Int32(),
    "rt_bin": pl.Int32(),
    "ts": TS,
    "rt_lo_ms": pl.Float64(),
    "rt_hi_ms": pl.Float64(),
    "count": pl.Int64(),
    "errors": pl.Int64(),
}
WATERFALL_COLUMNS: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "trace_id": pl.String(),
    "span_id": pl.String(),
    "parent_id": pl.String(),
    "depth": pl.Int64(),
    "service": pl.String(),
    "operation": pl.String(),
    "kind": pl.String(),
    "start": TS,
    "offset_ms": pl.Float64(),
    "duration_ms": pl.Float64(),
    "error": pl.Boolean(),
    "status_message": pl.String(),
    "pod": pl.String(),
}
#: Time-column widths an automatic ``time_bin`` rounds up to.
NICE_BINS: tuple[str, ...] = (
    "1s",
    "2s",
    "5s",
    "10s",
    "15s",
    "30s",
    "1m",
    "2m",
    "5m",
    "10m",
    "15m",
    "30m",
    "1h",
    "2h",
    "3h",
    "6h",
    "12h",
    "1d",
    "7d",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HitmapParams(SpanParams):
    """Parameters of the hitmap: the window, the grid and the grouping."""

    time_bin: str | None = field(None, "width of a time column (10s, 1m…); automatic when empty")
    time_bins: int = field(400, "about this many time columns when time_bin is empty", ge=1, le=100_000)
    rt_min_ms: float = field(1.0, "the lowest row starts here (faster transactions go to it)", ge=1e-3)
    rt_max_ms: float = field(60_000.0, "the highest row ends here or above (slower ones go to it)", ge=1e-3)
    bins_per_decade: int = field(20, "response-time rows per factor of ten", ge=1, le=1000)
    by: tuple[str, ...] = field((), f"one hitmap per group, e.g. ('service',) ({', '.join(GROUP_COLUMNS)})")
    kinds: tuple[str, ...] = field(("SERVER", "CONSUMER"), "span kinds that are transactions")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rt_max_ms <= self.rt_min_ms:
            msg = f"rt_max_ms ({self.rt_max_ms}) must be above rt_min_ms ({self.rt_min_ms})"
            raise ParameterError(msg)
        if self.time_bin is not None:
            duration_us(self.time_bin, what="time_bin")
        self._check_names("by", GROUP_COLUMNS)
        self._check_names("kinds", ("SERVER", "CONSUMER", "CLIENT", "PRODUCER", "INTERNAL", "UNSPECIFIED"))

    @property
    def n_rt(self) -> int:
        """Number of response-time rows."""
        return max(
            1,
            math.ceil(
                round((math.log10(self.rt_max_ms) - math.log10(self.rt_min_ms)) * self.bins_per_decade, 9)
            ),
        )


@dataclasses.dataclass(frozen=True)
class Hitmap:
    """A computed hitmap: its non-empty cells and the geometry of its grid."""

    cells: pl.DataFrame
    by: tuple[str, ...]
    t0: dt.datetime
    time_bin_us: int
    n_time: int
    rt_min_ms: float
    bins_per_decade: int
    n_rt: int

    @property
    def t1(self) -> dt.datetime:
        """End of the last time column."""
        return self.t0 + dt.timedelta(microseconds=self.time_bin_us * self.n_time)

    @property
    def rt_max_ms(self) -> float:
        """Upper edge of the last response-time row."""
        return float(self.rt_edges_ms()[-1])

    def time_edges(self) -> np.ndarray:
        """The ``n_time + 1`` column edges as ``datetime64[us]`` (UTC, naive)."""
        start = np.datetime64(self.t0.replace(tzinfo=None), "us")
        return start + np.arange(self.n_time + 1, dtype=np.int64) * np.timedelta64(self.time_bin_us, "us")

    def rt_edges_ms(self) -> np.ndarray:
        """The ``n_rt + 1`` row edges in ms."""
        return self.rt_min_ms * 10.0 ** (np.arange(self.n_rt + 1) / self.bins_per_decade)

    def groups(self) -> list[tuple[Any, ...]]:
        """The groups (values of ``by``) that have cells, sorted; ``[()]`` when not grouped."""
        if not self.by:
            return [()]
        return sorted(self.cells.select(self.by).unique().rows(), key=lambda r: tuple(str(v) for v in r))

    def grid(self, group: tuple[Any, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``(counts, errors)`` int64 arrays of shape ``(n_rt, n_time)`` (row 0 = fastest)
        for one group (all groups summed when ``group`` is None)."""
        cells = self.cells
        if group is not None and self.by:
            if len(group) != len(self.by):
                msg = f"group {group!r} must give one value per 'by' column ({', '.join(self.by)})"
                raise ParameterError(msg)
            for col, value in zip(self.by, group, strict=True):
                cells = cells.filter(pl.col(col).is_null() if value is None else pl.col(col) == value)
        counts = np.zeros((self.n_rt, self.n_time), dtype=np.int64)
        errors = np.zeros_like(counts)
        r, t = cells["rt_bin"].to_numpy(), cells["t_bin"].to_numpy()
        np.add.at(counts, (r, t), cells["count"].to_numpy())
        np.add.at(errors, (r, t), cells["errors"].to_numpy())
        return counts, errors

    def ranked(self, *, limit: int | None = None) -> list[tuple[Any, ...]]:
        """The groups, busiest first (ties by name); the first ``limit`` of them."""
        if not self.by:
            return [()]
        totals = self.cells.group_by(list(self.by)).agg(pl.col("count").sum().alias("_n"))
        rank = {tuple(r[:-1]): r[-1] for r in totals.rows()}
        return sorted(rank, key=lambda g: (-rank[g], tuple(str(v) for v in g)))[:limit]

    def stack(self, groups: list[tuple[Any, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``(counts, errors)`` of shape ``(len(groups), n_rt, n_time)``, one grid per group."""
        counts = np.zeros((len(groups), self.n_rt, self.n_time), dtype=np.int64)
        errors = np.zeros_like(counts)
        if not groups or self.cells.is_empty():
            return counts, errors
        keys = pl.DataFrame([list(g) for g in groups], schema=dict.fromkeys(self.by, pl.String), orient="row")
        keys = keys.with_row_index("_g")
        cells = self.cells.join(keys, on=list(self.by), how="inner", nulls_equal=True)
        at = (cells["_g"].to_numpy(), cells["rt_bin"].to_numpy(), cells["t_bin"].to_numpy())
        np.add.at(counts, at, cells["count"].to_numpy())
        np.add.at(errors, at, cells["errors"].to_numpy())
        return counts, errors


def _auto_bin(span_us: int, bins: int) -> int:
    want = max(1, math.ceil(span_us / bins))
    for text in NICE_BINS:
        if duration_us(text) >= want:
            return duration_us(text)
    return duration_us(NICE_BINS[-1]) * math.ceil(want / duration_us(NICE_BINS[-1]))


def _rt_bin(p: HitmapParams, n_rt: int) -> pl.Expr:
    """The response-time row of column ``rt_ms`` (the definition)."""
    return rt_row_expr(p.rt_min_ms, p.bins_per_decade, n_rt)


def _rows(data: Data, p: HitmapParams) -> tuple[pl.DataFrame, bool]:
    """One read: ``<by>``, finish time ``_e`` (µs), ``_d`` (duration µs, or ``rt_ms`` when the
    data are :class:`Transactions`) and ``_f`` (failed) of every transaction that finished in the
    window; the flag says whether ``_d`` holds µs."""
    by = [pl.coalesce(pl.col("http_route"), pl.col("operation")).alias(b) if b == "endpoint" else pl.col(b)
          for b in p.by]  # fmt: skip
    if isinstance(data, Transactions):
        lf = transaction_frame(data, p, kinds=p.kinds)
        cols = [*[pl.col(b) for b in p.by], pl.col("end").alias("_end"), pl.col("rt_ms").alias("_d"),
                pl.col("error").fill_null(value=False).alias("_f")]  # fmt: skip
        us = False
    else:
        lf = transaction_rows(span_frame(data, p), kinds=p.kinds, nullable=nullable_columns(data, p))
        cols = [
            *by,
            pl.col("end").alias("_end"),
            pl.col("duration_us").alias("_d"),
            pl.col("error").alias("_f"),
        ]
        us = True
    lf = lf.select(cols)
    if p.start is not None:
        lf = lf.filter(pl.col("_end") >= p.start)
    if p.end is not None:
        lf = lf.filter(pl.col("_end") < p.end)
    rows = (
        lf.with_columns(pl.col("_end").dt.epoch("us").alias("_e")).drop("_end").collect(engine=engine(data))
    )
    if not us:  # response times that are whole µs (as picked from spans) bin by the table too
        dur = (pl.col("_d") * 1000).round().cast(pl.Int64)
        if rows.select((dur / 1000.0 == pl.col("_d")).all()).item():
            return rows.with_columns(dur), True
    return rows, us


def _groups(rows: pl.DataFrame, by: tuple[str, ...]) -> tuple[np.ndarray, pl.DataFrame] | None:
    """Each row's group as a number (0 … groups − 1) and the groups' ``by`` values (row ``k``:
    group ``k``), when every ``by`` column is ``Categorical`` (as :class:`Transactions` keep
    them: numbered by their codes, without hashing the values), else None."""
    if not all(isinstance(rows.schema[b], pl.Categorical) for b in by):
        return None
    code = np.zeros(rows.height, dtype=np.int64)
    keys = pl.DataFrame({"_k": [0]})
    for b in by:
        values = rows.get_column(b).unique()  # a null included
        phys = values.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
        lut = np.zeros(int(phys.max(initial=-1)) + 2, dtype=np.int64)
        lut[phys + 1] = np.arange(phys.size)
        code *= phys.size
        code += lut[rows.get_column(b).to_physical().cast(pl.Int64).fill_null(-1).to_numpy() + 1]
        keys = keys.join(pl.DataFrame([values]), how="cross")  # in the order of the codes
    return code, keys.drop("_k")


def _after(pieces: Iterator[tuple[np.ndarray, np.ndarray]], code: np.ndarray, size: int) -> Iterator[
        tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """:func:`cell_indexes`'s pieces with each row's cell moved into its group's grid (``size``
    cells a group, in the order of ``code``)."""
    at = 0
    for idx, failed in pieces:
        yield idx + code[at : at + idx.size] * size, failed
        at += idx.size


def hitmap(data: Data, params: HitmapParams | None = None, **changes: Any) -> Hitmap:
    """Bin every transaction that finished in the window by finish time × response time.

    One read of the columns needed (finish time, duration, error, the ``by`` columns and those
    the scope filters on), then binning in memory: bounds, integer time columns, response-time
    rows by table lookup, counted into a dense grid (see :func:`._hitmap_bins.grid_cells`; a
    ``group_by`` when grouped)."""
    p = resolve_params(HitmapParams, params, changes)
    n_rt = p.n_rt
    rows, us = _rows(data, p)
    e = rows.get_column("_e")
    lo_us = epoch_us(p.start) if p.start is not None else (int(e.min()) if len(e) else None)  # type: ignore[arg-type]
    hi_us = epoch_us(p.end) if p.end is not None else (int(e.max()) + 1 if len(e) else None)  # type: ignore[arg-type]
    if lo_us is None or hi_us is None:  # no transactions and no window
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        empty = pl.DataFrame(schema={**{b: pl.String() for b in p.by}, **CELL_COLUMNS})
        return Hitmap(
            empty, p.by, now, duration_us(p.time_bin or "1m"), 0, p.rt_min_ms, p.bins_per_decade, n_rt
        )
    step = duration_us(p.time_bin) if p.time_bin else _auto_bin(hi_us - lo_us, p.time_bins)
    t0 = (lo_us // step) * step
    n_time = max(1, -(-(hi_us - t0) // step))
    rt = (p.rt_min_ms, p.bins_per_decade, n_rt)
    groups = _groups(rows, p.by) if p.by else None
    if groups is not None:  # each group's grid in one count: the cell numbered after the group's
        code, keys = groups
        size = n_time * n_rt
        cells = count_cells(_after(cell_indexes(rows, us=us, t0=t0, step=step, rt=rt), code, size),
                            keys.height * size, rows.height)  # fmt: skip
        at = cells["_i"].to_numpy()
        cells = keys.gather(at // size).with_columns(
            pl.Series("_i", at % size, dtype=pl.Int64), cells["count"], cells["errors"]
        )
    elif p.by:
        idx = [i for i, _ in cell_indexes(rows, us=us, t0=t0, step=step, rt=rt)]
        cells = (rows.select(*p.by, "_f").with_columns(pl.Series("_i", np.concatenate(idx) if idx else [], dtype=pl.Int64))
                 .group_by(*p.by, "_i")
                 .agg(pl.len().cast(pl.Int64).alias("count"), pl.col("_f").sum().cast(pl.Int64).alias("errors")))  # fmt: skip
    else:
        cells = grid_cells(rows, us=us, t0=t0, step=step, rt=rt, size=n_time * n_rt)
    cells = cells.with_columns((pl.col("_i") // n_rt).cast(pl.Int32).alias("t_bin"),
                               (pl.col("_i") % n_rt).cast(pl.Int32).alias("rt_bin"))  # fmt: skip
    edges = p.rt_min_ms * 10.0 ** (np.arange(n_rt + 1) / p.bins_per_decade)
    r = cells["rt_bin"].to_numpy()
    cells = cells.with_columns(
        (pl.col("t_bin").cast(pl.Int64) * step + t0).cast(TS).alias("ts"),
        pl.Series("rt_lo_ms", edges[r], dtype=pl.Float64),
        pl.Series("rt_hi_ms", edges[r + 1], dtype=pl.Float64),
    ).sort(*p.by, "t_bin", "rt_bin", nulls_last=True)
    cells = cells.select(
        *[pl.col(b).cast(pl.String) for b in p.by], *[pl.col(c).cast(t) for c, t in CELL_COLUMNS.items()]
    )
    t0_dt = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t0)
    return Hitmap(cells, p.by, t0_dt, step, int(n_time), p.rt_min_ms, p.bins_per_decade, n_rt)


def _in_box(data: Data, t0: dt.datetime | str, t1: dt.datetime | str, rt_min_ms: float, rt_max_ms: float,
            p: HitmapParams) -> pl.LazyFrame:  # fmt: skip
    """The transactions of ``data`` in the box (unordered, lazy); see :func:`select`."""
    lo, hi = to_utc(t0), to_utc(t1)
    if lo is None or hi is None or hi < lo:
        msg = f"select needs t0 ≤ t1 (got {t0!r}, {t1!r})"
        raise ParameterError(msg)
    if rt_max_ms < rt_min_ms:
        msg = f"select needs rt_min_ms ≤ rt_max_ms (got {rt_min_ms}, {rt_max_ms})"
        raise ParameterError(msg)
    lookback = (
        max(duration_us(p.lookback), math.ceil(rt_max_ms * 1000) + 1) if math.isfinite(rt_max_ms) else None
    )
    if lookback is None:
        scan = p.replace(start=None, end=hi + dt.timedelta(microseconds=1))
    else:
        scan = p.replace(start=lo, end=hi + dt.timedelta(microseconds=1), lookback=f"{lookback}us")
    assert isinstance(scan, HitmapParams)
    return transaction_frame(data, scan, kinds=p.kinds).filter(
        pl.col("end").is_between(lo, hi) & pl.col("rt_ms").is_between(rt_min_ms, rt_max_ms)
    )


def _listed(out: pl.DataFrame, *, ids: bool) -> pl.DataFrame:
    """Selected transactions with :data:`TRANSACTION_COLUMNS` (their ids as strings, or still
    packed when ``ids=False``)."""
    if ids:  # their ids as strings, when packed
        out = unpack_ids(out)
    packed = PACKED[0] in out.columns  # ids=False: the packed ids in place of the strings
    types: dict[str, pl.DataType] = {}
    for c, t in TRANSACTION_COLUMNS.items():
        types |= dict.fromkeys(_PACKED[c], pl.UInt64()) if packed and c in _PACKED else {c: t}
    return out.select([pl.col(c).cast(t) for c, t in types.items()])


def _slowest_first(tx: pl.LazyFrame) -> pl.LazyFrame:
    return tx.sort(["rt_ms", "end"], descending=[True, False])


def select(
    data: Data,
    t0: dt.datetime | str,
    t1: dt.datetime | str,
    rt_min_ms: float,
    rt_max_ms: float,
    params: HitmapParams | None = None,
    *,
    limit: int | None = None,
    ids: bool = True,
    **changes: Any,
) -> pl.DataFrame:
    """The transactions with ``t0 ≤ end ≤ t1`` and ``rt_min_ms ≤ rt_ms ≤ rt_max_ms`` (a closed
    box, as drawn), slowest first; ``limit`` keeps the slowest ``limit``. ``params`` filters
    (cluster, namespace, service, kinds) apply; its window is replaced by the box.
    ``ids=False``: of :class:`Transactions` that keep their ids packed, the ids stay packed
    (:data:`PACKED` in their place: :meth:`Transactions.with_ids` formats them for some rows)."""
    p = resolve_params(HitmapParams, params, changes)
    tx = _slowest_first(_in_box(data, t0, t1, rt_min_ms, rt_max_ms, p))
    if limit is not None:
        tx = tx.head(limit)
    return _listed(tx.collect(engine=engine(data)), ids=ids)


def select_slowest(
    data: Data,
    t0: dt.datetime | str,
    t1: dt.datetime | str,
    rt_min_ms: float,
    rt_max_ms: float,
    params: HitmapParams | None = None,
    *,
    limit: int,
    ids: bool = True,
    **changes: Any,
) -> tuple[pl.DataFrame, int, int]:
    """What a box lists without ordering all it selects: ``select(..., limit=limit)`` (the
    slowest ``limit``), and how many transactions :func:`select` selects and how many of them
    failed, by one pass over ``data``."""
    p = resolve_params(HitmapParams, params, changes)
    tx = _in_box(data, t0, t1, rt_min_ms, rt_max_ms, p)
    counts, top = pl.collect_all(
        [
            tx.select(pl.len().alias("n"), pl.col("error").sum().alias("errors")),
            _slowest_first(tx).head(limit),
        ],
        engine=engine(data),
    )
    return _listed(top, ids=ids), int(counts["n"][0]), int(counts["errors"][0] or 0)


def trace(
    data: Data,
    trace_id: str,
    *,
    cluster: str | None = None,
    start: dt.datetime | str | None = None,
    end: dt.datetime | str | None = None,
) -> pl.DataFrame:
    """One trace as a waterfall (:data:`WATERFALL_COLUMNS`): spans depth first, children by
    start time; ``offset_ms`` from the trace's first start. Fragments (rows that repeat a Zipkin
    span id without timing) are left out; a shared Zipkin server half sits under its client half.

    ``start``/``end`` bound the spans' start times read (e.g. a selected transaction's start
    minus a minute to its end plus a minute): on a big snapshot only those partitions are read."""
    lo, hi = to_utc(start), to_utc(end)
    if isinstance(data, Dataset):
        lf = data.scan("spans", cluster=cluster, start=lo, end=hi)
    elif isinstance(data, pl.DataFrame | pl.LazyFrame):
        lf = data.lazy()
        if cluster is not None:
            lf = lf.filter(pl.col("cluster") == cluster)
        if lo is not None:
            lf = lf.filter(pl.col("start") >= lo)
        if hi is not None:
            lf = lf.filter(pl.col("start") <= hi)
    else:
        msg = f"expected a workbench Dataset or a spans DataFrame/LazyFrame, got {type(data).__name__}"
        raise ParameterError(msg)
    spans = lf.filter(pl.col("trace_id") == trace_id).collect()
    if spans.is_empty():
        return pl.DataFrame(schema=WATERFALL_COLUMNS)
    b = link(
        spans, keep=("trace_id", "span_id", "parent_id", "start", "operation", "status_message", "pod")
    ).filter(~pl.col("_fragment"))
    rows = b.rows(named=True)
    by_row = {r["_row"]: r for r in rows}
    kids: dict[int | None, list[int]] = {}
    for r in rows:
        parent = r["_parent"] if r["_parent"] in by_row else None
        kids.setdefault(parent, []).append(r["_row"])

    def when(i: int) -> tuple[bool, int, int]:
        s = by_row[i]["_s"]
        return (s is None, s or 0, i)

    order: list[tuple[int, int]] = []
    seen: set[int] = set()
    stack = [(i, 0) for i in sorted(kids.get(None, []), key=when, reverse=True)]
    while stack or len(seen) < len(rows):
        if not stack:  # spans caught in a parent cycle: start from the earliest one left
            stack = [(min((i for i in by_row if i not in seen), key=when), 0)]
        i, depth = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        order.append((i, depth))
        stack.extend((k, depth + 1) for k in sorted(kids.get(i, []), key=when, reverse=True))
    t_first = min((r["_s"] for r in rows if r["_s"] is not None), default=None)
    out = []
    for n, (i, depth) in enumerate(order):
        r = by_row[i]
        out.append(
            {
                "row": n,
                "trace_id": r["trace_id"],
                "span_id": r["span_id"],
                "parent_id": r["parent_id"],
                "depth": depth,
                "service": r["service"],
                "operation": r["operation"],
                "kind": str(r["kind"]),
                "start": r["start"],
                "offset_ms": None if r["_s"] is None or t_first is None else (r["_s"] - t_first) / 1000.0,
                "duration_ms": None if r["duration_us"] is None else r["duration_us"] / 1000.0,
                "error": r["error"],
                "status_message": r["status_message"],
                "pod": r["pod"],
            }
        )
    return pl.DataFrame(out, schema=WATERFALL_COLUMNS)
