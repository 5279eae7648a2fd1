"""MSA analysis: the service call graph from spans, with calls, errors, latency and self time.

**Who called whom.** Spans are linked to their parent by ``(cluster, trace_id, parent_id)``. A
Zipkin RPC whose client and server halves share one span id (the server half is kept as its own
row) is linked client half → server half; the children of that id hang under the server half;
rows of kind UNSPECIFIED/INTERNAL that repeat an id which has a client or server half are
*fragments* of it and are left out. An **edge** ``caller → callee`` is counted once per span
whose parent is in another service (a CLIENT span's SERVER child, a PRODUCER's CONSUMER, or any
child whose service differs from its parent's), and once per *unmatched* outbound span — a
CLIENT/PRODUCER span, or any span with a ``db_system``, that has no child in another service —
which calls its ``peer_service``, else its ``db_system`` (an external node such as
``orders-db``, ``redis`` or ``payment-gateway``). A call's latency is the caller's CLIENT span
when there is one (what the caller waited, network included), else the callee's span; it failed
when either span is an error.

**Self time.** A span's exclusive time is its duration minus the *union* of its children's
intervals (clipped to it), so parallel children are not counted twice. A service's
``self_time_ms`` sums the exclusive time of its non-outbound spans; ``wait_time_ms`` sums, over
the same spans, the union of their outbound or other-service children (time waiting on callees),
plus outbound spans that have no parent in the service.

Result columns: :data:`EDGE_COLUMNS` and :data:`SERVICE_COLUMNS` (a :class:`ServiceMap`),
:data:`SPAN_TIME_COLUMNS` (:func:`span_times`); :func:`compare` adds ``<m>_base``,
``<m>_delta`` and ``<m>_ratio`` (window ÷ baseline) for every metric. Ids are joined through a
64-bit hash of (cluster, trace id, span id): at 10 M spans the chance that any two collide is
about one in a million. Services of different clusters that share a name are one node (filter
by ``cluster`` to separate them). Above :data:`PART_SPANS` spans, :func:`service_map` links and
maps a part of the traces at a time and merges the parts (same map; latency means may differ in
the last bits), so its memory does not grow with the linking of every span at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import numpy as np
import polars as pl

from workbench.analyses.apm import Data, SpanParams, resolve_params, span_frame
from workbench.analyses.params import field
from workbench.errors import ParameterError
from workbench.store import to_utc

__all__ = [
    "EDGE_COLUMNS",
    "SERVICE_COLUMNS",
    "SPAN_TIME_COLUMNS",
    "PART_SPANS",
    "LinkedSpans",
    "ServiceMap",
    "ServiceMapParams",
    "compare",
    "compare_clusters",
    "link",
    "service_map",
    "span_times",
    "versus",
]

log = logging.getLogger(__name__)

_LAT = {"latency_mean_ms": pl.Float64(), "latency_p50_ms": pl.Float64(), "latency_p99_ms": pl.Float64()}
EDGE_COLUMNS: dict[str, pl.DataType] = {
    "caller": pl.String(),
    "callee": pl.String(),
    "callee_kind": pl.String(),
    "calls": pl.Int64(),
    "traced_calls": pl.Int64(),
    "errors": pl.Int64(),
    "error_rate": pl.Float64(),
    **_LAT,
}
SERVICE_COLUMNS: dict[str, pl.DataType] = {
    "service": pl.String(),
    "node_kind": pl.String(),
    "calls": pl.Int64(),
    "errors": pl.Int64(),
    "error_rate": pl.Float64(),
    **_LAT,
    "spans": pl.Int64(),
    "self_time_ms": pl.Float64(),
    "wait_time_ms": pl.Float64(),
    "self_ratio": pl.Float64(),
}
SPAN_TIME_COLUMNS: dict[str, pl.DataType] = {
    "cluster": pl.String(),
    "trace_id": pl.String(),
    "span_id": pl.String(),
    "service": pl.String(),
    "kind": pl.String(),
    "duration_us": pl.Int64(),
    "children_us": pl.Int64(),
    "exclusive_us": pl.Int64(),
    "wait_us": pl.Int64(),
}
_OUT = ("CLIENT", "PRODUCER")
_IN = ("SERVER", "CONSUMER")
_S, _C, _O = 0, 1, 2  # ``_side`` codes: server/consumer, client/producer, other (also the parent priority)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceMapParams(SpanParams):
    """Parameters of the service map (``service`` keeps the edges that touch it)."""

    min_calls: int = field(1, "leave out edges with fewer calls", ge=1)


@dataclasses.dataclass(frozen=True)
class ServiceMap:
    """The call graph: one row per edge and one per node (services and external nodes)."""

    edges: pl.DataFrame
    services: pl.DataFrame


#: The span columns the service map needs besides the ids (``link`` keeps these plus ``keep``).
_COLUMNS = ("service", "kind", "duration_us", "error", "peer_service", "db_system")


def link(spans: pl.DataFrame | pl.LazyFrame, *, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """The spans, one row each in their order, as the map needs them: ``_row`` (= position),
    ``_parent`` (position of the resolved parent; null for roots and spans whose parent is
    missing), ``_fragment``, ``_side`` (0 server/consumer, 1 client/producer, 2 other),
    ``_outbound``, ``_s``/``_e`` (start/end in µs), the :data:`_COLUMNS` and ``keep``.

    Parents are found through a 64-bit hash of (cluster, trace id, span id), so the id strings
    are read once and never carried through a join.
    """
    return _link_rows(_link_base(spans, keep=keep))


def _link_base(spans: pl.DataFrame | pl.LazyFrame, *, keep: tuple[str, ...] = ()) -> pl.DataFrame:
    """What :func:`link` needs of each span that does not depend on the other spans: the
    columns, the id hashes ``_k`` (its own) and ``_pk`` (its parent's), ``_s``/``_e``,
    ``_side``, ``_outbound``, the service (null: ``unknown``)."""
    return _base_query(spans, keep=keep).collect()


def _base_query(
    spans: pl.DataFrame | pl.LazyFrame, *, keep: tuple[str, ...] = (), bucket: bool = False
) -> pl.LazyFrame:
    """The query of :func:`_link_base`; with ``bucket`` it also gives ``_b``, the span's trace
    bucket (0 to :data:`_BUCKETS` − 1, the same for every span of a trace)."""
    kind = pl.col("kind")  # compared as is: casting the enum to text costs more than the rest
    return (
        spans.lazy()
        .select(
            *dict.fromkeys([*_COLUMNS, *keep]),
            *([(pl.col("trace_id").hash() % _BUCKETS).cast(pl.UInt8).alias("_b")] if bucket else []),
            pl.struct("cluster", "trace_id", "span_id").hash().alias("_k"),
            pl.when(pl.col("parent_id").is_not_null())
            .then(pl.struct("cluster", "trace_id", pl.col("parent_id").alias("span_id")).hash())
            .alias("_pk"),
            pl.col("start").dt.epoch("us").alias("_s"),
            pl.col("end")
            .fill_null(pl.col("start") + pl.duration(microseconds=pl.col("duration_us")))
            .dt.epoch("us")
            .alias("_e"),
        )
        .with_columns(
            pl.when(kind.is_in(_OUT))
            .then(pl.lit(_C, pl.UInt8))
            .when(kind.is_in(_IN))
            .then(pl.lit(_S, pl.UInt8))
            .otherwise(pl.lit(_O, pl.UInt8))
            .alias("_side"),
            (kind.is_in(_OUT) | (pl.col("db_system").is_not_null() & ~kind.is_in(_IN))).alias("_outbound"),
            pl.col("service").fill_null("unknown"),
        )
        .with_columns(pl.col(_NAMES).cast(pl.Categorical) if bucket else [])
    )


def _link_rows(base: pl.DataFrame) -> pl.DataFrame:
    """:func:`link` of rows of :func:`_link_base`: their positions, parents and fragments."""
    base = base.with_row_index("_row")
    client = pl.lit(None, pl.UInt32)
    fragment = pl.lit(value=False)
    targets = base.select("_k", pl.col("_row").alias("_target"))
    if base["_k"].n_unique() < base.height:  # repeated ids: Zipkin shared spans and fragments
        dup = base["_k"].is_duplicated()
        order = {"by": ["_prio", "_s"], "nulls_last": True}
        d = (
            base.filter(dup).select("_k", "_row", "_side", "_s").with_columns(pl.col("_side").alias("_prio"))
        )  # server half first, then client half, then the rest
        grp = d.group_by("_k").agg(
            pl.col("_row").sort_by(**order).first().alias("_target"),  # type: ignore[arg-type]
            pl.col("_row").filter(pl.col("_side") == _C).first().alias("_client"),
            (pl.col("_side") != _O).any().alias("_has_cs"),
        )
        targets = pl.concat([targets.filter(~dup), grp.select("_k", "_target")])
        extra = base.select("_k", "_side").join(
            grp.select("_k", "_client", "_has_cs"), on="_k", how="left", maintain_order="left"
        )
        client = pl.when(extra["_side"] == _S).then(extra["_client"])
        fragment = ((extra["_side"] == _O) & extra["_has_cs"]).fill_null(value=False)
    target = base.select("_pk").join(targets, left_on="_pk", right_on="_k", how="left", maintain_order="left")
    parent = pl.coalesce(client, target["_target"])
    return (
        base.with_columns(fragment.alias("_fragment"), parent.alias("_parent"))
        .with_columns(
            pl.when(pl.col("_parent") != pl.col("_row"))
            .then(pl.col("_parent"))
            .alias("_parent")  # not its own parent
        )
        .drop("_k", "_pk")
    )


@dataclasses.dataclass(frozen=True)
class LinkedSpans:
    """Spans read and linked once, to map any subset of them (a dashboard's scope and window)
    without reading or hashing them again: :meth:`service_map` of the spans matching ``where``
    is :func:`service_map` of those spans, in the same order. When every id is unique (no
    Zipkin shared spans) a subset's parents are the linked ones that it holds, found by
    position; else a subset is linked again from the kept hashes.

        linked = LinkedSpans.of(ds.scan("spans"))
        linked.service_map([pl.col("namespace") == "shop"], start=a, end=b)
    """

    base: pl.DataFrame  # _link_base of every span, with the columns subsets are chosen by
    parent: np.ndarray | None  # each span's parent position (-1: none) when every id is unique
    keep: tuple[str, ...]

    @classmethod
    def of(cls, spans: pl.DataFrame | pl.LazyFrame, *, keep: tuple[str, ...] = ("cluster", "namespace", "pod",
                                                                              "start")) -> LinkedSpans:  # fmt: skip
        """Link ``spans`` (every row), keeping the columns ``keep`` for choosing subsets."""
        base = _link_base(spans, keep=keep)
        parent = None
        if base["_k"].n_unique() == base.height:
            parent = _link_rows(base)["_parent"].cast(pl.Int64).fill_null(-1).to_numpy()
        return cls(base, parent, tuple(k for k in keep if k not in _COLUMNS))

    def link(
        self, where: list[pl.Expr] | tuple[pl.Expr, ...] = (), *, columns: tuple[str, ...] = ()
    ) -> pl.DataFrame:
        """:func:`link` of the spans matching every predicate of ``where`` (as ``filter`` keeps
        them: a null is no match), with the kept ``columns`` (of those it was made with) as
        :func:`link`'s ``keep`` adds them."""
        drop = [k for k in self.keep if k not in columns]
        base = self.base.drop(drop) if self.parent is not None else self.base
        mask = (
            self.base.select(pl.all_horizontal(where).fill_null(value=False)).to_series() if where else None
        )
        rows = base.filter(mask) if mask is not None else base
        if self.parent is None:
            return _link_rows(rows.drop(drop))
        # a parent among the rows is where it landed among them; one left out is no parent
        kept = np.flatnonzero(mask.to_numpy()) if mask is not None else np.arange(base.height)
        at = np.full(base.height, -1, dtype=np.int64)
        at[kept] = np.arange(kept.size)
        up = self.parent[kept]
        parent = np.where(up >= 0, at[np.maximum(up, 0)], -1)
        return (
            rows.drop("_k", "_pk")
            .with_row_index("_row")
            .with_columns(
                pl.lit(value=False).alias("_fragment"),
                pl.Series("_parent", parent).cast(pl.UInt32, strict=False),  # -1 → null
            )
        )

    def select(
        self, where: list[pl.Expr] | tuple[pl.Expr, ...] = (), *, columns: tuple[str, ...] = ()
    ) -> pl.DataFrame:
        """The spans matching every predicate of ``where`` (a null is no match), in their order,
        unlinked: the kept ``columns``, the :data:`_COLUMNS` (a null service is ``unknown``) and
        ``root`` (the span has no ``parent_id``)."""
        rows = self.base.filter(pl.all_horizontal(where).fill_null(value=False)) if where else self.base
        return rows.select(*columns, *_COLUMNS, pl.col("_pk").is_null().alias("root"))

    def service_map(self, where: list[pl.Expr] | tuple[pl.Expr, ...] = (), params: ServiceMapParams | None = None,
                    **changes: Any) -> ServiceMap:  # fmt: skip
        """:func:`service_map` of the spans matching ``where``."""
        p = resolve_params(ServiceMapParams, params, changes)
        preds = [
            *where,
            *[
                pl.col(c) == v
                for c, v in (("cluster", p.cluster), ("namespace", p.namespace))
                if v is not None
            ],
        ]  # (as span_frame filters them)
        if p.start is not None:
            preds.append(pl.col("start") >= p.start)
        if p.end is not None:
            preds.append(pl.col("start") < p.end)
        linked = self.link(preds)
        return _focus(_compute(_with_parent(linked).filter(~pl.col("_fragment")), linked.height), p)


def _with_parent(b: pl.DataFrame) -> pl.DataFrame:
    """``b`` (all rows of :func:`link`, fragments masked out of ``_parent``) with its parent's
    columns ``p_*``, gathered by position (no join)."""
    par = pl.col("_parent")
    return b.with_columns(
        pl.when(pl.col("_fragment").gather(par.fill_null(0)).not_()).then(par).alias("_parent")
    ).with_columns(
        *[
            pl.col(c).gather(pl.col("_parent")).alias(f"p_{c}")
            for c in ("service", "duration_us", "error", "_s", "_e")
        ],
        pl.col("_side").gather(pl.col("_parent")).alias("p_side"),
    )


_SHIFT = 31  # a child interval, in µs since its parent's start, must fit 31 bits (35 min) for the fast path


def _unions(kids: pl.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row position (``n`` of them): the length of the union of its children's intervals
    clipped to it, and of its outbound or other-service children only.

    Sorted by (parent, start), a union adds for each child what it reaches beyond the furthest
    end of the children before it. Both values are packed as ``parent·2³¹ + µs since the
    parent's start``, so one sort and one running maximum over the whole column serve every
    parent at once: a parent's values are all above the previous parent's.
    """
    k = kids.select(
        pl.col("_parent").cast(pl.Int64).alias("p"),
        (pl.max_horizontal("_s", "p__s") - pl.col("p__s")).alias("cs"),
        (pl.min_horizontal("_e", "p__e") - pl.col("p__s")).alias("ce"),
        (pl.col("_outbound") | (pl.col("service") != pl.col("p_service"))).alias("w"),
    ).filter(pl.col("ce") > pl.col("cs"))
    u, w = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    if k.is_empty():
        return u, w
    if k["ce"].max() < 2**_SHIFT:  # type: ignore[operator]
        off = pl.col("p") * 2**_SHIFT
        k = k.with_columns(
            (off + pl.col("cs")).alias("cs"), (off + pl.col("ce")).alias("ce"), off.alias("off")
        )
        k = k.sort("cs")
        prev = pl.col("ce").cum_max().shift(1)
        prev_w = pl.when(pl.col("w")).then(pl.col("ce")).otherwise(pl.col("off")).cum_max().shift(1)
    else:  # very long spans: a per-parent window (slower, same answer)
        k = k.sort("p", "cs")
        prev = pl.col("ce").cum_max().shift(1).over("p")
        prev_w = pl.when(pl.col("w")).then(pl.col("ce")).cum_max().forward_fill().shift(1).over("p")
    part = k.select(
        "p",
        (pl.col("ce") - pl.max_horizontal("cs", prev)).clip(lower_bound=0).alias("all"),
        pl.when(pl.col("w"))
        .then((pl.col("ce") - pl.max_horizontal("cs", prev_w)).clip(lower_bound=0))
        .otherwise(0)
        .alias("wait"),
    )
    parents = part["p"].to_numpy()
    u += np.bincount(parents, weights=part["all"].to_numpy(), minlength=n).astype(np.int64)
    w += np.bincount(parents, weights=part["wait"].to_numpy(), minlength=n).astype(np.int64)
    return u, w


def _span_times(t: pl.DataFrame, n: int) -> pl.DataFrame:
    """``t`` (from :func:`_spans`; ``n`` = rows of the linked frame) with ``u`` (union of the
    children), ``w`` (union of the outbound or other-service children) and ``exclusive_us``."""
    kids = t.filter(
        pl.col("_parent").is_not_null()
        & pl.col("_s").is_not_null()
        & pl.col("_e").is_not_null()
        & pl.col("p__s").is_not_null()
        & pl.col("p__e").is_not_null()
    )
    u, w = _unions(kids, n)
    rows = t["_row"].to_numpy()
    return t.with_columns(pl.Series("u", u[rows]), pl.Series("w", w[rows])).with_columns(
        (pl.col("duration_us") - pl.col("u")).alias("exclusive_us")
    )


def _lat(col: str) -> list[pl.Expr]:
    c = pl.col(col) / 1000.0
    return [
        c.mean().alias("latency_mean_ms"),
        c.quantile(0.5, "linear").alias("latency_p50_ms"),
        c.quantile(0.99, "linear").alias("latency_p99_ms"),
    ]


def _window(data: Data, p: SpanParams) -> pl.LazyFrame:
    """The spans of the scope of ``p`` that started in its window."""
    lf = span_frame(data, p, service=False)
    if p.start is not None:
        lf = lf.filter(pl.col("start") >= p.start)
    if p.end is not None:
        lf = lf.filter(pl.col("start") < p.end)
    return lf


def _spans(data: Data, p: SpanParams, *, keep: tuple[str, ...] = ()) -> tuple[pl.DataFrame, int]:
    """The window's spans with their parents' columns (fragments left out), and the number of
    rows before that (``_row`` values are below it)."""
    linked = link(_window(data, p), keep=keep)
    return _with_parent(linked).filter(~pl.col("_fragment")), linked.height


#: Traces are put in this many buckets by a hash of their id (see :func:`_mapped`).
_BUCKETS = 64
#: Above this many spans the map is computed a part (a set of trace buckets) at a time.
PART_SPANS = 4_000_000
_NAMES = ("service", "peer_service", "db_system")  # categorical in :func:`_mapped`'s parts


def _mapped(spans: pl.LazyFrame, part_spans: int | None = None) -> ServiceMap:
    """The map of ``spans``, linked and mapped a part at a time when there are more than
    ``part_spans`` (default :data:`PART_SPANS`) of them.

    A part holds whole traces (a span's parent is in its trace: they are put in parts by a
    hash of the trace id), so its calls, errors, spans and times add up across parts, and its
    latencies are kept per edge and service for the percentiles (the means may differ from one
    pass in the last bits: the sums are taken in another order). The peak memory is about that
    of reading the spans' columns (about 60 bytes a span once read) plus one part's linking,
    instead of the linking of every span at once (several times that).
    """
    limit = PART_SPANS if part_spans is None else part_spans
    base = _base_query(spans, bucket=True).collect()
    if base.height <= limit:
        linked = _link_rows(base.drop("_b"))
        del base
        return _compute(_with_parent(linked).filter(~pl.col("_fragment")), linked.height)
    k = 2
    while k < _BUCKETS and base.height > k * limit:
        k *= 2
    parts = []
    for i in range(k):  # (k divides _BUCKETS: a trace's bucket b is in part b mod k)
        linked = _link_rows(base.filter(pl.col("_b") % k == i).drop("_b"))
        t = _with_parent(linked).filter(~pl.col("_fragment"))
        if t.height:
            parts.append(_partial(t, linked.height))
        del linked, t
    return _merge(parts) if parts else _compute(pl.DataFrame(), 0)


def _compute(t: pl.DataFrame, n: int, by: tuple[str, ...] = ()) -> ServiceMap:
    """The map of ``t`` (rows of :func:`_with_parent`, fragments left out; ``n`` = rows of the
    linked frame); with ``by``, one map per value of those columns at once (each frame keeps
    them first)."""
    if t.is_empty():
        return ServiceMap(_empty(EDGE_COLUMNS, t, by), _empty(SERVICE_COLUMNS, t, by))
    return _merge([_partial(t, n, by)])


def _empty(cols: dict[str, pl.DataType], t: pl.DataFrame, by: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(schema={**{k: t.schema[k] for k in by}, **cols})


@dataclasses.dataclass(frozen=True)
class _Part:
    """What :func:`_merge` needs of one set of whole traces: per edge and per service the
    counts and sums (they add up across parts) and the latencies (a list per group: percentiles
    do not add up), and the services seen; each frame starts with the group keys ``by``."""

    edges: pl.DataFrame  # *by, caller, callee, calls, traced_calls, errors, lat (list of µs), _db
    inbound: pl.DataFrame  # *by, service, calls, errors, lat (list of µs)
    stats: pl.DataFrame  # *by, service, spans, self_us, wait_us
    known: pl.DataFrame  # *by, service: the services of the spans (per group)
    by: tuple[str, ...] = ()


def _partial(t: pl.DataFrame, n: int, by: tuple[str, ...] = ()) -> _Part:
    """:class:`_Part` of ``t`` (as :func:`_compute` takes it), per value of the columns ``by``."""
    g = list(by)
    # (each step selects its columns first: filtering a frame copies every column it has)
    remote = t.select(
        *g, "_parent", "service", "p_service", "p_side", "p_duration_us", "duration_us", "error", "p_error"
    ).filter(pl.col("_parent").is_not_null() & (pl.col("service") != pl.col("p_service")))
    traced = remote.select(
        *g,
        pl.col("p_service").alias("caller"),
        pl.col("service").alias("callee"),
        pl.when(pl.col("p_side") == _C)
        .then(pl.coalesce("p_duration_us", "duration_us"))
        .otherwise("duration_us")
        .alias("lat"),
        (pl.col("error") | ((pl.col("p_side") == _C) & pl.col("p_error")))
        .fill_null(value=False)
        .alias("err"),
        pl.lit(value=True).alias("traced"),
        pl.lit(value=False).alias("db"),
    )
    matched = np.zeros(n, dtype=bool)  # rows with a child in another service
    matched[remote["_parent"].to_numpy()] = True
    unmatched = (
        t.select(*g, "service", "peer_service", "db_system", "duration_us", "error", "_outbound")
        .with_columns(pl.Series("_matched", matched[t["_row"].to_numpy()]))
        .filter(
            pl.col("_outbound") & pl.coalesce("peer_service", "db_system").is_not_null() & ~pl.col("_matched")
        )
    )
    external = unmatched.select(
        *g,
        pl.col("service").alias("caller"),
        pl.coalesce("peer_service", "db_system").alias("callee"),
        pl.col("duration_us").alias("lat"),
        pl.col("error").fill_null(value=False).alias("err"),
        pl.lit(value=False).alias("traced"),
        pl.col("db_system").is_not_null().alias("db"),
    )
    edges = (
        pl.concat([traced, external])
        .group_by(*g, "caller", "callee")
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            pl.col("traced").sum().cast(pl.Int64).alias("traced_calls"),
            pl.col("err").sum().cast(pl.Int64).alias("errors"),
            pl.col("lat"),
            pl.col("db").any().alias("_db"),
        )
    )
    times = _span_times(
        t.select(*g, "_row", "_parent", "_s", "_e", "p__s", "p__e", "_outbound", "service", "p_service",
                 "duration_us", "error"),
        n,
    )  # fmt: skip
    entry = pl.col("p_service").is_null() | (pl.col("p_service") != pl.col("service"))
    local = ~pl.col("_outbound")
    stats = times.group_by(*g, "service").agg(
        pl.len().cast(pl.Int64).alias("spans"),
        pl.col("exclusive_us").filter(local).sum().alias("self_us"),
        (
            pl.col("w").filter(local).sum() + pl.col("duration_us").filter(pl.col("_outbound") & entry).sum()
        ).alias("wait_us"),
    )
    inbound = (
        times.filter(entry)
        .group_by(*g, "service")
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            pl.col("error").fill_null(value=False).sum().cast(pl.Int64).alias("errors"),
            pl.col("duration_us").alias("lat"),
        )
    )
    return _Part(edges, inbound, stats, t.select(*g, "service").unique(), by)


def _with_lat(groups: pl.DataFrame) -> pl.DataFrame:
    """``groups`` with the latency statistics of its ``lat`` lists (:func:`_lat`) in place of them."""
    g = groups.with_row_index("_g")
    lat = g.select("_g", "lat").explode("lat").group_by("_g").agg(*_lat("lat"))
    return g.drop("lat").join(lat, on="_g", how="left").drop("_g")


def _merge(parts: list[_Part]) -> ServiceMap:
    """The map of the spans of ``parts`` (each of whole traces, none sharing one; all with the
    same group keys)."""
    by = parts[0].by
    g = list(by)
    known = pl.concat([p.known for p in parts]).unique()
    adds = [pl.col(c).sum() for c in ("calls", "traced_calls", "errors")]
    edges = pl.concat([p.edges for p in parts])
    if len(parts) > 1:
        edges = edges.group_by(*g, "caller", "callee").agg(
            *adds, pl.col("lat").explode(), pl.col("_db").any()
        )
    if g:  # a callee is a traced service when it has spans of its own in the same group
        edges = edges.join(
            known.select(*g, pl.col("service").alias("callee"), pl.lit(value=True).alias("_known")),
            on=[*g, "callee"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        ).with_columns(pl.col("_known").fill_null(value=False))
    else:
        edges = edges.with_columns(pl.col("callee").is_in(known["service"].implode()).alias("_known"))
    ext = (
        edges.filter(~pl.col("_known"))
        .group_by(*g, "callee")
        .agg(pl.col("calls", "errors").sum(), pl.col("lat").explode(), pl.col("_db").any())
        .pipe(_with_lat)
        .with_columns(
            pl.when(pl.col("_db")).then(pl.lit("database")).otherwise(pl.lit("external")).alias("node_kind"),
            pl.lit(0, pl.Int64).alias("spans"),
        )
        .rename({"callee": "service"})
        .drop("_db")
    )
    edges = _with_lat(edges).with_columns(
        pl.when(pl.col("_known"))
        .then(pl.lit("service"))
        .when(pl.col("_db"))
        .then(pl.lit("database"))
        .otherwise(pl.lit("external"))
        .alias("callee_kind"),
        (pl.col("errors") / pl.col("calls")).alias("error_rate"),
    )
    inbound = pl.concat([p.inbound for p in parts])
    stats = pl.concat([p.stats for p in parts])
    if len(parts) > 1:
        inbound = inbound.group_by(*g, "service").agg(
            pl.col("calls", "errors").sum(), pl.col("lat").explode()
        )
        stats = stats.group_by(*g, "service").agg(pl.col("spans", "self_us", "wait_us").sum())
    stats = stats.select(
        *g,
        "service",
        "spans",
        (pl.col("self_us") / 1000.0).alias("self_time_ms"),
        (pl.col("wait_us") / 1000.0).alias("wait_time_ms"),
    )
    services = (
        _with_lat(inbound)
        .join(stats, on=[*g, "service"], how="full", coalesce=True)
        .with_columns(pl.lit("service").alias("node_kind"))
    )
    services = pl.concat([services, ext], how="diagonal_relaxed").with_columns(
        pl.col("calls", "errors").fill_null(0),
        (pl.col("errors") / pl.col("calls")).alias("error_rate"),
        (pl.col("self_time_ms") / (pl.col("self_time_ms") + pl.col("wait_time_ms")))
        .fill_nan(None)
        .alias("self_ratio"),
    )
    keys = {k: parts[0].known.schema[k] for k in g}
    return ServiceMap(  # (sorted as text: the parts' names may be categorical)
        _cast(edges, {**keys, **EDGE_COLUMNS}).sort(*g, "caller", "callee"),
        _cast(services, {**keys, **SERVICE_COLUMNS}).sort(*g, "service"),
    )


def _cast(df: pl.DataFrame, cols: dict[str, pl.DataType]) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) for c, t in cols.items()])


def _focus(sm: ServiceMap, p: ServiceMapParams) -> ServiceMap:
    edges = sm.edges.filter(pl.col("calls") >= p.min_calls)
    services = sm.services
    if p.service is not None:
        edges = edges.filter((pl.col("caller") == p.service) | (pl.col("callee") == p.service))
        names = {p.service, *edges["caller"].to_list(), *edges["callee"].to_list()}
        services = services.filter(pl.col("service").is_in(sorted(names)))
    return ServiceMap(edges, services)


def service_map(
    data: Data, params: ServiceMapParams | None = None, *, linked: pl.DataFrame | None = None, **changes: Any
) -> ServiceMap:
    """The call graph of the spans that started in the window (:data:`EDGE_COLUMNS`,
    :data:`SERVICE_COLUMNS`).

    ``linked``: those spans already passed through :func:`link` (to share one read with another
    analysis; ``data`` is then not read). It may hold every cluster's spans of the window: with
    ``cluster`` set, it must keep the ``cluster`` column, and only that cluster's are mapped."""
    p = resolve_params(ServiceMapParams, params, changes)
    if linked is None:
        return _focus(_mapped(_window(data, p)), p)
    # parents never cross clusters: filter after linking
    t = _with_parent(linked).filter(~pl.col("_fragment"))
    if p.cluster is not None:
        if "cluster" not in linked.columns:
            msg = "service_map: linked spans need the cluster column (link(..., keep=('cluster',))) to pick a cluster"
            raise ParameterError(msg)
        t = t.filter(pl.col("cluster") == p.cluster)
    return _focus(_compute(t, linked.height), p)


def span_times(data: Data, params: ServiceMapParams | None = None, **changes: Any) -> pl.DataFrame:
    """Each span's exclusive time and time waiting on callees (:data:`SPAN_TIME_COLUMNS`)."""
    p = resolve_params(ServiceMapParams, params, changes)
    t, n = _spans(
        data, p, keep=("cluster", "trace_id", "span_id")
    )  # every service: children may be elsewhere
    times = (
        _span_times(t, n)
        if t.height
        else t.with_columns(pl.lit(0).alias("u"), pl.lit(0).alias("w"), pl.lit(0).alias("exclusive_us"))
    )
    if p.service is not None:
        times = times.filter(pl.col("service") == p.service)
    return (
        times.sort("_row")
        .select(
            "cluster",
            "trace_id",
            "span_id",
            "service",
            pl.col("kind").cast(pl.String),
            "duration_us",
            pl.col("u").alias("children_us"),
            "exclusive_us",
            pl.when(pl.col("_outbound")).then(pl.lit(0)).otherwise(pl.col("w")).alias("wait_us"),
        )
        .pipe(_cast, SPAN_TIME_COLUMNS)
    )


_KEYS = {"edges": ["caller", "callee"], "services": ["service"]}
_COUNTS = ("calls", "traced_calls", "errors", "spans")


def _diff(cur: pl.DataFrame, base: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    metrics = [c for c, t in cur.schema.items() if c not in keys and t.is_numeric()]
    labels = [c for c in cur.columns if c not in keys and c not in metrics]
    j = cur.join(base, on=keys, how="full", coalesce=True, suffix="_base")
    exprs: list[pl.Expr] = [pl.coalesce(c, f"{c}_base").alias(c) for c in labels]
    for m in metrics:
        now, was = pl.col(m), pl.col(f"{m}_base")
        if m in _COUNTS:
            now, was = now.fill_null(0), was.fill_null(0)
        exprs += [
            now.alias(m),
            was.alias(f"{m}_base"),
            (now - was).alias(f"{m}_delta"),
            pl.when(was != 0).then(now / was).alias(f"{m}_ratio"),
        ]
    return j.select(*keys, *exprs).sort(keys)


def compare(
    data: Data,
    *,
    window: tuple[dt.datetime | str, dt.datetime | str],
    baseline: tuple[dt.datetime | str, dt.datetime | str],
    params: ServiceMapParams | None = None,
    current: ServiceMap | None = None,
    linked: tuple[pl.DataFrame, pl.DataFrame] | None = None,
    **changes: Any,
) -> ServiceMap:
    """The service map of ``window`` next to that of ``baseline``: every metric ``m`` of
    :data:`EDGE_COLUMNS`/:data:`SERVICE_COLUMNS` as ``m`` (window), ``m_base``, ``m_delta``
    (window − baseline) and ``m_ratio`` (window ÷ baseline, null when the baseline is 0).
    Edges and nodes seen in only one of the two are kept (counts 0 on the other side).
    ``current``: the window's :func:`service_map` with the same parameters, when already
    computed (it is not computed again). ``linked``: the window's and the baseline's spans already
    linked, as :func:`service_map` takes them."""
    p = resolve_params(ServiceMapParams, params, changes)
    now_l, was_l = linked if linked is not None else (None, None)
    now = current if current is not None else service_map(
        data, p.replace(start=to_utc(window[0]), end=to_utc(window[1])), linked=now_l)  # type: ignore[arg-type]  # fmt: skip
    was = service_map(
        data,
        p.replace(start=to_utc(baseline[0]), end=to_utc(baseline[1])),  # type: ignore[arg-type]
        linked=was_l,
    )
    return versus(now, was)


def compare_clusters(
    linked: tuple[pl.DataFrame, pl.DataFrame],
    clusters: list[str] | tuple[str, ...],
    params: ServiceMapParams | None = None,
    **changes: Any,
) -> dict[str, ServiceMap]:
    """:func:`compare` of each of ``clusters``, from the window's and the baseline's spans
    already linked (with the ``cluster`` column, every cluster's) as :func:`compare` takes them:
    the four or more maps are computed in one pass over both (same maps as one :func:`compare`
    per cluster; ``params``' cluster is not used)."""
    p = resolve_params(ServiceMapParams, params, changes)
    now, was = linked
    if "cluster" not in now.columns or "cluster" not in was.columns:
        msg = "compare_clusters: linked spans need the cluster column (link(..., keep=('cluster',)))"
        raise ParameterError(msg)
    shift = now.height
    both = pl.concat([
        now.with_columns(pl.lit(0, pl.UInt8).alias("_w")),
        was.with_columns((pl.col("_row").cast(pl.Int64) + shift).cast(now.schema["_row"]),
                         (pl.col("_parent").cast(pl.Int64) + shift).cast(now.schema["_parent"]),
                         pl.lit(1, pl.UInt8).alias("_w")).select([*now.columns, "_w"]),
    ])  # fmt: skip
    t = _with_parent(both).filter(~pl.col("_fragment"))  # parents never cross clusters or windows
    groups = _compute(t, both.height, by=("cluster", "_w"))
    parts = {
        name: dict(frame.partition_by("cluster", "_w", as_dict=True, include_key=False))
        for name, frame in (("edges", groups.edges), ("services", groups.services))
    }

    def part(cluster: str, w: int) -> ServiceMap:
        edges = parts["edges"].get((cluster, w), pl.DataFrame(schema=EDGE_COLUMNS))
        services = parts["services"].get((cluster, w), pl.DataFrame(schema=SERVICE_COLUMNS))
        return _focus(ServiceMap(edges, services), p)

    return {cluster: versus(part(cluster, 0), part(cluster, 1)) for cluster in clusters}


def versus(now: ServiceMap, baseline: ServiceMap) -> ServiceMap:
    """Two maps side by side, as :func:`compare` gives them (``now``'s metrics, ``<m>_base``,
    ``<m>_delta``, ``<m>_ratio``)."""
    return ServiceMap(
        _diff(now.edges, baseline.edges, _KEYS["edges"]),
        _diff(now.services, baseline.services, _KEYS["services"]),
    )
