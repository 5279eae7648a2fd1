"""Application performance: transactions, TPS, response time, errors and active transactions.

A **transaction** is one request served by a service: a span whose ``kind`` is in
``params.kinds`` (SERVER and CONSUMER by default). A service with no span of those kinds (a
batch job, or a tracer that records no span kinds) falls back to its *entry spans*: spans
without a ``parent_id``, or whose parent is not in the data. Spans without a start or a
duration (Zipkin fragments) are not transactions. A transaction's **endpoint** is its
``http_route``, else its ``operation``; its response time ``rt_ms`` is its duration in ms.

Every function takes ``data`` (a :class:`workbench.Dataset`, or a ``spans`` DataFrame or
LazyFrame), an optional params object and keyword overrides of its fields::

    apm.series(ds, bucket="5m", by=("service", "endpoint"))
    apm.active_at(spans_df, "2026-11-02T06:30:00Z")

Several results over the same spans can share one picking of the transactions:
``tx = apm.scoped_transactions(ds, namespace="shop", start=a, end=b)`` (a :class:`Transactions`)
is accepted as ``data`` by every function here but :func:`active_at` (which walks child spans),
and by the hitmap. Picking reads as little as it can (see :mod:`workbench.analyses._transactions`):
when every span is a transaction the entry-span fallback check reads only the kind column.

Result columns (``<by>`` is ``params.by``, ``("cluster", "service")`` by default):

- :func:`transactions`: :data:`TRANSACTION_COLUMNS`; :func:`scoped_transactions`: the same in a
  :class:`Transactions` (window widened by the lookback, not cut to finish times; the columns of
  :data:`KEPT_CATEGORICAL` kept as ``Categorical``, results cast back to strings).
- :func:`series`: ``<by>`` + :data:`SERIES_COLUMNS`, one row per group and bucket. A bucket
  holds the transactions that *finished* in it (``end``); ``tps`` = transactions / bucket
  seconds; percentiles interpolate linearly (as ``numpy.percentile``). With ``fill_empty``,
  buckets without transactions between the window's first and last bucket have
  ``transactions = 0`` and null response times and error rate.
- :func:`summary`: ``<by>`` + :data:`SUMMARY_COLUMNS`, one row per group; ``tps`` divides by the
  window (params start..end, else first..last finish time of all transactions).
- :func:`active_series`: ``<by>`` + :data:`ACTIVE_SERIES_COLUMNS`: ``active`` = transactions in
  flight (``start ≤ ts < end``) at each bucket start, ``active_mean`` = their time-averaged
  number over the bucket (Little's law). Counted per bucket in one pass (no sort).
- :func:`active_at`: :data:`ACTIVE_COLUMNS`: the transactions in flight at one moment, longest
  running first, with the database and external calls they made so far (see there).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any, TypeVar

import numpy as np
import polars as pl

from workbench.analyses._kernels import kernel
from workbench.analyses._transactions import (
    KEPT_CATEGORICAL,
    KINDS,
    TRANSACTION_COLUMNS,
    Data,
    SpanParams,
    Transactions,
    duration_us,
    engine,
    epoch_us,
    one_frame,
    span_frame,
    transaction_frame,
    transactions_lazy,
)
from workbench.analyses.params import Params, field, resolve_params
from workbench.errors import ParameterError
from workbench.store import to_utc

__all__ = [
    "ACTIVE_COLUMNS",
    "ACTIVE_SERIES_COLUMNS",
    "GROUP_COLUMNS",
    "KEPT_CATEGORICAL",
    "SERIES_COLUMNS",
    "SUMMARY_COLUMNS",
    "TRANSACTION_COLUMNS",
    "ApmParams",
    "Data",
    "SpanParams",
    "Transactions",
    "active_at",
    "active_series",
    "duration_us",
    "epoch_us",
    "resolve_params",
    "scoped_transactions",
    "series",
    "span_frame",
    "summary",
    "transactions",
    "transactions_lazy",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
P = TypeVar("P", bound=Params)

#: Columns a result can be grouped by.
GROUP_COLUMNS: tuple[str, ...] = ("cluster", "namespace", "service", "pod", "endpoint")
_KINDS = KINDS

_STATS: dict[str, pl.DataType] = {
    "transactions": pl.Int64(),
    "tps": pl.Float64(),
    "errors": pl.Int64(),
    "error_rate": pl.Float64(),
    "rt_mean_ms": pl.Float64(),
    "rt_p50_ms": pl.Float64(),
    "rt_p90_ms": pl.Float64(),
    "rt_p99_ms": pl.Float64(),
    "rt_max_ms": pl.Float64(),
}
SERIES_COLUMNS: dict[str, pl.DataType] = {"ts": TS, **_STATS}
SUMMARY_COLUMNS: dict[str, pl.DataType] = dict(_STATS)
ACTIVE_SERIES_COLUMNS: dict[str, pl.DataType] = {"ts": TS, "active": pl.Int64(), "active_mean": pl.Float64()}
ACTIVE_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "trace_id": pl.String(),
    "span_id": pl.String(),
    "service": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "endpoint": pl.String(),
    "start": TS,
    "elapsed_ms": pl.Float64(),
    "db_calls": pl.Int64(),
    "external_calls": pl.Int64(),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApmParams(SpanParams):
    """Parameters of the APM analyses (transactions, TPS, response time, active transactions)."""

    bucket: str = field("1m", "bucket width of series over time (10s, 1m, 5m, 1h…)")
    by: tuple[str, ...] = field(
        ("cluster", "service"), f"group by these columns ({', '.join(GROUP_COLUMNS)})"
    )
    kinds: tuple[str, ...] = field(("SERVER", "CONSUMER"), "span kinds that are transactions")
    fill_empty: bool = field(True, "series: zero-count rows for buckets without transactions")  # noqa: FBT003

    def __post_init__(self) -> None:
        super().__post_init__()
        duration_us(self.bucket, what="bucket")
        self._check_names("by", GROUP_COLUMNS)
        self._check_names("kinds", _KINDS)
        if not self.kinds:
            msg = "kinds must name at least one span kind (e.g. SERVER)"
            raise ParameterError(msg)


def scoped_transactions(
    data: Data, params: ApmParams | None = None, *, pack: bool = True, **changes: Any
) -> Transactions:
    """The transactions of the spans ``params`` selects (window widened by the lookback, not yet
    cut to finish times in the window), picked once: pass the result to :func:`series`,
    :func:`summary`, :func:`active_series`, :func:`transactions` or the hitmap with the same
    window, and they reuse it instead of reading and picking again (a dashboard's scope).

    ``pack``: when every id is as OpenTelemetry writes them (lowercase hex, 32 digits a trace
    id, 16 a span id), they are kept packed (:func:`~workbench.analyses._transactions.pack_ids`,
    a third of what the strings take); the results give them as strings all the same."""
    p = resolve_params(ApmParams, params, changes)
    cat = pl.Categorical()
    kept = [pl.col(c).cast(cat if c in KEPT_CATEGORICAL else t) for c, t in TRANSACTION_COLUMNS.items()]
    # cast while reading, by the streaming engine: the strings are never all held at once (the
    # ids are packed a batch at a time)
    query = transaction_frame(data, p, kinds=p.kinds).select(kept)
    frame = one_frame(query.collect_batches(engine="streaming"), query.collect_schema(), pack=pack)
    return Transactions(frame, p.kinds)


def _finished_in_window(tx: pl.LazyFrame, p: SpanParams) -> pl.LazyFrame:
    if p.start is not None:
        tx = tx.filter(pl.col("end") >= p.start)
    if p.end is not None:
        tx = tx.filter(pl.col("end") < p.end)
    return tx


def transactions(data: Data, params: ApmParams | None = None, **changes: Any) -> pl.DataFrame:
    """Every transaction that finished in the window, in finish order (:data:`TRANSACTION_COLUMNS`)."""
    p = resolve_params(ApmParams, params, changes)
    tx = transaction_frame(data, p, kinds=p.kinds)
    out = _finished_in_window(tx, p).sort("end", maintain_order=True).collect(engine=engine(data))
    if isinstance(data, Transactions):
        out = data.with_ids(out)
    return out.select([pl.col(c).cast(t) for c, t in TRANSACTION_COLUMNS.items()])


def _stats(rt: str = "rt_ms") -> list[pl.Expr]:
    c = pl.col(rt)
    return [
        pl.len().cast(pl.Int64).alias("transactions"),
        pl.col("error").sum().cast(pl.Int64).alias("errors"),
        c.mean().alias("rt_mean_ms"),
        c.quantile(0.5, "linear").alias("rt_p50_ms"),
        c.quantile(0.9, "linear").alias("rt_p90_ms"),
        c.quantile(0.99, "linear").alias("rt_p99_ms"),
        c.max().alias("rt_max_ms"),
    ]


def _empty(by: tuple[str, ...], cols: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema={**{b: pl.String() for b in by}, **cols})


def _order(df: pl.DataFrame, by: tuple[str, ...], cols: dict[str, pl.DataType]) -> pl.DataFrame:
    return df.select([pl.col(b).cast(pl.String) for b in by] + [pl.col(c).cast(t) for c, t in cols.items()])


def series(data: Data, params: ApmParams | None = None, **changes: Any) -> pl.DataFrame:
    """TPS, response time and errors per group and time bucket (``<by>`` + :data:`SERIES_COLUMNS`)."""
    p = resolve_params(ApmParams, params, changes)
    b = duration_us(p.bucket)
    by = list(p.by)
    tx = _finished_in_window(transaction_frame(data, p, kinds=p.kinds), p)
    agg = (
        tx.with_columns(((pl.col("end").dt.epoch("us") // b) * b).alias("_b"))
        .group_by([*by, "_b"])
        .agg(_stats())
        .collect(engine=engine(data))
    )
    if agg.is_empty():
        return _empty(p.by, SERIES_COLUMNS)
    if p.fill_empty:
        lo = agg["_b"].min() if p.start is None else (epoch_us(p.start) // b) * b
        hi = agg["_b"].max() if p.end is None else ((epoch_us(p.end) - 1) // b) * b
        grid = pl.DataFrame({"_b": pl.int_range(lo, hi + 1, b, eager=True, dtype=pl.Int64)})  # type: ignore[arg-type]
        if by:
            grid = agg.select(by).unique().join(grid, how="cross")
        agg = grid.join(agg, on=[*by, "_b"], how="left", nulls_equal=True).with_columns(
            pl.col("transactions", "errors").fill_null(0)
        )
    out = agg.with_columns(
        pl.col("_b").cast(TS).alias("ts"),
        (pl.col("transactions") / (b / 1e6)).alias("tps"),
        pl.when(pl.col("transactions") > 0)
        .then(pl.col("errors") / pl.col("transactions"))
        .alias("error_rate"),
    ).sort([*by, "ts"], nulls_last=True)
    return _order(out, p.by, SERIES_COLUMNS)


def summary(data: Data, params: ApmParams | None = None, **changes: Any) -> pl.DataFrame:
    """Totals per group over the window (``<by>`` + :data:`SUMMARY_COLUMNS`), busiest first."""
    p = resolve_params(ApmParams, params, changes)
    by = list(p.by)
    tx = _finished_in_window(transaction_frame(data, p, kinds=p.kinds), p)
    span = [pl.col("end").min().alias("_lo"), pl.col("end").max().alias("_hi")]
    agg = tx.group_by(by).agg(*_stats(), *span) if by else tx.select(*_stats(), *span)
    agg = agg.collect(engine=engine(data))
    if agg.is_empty() or agg["transactions"].sum() == 0:
        return _empty(p.by, SUMMARY_COLUMNS)
    lo = p.start or agg["_lo"].min()
    hi = p.end or agg["_hi"].max()
    seconds = (hi - lo).total_seconds()  # type: ignore[operator]
    out = agg.with_columns(
        (pl.col("transactions") / seconds if seconds > 0 else pl.lit(None, pl.Float64)).alias("tps"),
        (pl.col("errors") / pl.col("transactions")).alias("error_rate"),
    ).sort(["transactions", *by], descending=[True, *([False] * len(by))])
    return _order(out, p.by, SUMMARY_COLUMNS)


def _binned(
    code: np.ndarray, x: np.ndarray, groups: int, g0: int, n: int, step: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group (``code``) and grid time ``g_k = g0 + k·step`` (``k < n``), of the times ``x``
    (int64 µs): how many are before ``g_k``, how many equal it, and ``Σ (g_k + step − x)`` over
    those in ``[g_k, g_k + step)`` (float64: exact below 2^53, i.e. below ~10^6 times of a one-hour
    bucket). No sort: counting passes (``bincount``), or one pass of a compiled kernel
    (:mod:`._active_kernel`) for big inputs or once it is loaded
    (:func:`~workbench.analyses._kernels.kernel`)."""
    k = kernel("_active_kernel", x.size)
    if k is not None:
        cnt = np.zeros(groups * (n + 2), dtype=np.int64)
        on = np.zeros(groups * n, dtype=np.int64)
        tail = np.zeros(groups * n, dtype=np.float64)
        as_int = [np.ascontiguousarray(a, dtype=np.int64) for a in (code, x)]
        k.bin_times(*as_int, g0, n, step, cnt, on, tail)
        before = np.cumsum(cnt.reshape(groups, n + 2), axis=1)[:, :n]
        return before, on.reshape(groups, n), tail.reshape(groups, n)
    rel = x - g0
    raw = np.floor_divide(rel, step)
    j = np.clip(raw, -1, n) + 1  # 0: before the grid, n + 1: after its last bucket
    cnt = np.bincount(code * (n + 2) + j, minlength=groups * (n + 2)).reshape(groups, n + 2)
    before = np.cumsum(cnt, axis=1)[:, :n]
    inside = (raw >= 0) & (raw < n)
    at = code * n + raw
    edge = inside & (rel - raw * step == 0)
    on = np.bincount(at[edge], minlength=groups * n).reshape(groups, n)
    tail = np.bincount(at[inside], weights=((raw[inside] + 1) * step - rel[inside]).astype(np.float64),
                       minlength=groups * n).reshape(groups, n)  # fmt: skip
    return before, on, tail


def active_series(data: Data, params: ApmParams | None = None, **changes: Any) -> pl.DataFrame:
    """Transactions in flight over time (``<by>`` + :data:`ACTIVE_SERIES_COLUMNS`)."""
    p = resolve_params(ApmParams, params, changes)
    b = duration_us(p.bucket)
    by = list(p.by)
    tx = transaction_frame(data, p, kinds=p.kinds)
    if p.start is not None:
        tx = tx.filter(pl.col("end") > p.start)
    if p.end is not None:
        tx = tx.filter(pl.col("start") < p.end)
    s, e = pl.col("start").dt.epoch("us").alias("_s"), pl.col("end").dt.epoch("us").alias("_e")
    rows = tx.select(*by, s, e).collect(engine=engine(data))
    if rows.is_empty():
        return _empty(p.by, ACTIVE_SERIES_COLUMNS)
    lo = epoch_us(p.start) if p.start is not None else int(rows["_s"].min())  # type: ignore[arg-type]
    hi = epoch_us(p.end) if p.end is not None else int(rows["_e"].max())  # type: ignore[arg-type]
    grid = np.arange((lo // b) * b, hi, b, dtype=np.int64)
    if grid.size == 0:
        grid = np.array([(lo // b) * b], dtype=np.int64)
    if by:  # the groups in order, numbered
        keys = rows.select(by).unique().sort([pl.col(c).cast(pl.String) for c in by], nulls_last=True)
        keys = keys.with_row_index("_g")
        code = rows.select(by).join(keys, on=by, how="left", nulls_equal=True, maintain_order="left")["_g"]
        code_np = code.cast(pl.Int64).to_numpy()
    else:
        keys, code_np = pl.DataFrame({"_g": [0]}), np.zeros(rows.height, dtype=np.int64)
    groups, n, g0 = keys.height, int(grid.size), int(grid[0])
    # in flight at g: started by g and not ended by g; over [g, g + b): the time-integral of that
    s_before, s_on, s_tail = _binned(code_np, rows["_s"].to_numpy(), groups, g0, n, b)
    e_before, e_on, e_tail = _binned(code_np, rows["_e"].to_numpy(), groups, g0, n, b)
    active = (s_before + s_on) - (e_before + e_on)
    mean = ((s_before - e_before).astype(np.float64) * b + (s_tail - e_tail)) / b
    cols = [pl.Series("ts", np.tile(grid, groups)).cast(TS), pl.Series("active", active.ravel()),
            pl.Series("active_mean", mean.ravel())]  # fmt: skip
    if not by:
        return _order(pl.DataFrame(cols), p.by, ACTIVE_SERIES_COLUMNS)
    out = keys.select(by).gather(np.repeat(np.arange(groups), n)).with_columns(cols)
    return _order(out, p.by, ACTIVE_SERIES_COLUMNS)


def active_at(
    data: Data, t: dt.datetime | str, params: ApmParams | None = None, *, max_depth: int = 64, **changes: Any
) -> pl.DataFrame:
    """The transactions in flight at ``t`` (``start ≤ t < end``), longest running first
    (:data:`ACTIVE_COLUMNS`).

    ``db_calls`` counts the spans with a ``db_system`` (not SERVER/CONSUMER) and
    ``external_calls`` the CLIENT/PRODUCER spans without one, among the transaction's
    descendants in its own service that started by ``t`` (the walk stops where the trace
    enters another service: those spans are that service's own transactions).
    """
    p = resolve_params(ApmParams, params, changes)
    when = to_utc(t)
    if when is None:
        msg = "active_at needs a moment t"
        raise ParameterError(msg)
    window = p.replace(start=when, end=when + dt.timedelta(microseconds=1))  # read from ``when - lookback``
    assert isinstance(window, ApmParams)
    spans = span_frame(data, window, service=False).filter(pl.col("start") <= when).collect()
    svc = spans.lazy() if p.service is None else spans.lazy().filter(pl.col("service") == p.service)
    tx = transactions_lazy(svc, kinds=p.kinds).filter(pl.col("end") > when).collect()
    if tx.is_empty():
        return pl.DataFrame(schema=ACTIVE_COLUMNS)
    keys = ["cluster", "trace_id"]
    near = spans.join(tx.select(keys).unique(), on=keys, how="semi").select(
        *keys,
        "span_id",
        "parent_id",
        pl.col("service").fill_null("unknown"),
        (pl.col("db_system").is_not_null() & ~pl.col("kind").is_in(["SERVER", "CONSUMER"])).alias("_db"),
        (pl.col("kind").is_in(["CLIENT", "PRODUCER"]) & pl.col("db_system").is_null()).alias("_ext"),
    )
    frontier = tx.select(*keys, pl.col("span_id").alias("_root"), "service", "span_id")
    seen = frontier.select(*keys, "_root", "span_id")
    found = []
    for _ in range(max_depth):  # one level of the span tree per round; ``seen`` guards against cycles
        kids = near.join(frontier.rename({"span_id": "parent_id"}), on=[*keys, "parent_id", "service"]).join(
            seen, on=[*keys, "_root", "span_id"], how="anti"
        )
        if kids.is_empty():
            break
        found.append(kids.select(*keys, "_root", "_db", "_ext"))
        frontier = kids.select(*keys, "_root", "service", "span_id").unique()
        seen = pl.concat([seen, frontier.select(*keys, "_root", "span_id")])
    counts = (
        pl.concat(found)
        .group_by([*keys, "_root"])
        .agg(
            pl.col("_db").sum().cast(pl.Int64).alias("db_calls"),
            pl.col("_ext").sum().cast(pl.Int64).alias("external_calls"),
        )
        if found
        else pl.DataFrame(
            schema={
                **dict.fromkeys([*keys, "_root"], pl.String),
                "db_calls": pl.Int64,
                "external_calls": pl.Int64,
            }
        )
    )
    out = tx.join(counts, left_on=[*keys, "span_id"], right_on=[*keys, "_root"], how="left").with_columns(
        ((pl.lit(when) - pl.col("start")).dt.total_microseconds() / 1000.0).alias("elapsed_ms"),
        pl.col("db_calls", "external_calls").fill_null(0),
    )
    return out.sort(["elapsed_ms", "trace_id", "span_id"], descending=[True, False, False]).select(
        [pl.col(c).cast(t) for c, t in ACTIVE_COLUMNS.items()]
    )
