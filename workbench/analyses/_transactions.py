"""Spans → transactions, reading as little as possible: the shared core of
:mod:`workbench.analyses.apm` and :mod:`workbench.analyses.hitmap`.

A **transaction** is a span whose ``kind`` is in ``kinds`` (SERVER and CONSUMER by default); a
service with no span of those kinds falls back to its *entry spans* (no ``parent_id``, or a
parent that is not in the data); spans without a start or a duration are not transactions.

What picking them reads:

- :func:`fallback_services` first reads only the spans that are *not* transactions by kind.
  Parquet drops the others by the kind column alone, so when every span is a transaction this
  reads one small column and nothing else. Otherwise it reads the cluster and service of those
  spans, then of the transactions of the same services.
- :func:`transaction_rows` leaves out the null handling of ``start``, ``end``, ``duration_us``
  and ``error`` for the columns that cannot hold nulls (:func:`nullable_columns`: the Parquet
  footers of a snapshot's files, the null counts of a DataFrame), so a query that needs only the
  finish time and the duration does not read the start times.
- :class:`Transactions` holds transactions picked once (e.g. for one dashboard scope): every
  analysis of :mod:`~workbench.analyses.apm` and :mod:`~workbench.analyses.hitmap` takes it
  instead of spans and skips the picking.
- :func:`pack_ids`: kept transactions hold OpenTelemetry's ids (lowercase hex, 32 digits a
  trace id, 16 a span id) as three ``UInt64`` columns (24 bytes a transaction instead of ~80
  as strings); :func:`unpack_ids` formats them back for the rows a result lists.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from workbench.analyses._kernels import kernel
from workbench.analyses.params import Params, closest, field
from workbench.errors import ParameterError
from workbench.schema import SCHEMAS
from workbench.store import Dataset, to_utc

__all__ = [
    "KEPT_CATEGORICAL",
    "KINDS",
    "PACKED",
    "TRANSACTION_COLUMNS",
    "Data",
    "SpanParams",
    "Transactions",
    "duration_us",
    "engine",
    "epoch_us",
    "fallback_services",
    "nullable_columns",
    "one_frame",
    "pack_ids",
    "span_frame",
    "transaction_frame",
    "transaction_rows",
    "transactions_lazy",
    "unpack_ids",
]

log = logging.getLogger(__name__)

TS = pl.Datetime("us", "UTC")
#: Every span kind.
KINDS = ("SERVER", "CONSUMER", "CLIENT", "PRODUCER", "INTERNAL", "UNSPECIFIED")
TRANSACTION_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "trace_id": pl.String(),
    "span_id": pl.String(),
    "service": pl.String(),
    "namespace": pl.String(),
    "pod": pl.String(),
    "endpoint": pl.String(),
    "kind": pl.String(),
    "start": TS,
    "end": TS,
    "rt_ms": pl.Float64(),
    "error": pl.Boolean(),
    "http_status_code": pl.Int32(),
}

#: Columns of few distinct values that :class:`Transactions` keep as ``Categorical`` (4 bytes a row
#: instead of a string each: at 17 M transactions 1.7 GB instead of 2.6, and group-bys by service
#: are faster); every result casts them back to strings.
KEPT_CATEGORICAL: tuple[str, ...] = ("cluster", "service", "namespace", "pod", "endpoint", "kind")

_UNITS = {
    "us": 1,
    "ms": 1_000,
    "s": 1_000_000,
    "m": 60_000_000,
    "h": 3_600_000_000,
    "d": 86_400_000_000,
    "w": 604_800_000_000,
}
_PART = re.compile(r"(\d+)(us|ms|s|m|h|d|w)")


def duration_us(text: str, *, what: str = "duration") -> int:
    """A polars-style duration (``"500ms"``, ``"10s"``, ``"1m"``, ``"1h30m"``) in microseconds.

    >>> duration_us("1m30s")
    90000000
    """
    s = str(text).strip()
    parts = _PART.findall(s)
    if not s or "".join(n + u for n, u in parts) != s or sum(int(n) for n, _ in parts) == 0:
        msg = f"{what} {text!r} is not a positive duration; use e.g. 500ms, 10s, 1m, 5m, 1h or 1d"
        raise ParameterError(msg)
    return sum(int(n) * _UNITS[u] for n, u in parts)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(t: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact, unlike ``timestamp()``)."""
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpanParams(Params):
    """Which spans an analysis reads: cluster, namespace, service and time window."""

    cluster: str | None = field(None, "cluster to analyse (all when empty)")
    namespace: str | None = field(None, "namespace to analyse (all when empty)")
    service: str | None = field(None, "service to analyse (all when empty)")
    start: dt.datetime | str | None = field(None, "window start, UTC (the data's first span when empty)")
    end: dt.datetime | str | None = field(None, "window end, UTC (the data's last span when empty)")
    lookback: str = field("10m", "how long before the window a transaction may have started and still count")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "start", to_utc(self.start))
        object.__setattr__(self, "end", to_utc(self.end))
        if self.start is not None and self.end is not None and self.start >= self.end:
            msg = f"start ({self.start}) must be before end ({self.end})"
            raise ParameterError(msg)
        duration_us(self.lookback, what="lookback")

    def _check_names(self, name: str, allowed: tuple[str, ...]) -> None:
        value = _as_tuple(getattr(self, name))
        for v in value:
            if v not in allowed:
                near = closest(str(v), allowed)
                hint = f"did you mean {', '.join(near)}? " if near else ""
                msg = f"{name}: unknown value {v!r}; {hint}use some of {', '.join(allowed)}"
                raise ParameterError(msg)
        object.__setattr__(self, name, value)

    def read_from(self) -> dt.datetime | None:
        """The earliest span start read: the window's start minus the lookback."""
        return (
            self.start - dt.timedelta(microseconds=duration_us(self.lookback))
            if self.start is not None
            else None
        )


#: The columns that hold :data:`TRANSACTION_COLUMNS`' ids packed (:func:`pack_ids`): a trace id's
#: first and last 16 hex digits and the span id's 16, each as one ``UInt64``.
PACKED: tuple[str, ...] = ("_trace_hi", "_trace_lo", "_span")
_IDS = {"trace_id": PACKED[:2], "span_id": PACKED[2:]}
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _views(ids: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``ids`` as polars holds them (Arrow string views, handed over without a copy): the views
    (``int32`` rows of length, prefix, buffer, offset), the buffers one after the other (the
    only one as it is) and where each starts; None when they are not string views."""
    view = ids.rechunk().to_arrow(compat_level=pl.CompatLevel.newest())
    if not isinstance(view, pa.StringViewArray):
        return None
    buffers = view.buffers()
    views = np.frombuffer(buffers[1], dtype=np.int32).reshape(-1, 4)[view.offset : view.offset + len(view)]
    blobs = [np.zeros(0, np.uint8) if b is None else np.frombuffer(b, dtype=np.uint8) for b in buffers[2:]]
    # no buffer when every id is short enough to be held in its view
    data = blobs[0] if len(blobs) == 1 else np.concatenate([np.zeros(0, np.uint8), *blobs])
    return views, data, np.cumsum([0, *(b.size for b in blobs[:-1])], dtype=np.int64)


def _pack(ids: pl.Series, *, compiled: bool | None) -> list[pl.Series] | None:
    """``ids`` (``trace_id`` or ``span_id``) as their :data:`PACKED` columns (null where an id is
    null), or None when one of them is not lowercase hex of 32 (trace) or 16 (span) digits:
    by the compiled kernel (``compiled``; None: when it is loaded or ``ids`` is long,
    :func:`kernel`), else by polars."""
    names = _IDS[ids.name]
    if ids.len() == 0:
        return [pl.Series(n, [], dtype=pl.UInt64) for n in names]
    k = kernel("_ids_kernel", ids.len() if compiled is None else (1 << 62 if compiled else -1))
    found = _views(ids) if k is not None and compiled is not False else None
    if k is not None and found is not None:
        null = ids.is_null().to_numpy() if ids.null_count() else np.zeros(0, dtype=np.bool_)
        words = np.empty((len(names), ids.len()), dtype=np.uint64)
        if not k.pack(*found, null, k.PAIRS, words):
            return None
        out = [pl.Series(n, w) for n, w in zip(names, words, strict=True)]
    else:  # the same, by polars
        if not (ids.is_null() | ids.str.contains(f"^[0-9a-f]{{{16 * len(names)}}}$")).all():
            return None
        digits = [ids.str.slice(16 * i, 16) for i in range(len(names))]
        out = [
            d.str.to_integer(base=16, dtype=pl.UInt64).alias(n) for n, d in zip(names, digits, strict=True)
        ]
    if ids.null_count():
        null = ids.is_null()
        out = [pl.select(pl.when(null).then(None).otherwise(s)).to_series().alias(s.name) for s in out]
    return out


def pack_ids(frame: pl.DataFrame, *, compiled: bool | None = None) -> pl.DataFrame | None:
    """``frame`` (transactions with :data:`TRANSACTION_COLUMNS`' ``trace_id`` and ``span_id``)
    with the ids packed losslessly in their place (:data:`PACKED`: 24 bytes a transaction instead
    of ~80 as strings), or None when some id is not as OpenTelemetry writes them: lowercase hex
    of 32 digits (trace) or 16 (span). :func:`unpack_ids` gives the same strings back.
    ``compiled``: pack by the compiled kernel (True), by polars (False; the same columns) or by
    the kernel when it is loaded or the frame is long (None, :func:`kernel`)."""
    packed = {}
    for name in _IDS:
        cols = _pack(frame.get_column(name), compiled=compiled)
        if cols is None:
            return None
        packed[name] = cols
    return pl.DataFrame([s for c in frame.columns for s in packed.get(c, [frame.get_column(c)])])


def _hex(words: list[pl.Series], name: str) -> pl.Series:
    """Packed words back as the id they hold: 16 lowercase hex digits a word, zero-padded."""
    n = words[0].len()
    raw = np.concatenate(
        [w.fill_null(0).to_numpy().astype(">u8").view(np.uint8).reshape(n, 8) for w in words], axis=1
    )
    text = np.empty((n, 2 * raw.shape[1]), dtype=np.uint8)
    text[:, 0::2] = _HEX[raw >> 4]
    text[:, 1::2] = _HEX[raw & 15]
    width = text.shape[1]
    arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(text)])
    out = pl.Series(name, arr).cast(pl.String)
    if words[0].null_count():
        out = pl.select(pl.when(words[0].is_null()).then(None).otherwise(out)).to_series().alias(name)
    return out


def unpack_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with packed ids (:func:`pack_ids`) with the ``trace_id`` and ``span_id`` strings
    in their place (formatted for these rows only); ``rows`` as given when their ids are not
    packed."""
    if PACKED[0] not in rows.columns:
        return rows
    ids = {name: _hex([rows.get_column(c) for c in cols], name) for name, cols in _IDS.items()}
    first = {cols[0]: name for name, cols in _IDS.items()}
    return pl.DataFrame(
        [
            ids[first[c]] if c in first else rows.get_column(c)
            for c in rows.columns
            if c in first or c not in PACKED
        ]
    )


def one_frame(batches: Iterable[pl.DataFrame], schema: pl.Schema, *, pack: bool = True) -> pl.DataFrame:
    """``batches`` of transactions (``schema``, with ``trace_id`` and ``span_id``) as one frame of
    one chunk a column (the percentiles of a frame of many chunks cost several times as much),
    with the ids packed (:func:`pack_ids`) when ``pack`` and every batch's can be: a batch at a
    time, so the strings of only one are held (once one cannot be packed, those packed so far
    are unpacked: the same strings)."""
    parts: list[pl.DataFrame] = []
    for batch in batches:
        packed = pack_ids(batch) if pack else None
        if packed is None and pack:
            pack = False
            parts = [unpack_ids(part) for part in parts]
        parts.append(batch if packed is None else packed)
    # a copy of the references (a single batch's frame is the caller's): the columns dropped below
    frame = pl.concat(parts, how="vertical", rechunk=False).clone() if parts else pl.DataFrame(schema=schema)
    parts.clear()
    packed = pack_ids(frame) if pack and frame.is_empty() else None  # packed all the same
    frame = frame if packed is None else packed
    # a column at a time: one column copied at once
    return pl.DataFrame([frame.drop_in_place(c).rechunk() for c in list(frame.columns)])


@dataclasses.dataclass(frozen=True)
class Transactions:
    """Transactions picked out of spans once (:data:`TRANSACTION_COLUMNS`), by
    :func:`workbench.analyses.apm.scoped_transactions`. Pass it to the APM and hitmap analyses
    instead of spans when several results come from the same spans (a dashboard's scope): they
    filter it by cluster, namespace, service and window and skip picking transactions again.
    :data:`KEPT_CATEGORICAL` columns of ``frame`` may be ``Categorical`` (as picked by
    ``scoped_transactions``) or strings.
    ``kinds`` are the span kinds it was picked with; an analysis asked for others refuses it.
    ``frame`` may hold the ids packed (:data:`PACKED` in place of ``trace_id`` and ``span_id``,
    as ``scoped_transactions`` keeps them when it can: :func:`pack_ids`); the results that list
    transactions give them as strings (:meth:`with_ids`)."""

    frame: pl.DataFrame
    kinds: tuple[str, ...] = ("SERVER", "CONSUMER")

    @property
    def height(self) -> int:
        """Number of transactions."""
        return self.frame.height

    @property
    def packed(self) -> bool:
        """Whether :attr:`frame` holds the ids packed (:data:`PACKED`)."""
        return PACKED[0] in self.frame.columns

    def with_ids(self, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` (some of :attr:`frame`'s, in any order) with their ``trace_id`` and ``span_id``
        as strings (:func:`unpack_ids`: formatted for these rows only); ``rows`` as given when
        the ids are not packed."""
        return unpack_ids(rows)

    def of_trace(self, trace_id: str) -> pl.DataFrame:
        """The transactions of trace ``trace_id``, with their ids as strings."""
        if not self.packed:
            return self.frame.filter(pl.col("trace_id") == trace_id)
        key = pack_ids(pl.DataFrame({"trace_id": [trace_id], "span_id": ["0" * 16]}))
        if key is None:  # not lowercase hex of 32 digits: none of these (all packed) is it
            return unpack_ids(self.frame.clear())
        hi, lo = PACKED[:2]
        return unpack_ids(self.frame.filter(pl.col(hi) == key[hi][0], pl.col(lo) == key[lo][0]))


Data = Dataset | pl.DataFrame | pl.LazyFrame | Transactions


def engine(data: Data) -> Any:
    """The polars engine that collects a query of ``data``: in memory for :class:`Transactions`
    (the default, streaming, engine cuts them into morsels: a quantile of 10 M response times
    then costs five times as much), the default for the others."""
    return "in-memory" if isinstance(data, Transactions) else "auto"


_NEEDED = (
    "cluster",
    "trace_id",
    "span_id",
    "parent_id",
    "service",
    "operation",
    "kind",
    "start",
    "end",
    "duration_us",
    "error",
)


def span_frame(data: Data, p: SpanParams, *, service: bool = True) -> pl.LazyFrame:
    """The spans of ``data`` that ``p`` selects, as a LazyFrame (window widened by the lookback;
    ``service=False`` keeps every service)."""
    lo = p.read_from()
    if isinstance(data, Dataset):
        lf = data.scan("spans", cluster=p.cluster, namespace=p.namespace, start=lo, end=p.end)
    elif isinstance(data, pl.DataFrame | pl.LazyFrame):
        lf = data.lazy()
        names = lf.collect_schema().names()
        missing = [c for c in _NEEDED if c not in names]
        if missing:
            msg = f"the spans frame lacks column(s) {', '.join(missing)}; pass the snapshot's spans table"
            raise ParameterError(msg)
        if p.cluster is not None:
            lf = lf.filter(pl.col("cluster") == p.cluster)
        if p.namespace is not None:
            lf = lf.filter(pl.col("namespace") == p.namespace)
        if lo is not None:
            lf = lf.filter(pl.col("start") >= lo)
        if p.end is not None:
            lf = lf.filter(pl.col("start") <= p.end)
    elif isinstance(data, Transactions):
        msg = "this analysis needs the spans themselves (a Dataset or the spans table), not Transactions"
        raise ParameterError(msg)
    else:
        msg = f"expected a workbench Dataset or a spans DataFrame/LazyFrame, got {type(data).__name__}"
        raise ParameterError(msg)
    if service and p.service is not None:
        lf = lf.filter(pl.col("service") == p.service)
    return lf


_NULLABLE = ("start", "end", "duration_us", "error")


@functools.lru_cache(maxsize=4096)
def _file_nulls(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """Columns of :data:`_NULLABLE` that hold nulls in one Parquet file (a missing column counts
    as holding nulls), by one query for the rows with a null in any of them: polars skips the
    row groups whose footer statistics count no nulls there, so a file without such nulls reads
    only its footer (about a millisecond; pyarrow's footer reader would first cost its import,
    0.1-0.5 s), and only row groups with nulls or without null counts are read."""
    del mtime_ns, size  # part of the cache key only
    lf = pl.scan_parquet(path, schema=SCHEMAS["spans"], missing_columns="insert", extra_columns="ignore")
    nulls = pl.col(_NULLABLE).is_null()
    found = lf.filter(pl.any_horizontal(nulls)).select(nulls.any()).collect()
    return frozenset(c for c in _NULLABLE if found[c].item())


def nullable_columns(data: Data, p: SpanParams) -> frozenset[str]:
    """Which of ``start``, ``end``, ``duration_us`` and ``error`` may hold nulls among the spans
    ``p`` selects from ``data``: for a snapshot, by its files' footers (a few ms); for a
    DataFrame, by its null counts; for a LazyFrame, all of them."""
    if isinstance(data, Dataset):
        out: set[str] = set()
        for f in data.files("spans", cluster=p.cluster, start=p.read_from(), end=p.end):
            st = Path(f).stat()
            out |= _file_nulls(str(f), st.st_mtime_ns, st.st_size)
        return frozenset(out)
    if isinstance(data, pl.DataFrame):
        return frozenset(c for c in _NULLABLE if c not in data.columns or data[c].null_count())
    return frozenset(_NULLABLE)


def _other_services(spans: pl.LazyFrame, kinds: Collection[str]) -> pl.DataFrame:
    """``(cluster, service)`` of the spans not of ``kinds`` (null kinds included): only the kind
    column is read when there are none."""
    is_kind = pl.col("kind").is_in(list(kinds))
    return spans.filter(~is_kind.fill_null(value=False)).select("cluster", "service").unique().collect()


def fallback_services(
    spans: pl.LazyFrame, kinds: Collection[str], *, other: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``(cluster, service)`` of the services in ``spans`` without a span of ``kinds`` (their
    entry spans are their transactions). ``spans`` must have its null services filled.

    Reads the spans not of ``kinds`` first (only the kind column when there are none; ``other``:
    their services, when already known)."""
    keys = ["cluster", "service"]
    other = _other_services(spans, kinds) if other is None else other
    if other.is_empty():
        return other
    served = (spans.filter(pl.col("kind").is_in(list(kinds))).join(other.lazy(), on=keys, how="semi", nulls_equal=True)
              .select(keys).unique().collect())  # fmt: skip
    return other.join(served, on=keys, how="anti", nulls_equal=True).sort(keys, nulls_last=True)


def transaction_rows(
    spans: pl.LazyFrame, *, kinds: Collection[str] = ("SERVER", "CONSUMER"),
    nullable: Collection[str] = _NULLABLE,
) -> pl.LazyFrame:  # fmt: skip
    """The transactions among ``spans`` as span rows (their columns, ``service`` null →
    ``"unknown"``, ``end`` null → start + duration, ``error`` null → false). ``nullable``: the
    columns of :data:`_NULLABLE` that may hold nulls (see :func:`nullable_columns`); null
    handling is left out for the others."""
    is_kind = pl.col("kind").is_in(list(kinds))  # no cast: comparing the enum directly is ~20x faster
    spans = spans.with_columns(pl.col("service").fill_null("unknown"))
    keys = ["cluster", "service"]
    other = _other_services(spans, kinds)
    fallback = fallback_services(spans, kinds, other=other)
    # every span of kinds: no kind filter to run on each span (the check above read the kinds)
    parts = [spans.filter(is_kind) if other.height else spans]
    if fallback.height:
        log.info(
            "%d service(s) without %s spans: their entry spans are their transactions",
            fallback.height,
            "/".join(kinds),
        )
        fb = spans.join(fallback.lazy(), on=keys, how="semi", nulls_equal=True)
        parts.append(fb.filter(pl.col("parent_id").is_null()))
        ids = spans.select("cluster", "trace_id", pl.col("span_id").alias("parent_id")).unique()
        parts.append(
            fb.filter(pl.col("parent_id").is_not_null()).join(
                ids, on=["cluster", "trace_id", "parent_id"], how="anti"
            )
        )
    tx = pl.concat(parts) if len(parts) > 1 else parts[0]
    timed = [pl.col(c).is_not_null() for c in ("start", "duration_us") if c in nullable]
    if timed:
        tx = tx.filter(*timed)
    fixes = []
    if "end" in nullable:
        fixes.append(
            pl.col("end").fill_null(pl.col("start") + pl.duration(microseconds=pl.col("duration_us")))
        )
    if "error" in nullable:
        fixes.append(pl.col("error").fill_null(value=False))
    return tx.with_columns(fixes) if fixes else tx


def transactions_lazy(
    spans: pl.LazyFrame, *, kinds: tuple[str, ...] = ("SERVER", "CONSUMER"), nullable: Collection[str] = _NULLABLE,
) -> pl.LazyFrame:  # fmt: skip
    """The transactions among ``spans`` with :data:`TRANSACTION_COLUMNS` (lazy; the check for
    services that need the entry-span fallback is collected, see :func:`fallback_services`)."""
    return transaction_rows(spans, kinds=kinds, nullable=nullable).select(
        "cluster", "trace_id", "span_id", "service", "namespace", "pod",
        pl.coalesce(pl.col("http_route"), pl.col("operation")).alias("endpoint"),
        pl.col("kind").cast(pl.String), "start", "end", (pl.col("duration_us") / 1000.0).alias("rt_ms"), "error",
        "http_status_code",
    )  # fmt: skip


def _scoped(tx: Transactions, p: SpanParams, kinds: tuple[str, ...]) -> pl.LazyFrame:
    if tuple(kinds) != tuple(tx.kinds):
        msg = (f"these Transactions were picked with kinds {', '.join(tx.kinds)}, not {', '.join(kinds)}; "
               "pick them again with scoped_transactions(..., kinds=...)")  # fmt: skip
        raise ParameterError(msg)
    lf = tx.frame.lazy()
    lo = p.read_from()
    for col, value in (("cluster", p.cluster), ("namespace", p.namespace), ("service", p.service)):
        if value is not None:
            lf = lf.filter(pl.col(col) == value)
    if lo is not None:
        lf = lf.filter(pl.col("start") >= lo)
    if p.end is not None:
        lf = lf.filter(pl.col("start") <= p.end)
    return lf


def transaction_frame(data: Data, p: SpanParams, *, kinds: tuple[str, ...]) -> pl.LazyFrame:
    """The transactions of the spans ``p`` selects from ``data`` (:data:`TRANSACTION_COLUMNS`,
    lazy, not yet cut to the window's finish times), or ``data``'s own when it is
    :class:`Transactions` (then with :data:`PACKED` instead of the ids when it packs them:
    :meth:`Transactions.with_ids`)."""
    if isinstance(data, Transactions):
        return _scoped(data, p, kinds)
    return transactions_lazy(span_frame(data, p), kinds=kinds, nullable=nullable_columns(data, p))
