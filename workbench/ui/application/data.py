"""What the application page shows for one scope, computed once per scope and kept.

A scope (cluster, namespace, workload, window) is read once: its spans' transactions are picked
once (:func:`workbench.analyses.apm.scoped_transactions`) and every result the page shows comes
from them — the per-service hitmap, the TPS/response-time/error series, the active transactions,
the totals. A box selection or a service change then only filters what is kept. The page keeps
the last few scopes (:class:`~workbench.ui._refresh.Recent`), so going back to one costs
nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pandas as pd
import polars as pl

from workbench.analyses import apm, hitmap
from workbench.analyses._kept import kept as kept_per_version
from workbench.analyses._kept import signature
from workbench.store import Dataset
from workbench.ui.application.views import bucket_for, summary_view
from workbench.ui.common import table_frame

__all__ = ["KEEP_SPANS", "SPAN_COLUMNS", "Key", "Kept", "ScopeResults", "compute", "kept"]

log = logging.getLogger(__name__)

#: Span columns read for a scope (what picking transactions needs).
SPAN_COLUMNS = tuple(
    "cluster trace_id span_id parent_id service operation kind start end duration_us error http_route "
    "http_status_code namespace pod".split()
)
#: apm's default lookback: a transaction may have started this long before the window.
LOOKBACK = dt.timedelta(minutes=10)
Key = tuple[str, str, str, dt.datetime | None, dt.datetime | None]


@dataclasses.dataclass(frozen=True)
class ScopeResults:
    """Everything the page shows for one scope (per service)."""

    key: Key
    start: dt.datetime | None
    end: dt.datetime | None
    spans: int  # spans in the scope: 0 when none, else at least one
    tx: apm.Transactions
    hitmap: hitmap.Hitmap
    series: pl.DataFrame
    active: pl.DataFrame
    totals: pl.DataFrame
    overall: pl.DataFrame
    table: pd.DataFrame  # the services table as shown

    @property
    def services(self) -> list[str]:
        """The services that have transactions in the window, sorted."""
        return sorted(self.totals["service"].to_list())


#: Snapshots with at most this many spans keep their transactions in memory (once per process,
#: shared by every session): a scope change then filters them instead of reading the files.
KEEP_SPANS = 3_000_000
_KINDS = ("SERVER", "CONSUMER")


@dataclasses.dataclass(frozen=True)
class Kept:
    """A snapshot's transactions by kind (every span of :data:`_KINDS`) and where its other spans
    are (cluster, namespace, pod, service, start): enough to scope them in memory and to see
    when a scope needs the entry-span fallback."""

    tx: pl.DataFrame
    others: pl.DataFrame

    def scope(self, ds: Dataset, key: Key) -> tuple[apm.Transactions, int] | None:
        """The transactions of scope ``key`` and its number of spans (what reading the scope
        gives), or None when one of its services has no span of :data:`_KINDS` there (then its
        entry spans count: read the scope)."""
        cluster, namespace, workload, start, end = key
        where = [pl.col(c) == v for c, v in (("cluster", cluster), ("namespace", namespace)) if v]
        if workload:
            pods = ds.pods(
                workload=workload, **{k: v for k, v in (("cluster", cluster), ("namespace", namespace)) if v}
            )
            where.append(pl.col("pod").is_in(pods["name"].to_list()))
        if start is not None:
            where.append(pl.col("start") >= start - LOOKBACK)
        if end is not None:
            where.append(pl.col("start") <= end)
        tx = self.tx.filter(*where) if where else self.tx
        others = self.others.filter(*where) if where else self.others
        keys = ["cluster", "service"]
        bare = (
            others.select(keys).unique().join(tx.select(keys).unique(), on=keys, how="anti", nulls_equal=True)
        )
        if bare.height:
            return None
        return apm.Transactions(tx, _KINDS), tx.height + others.height


def _read_kept(ds: Dataset) -> Kept:
    """Read and pick the snapshot's transactions (and its other spans' scope columns)."""
    scan = ds.scan("spans").select(SPAN_COLUMNS)
    is_kind = pl.col("kind").is_in(list(_KINDS))
    tx = apm.scoped_transactions(scan.filter(is_kind), kinds=_KINDS).frame
    cat = pl.Categorical()  # as the transactions keep them (apm.KEPT_CATEGORICAL): joined on below
    others = (
        scan.filter(~is_kind.fill_null(value=False))
        .select(
            pl.col("cluster", "namespace", "pod").cast(cat),
            pl.col("service").fill_null("unknown").cast(cat),
            "start",
        )
        .collect()
    )
    log.info("kept %d transactions of %s in memory", tx.height, ds.path)
    return Kept(tx, others)


def kept(ds: Dataset) -> Kept | None:
    """The snapshot's transactions kept in memory once per version of it
    (:func:`~workbench.analyses._kept.kept` on its :func:`~workbench.analyses._kept.signature`:
    a snapshot that grew, once ``ds`` is refreshed, is read again), or None when it has more
    than :data:`KEEP_SPANS` spans."""
    if ds.row_counts.get("spans", 0) > KEEP_SPANS:
        return None
    return kept_per_version("application transactions", signature(ds), lambda: _read_kept(ds), size=2)


def compute(ds: Dataset, key: Key) -> ScopeResults:
    """Scope ``key`` = (cluster, namespace, workload, start, end; '' and None = all): its
    transactions (filtered from those kept in memory, else read) and everything computed from
    them."""
    cluster, namespace, workload, start, end = key
    window = {"start": start, "end": end}
    memory = kept(ds)
    found = memory.scope(ds, key) if memory is not None else None
    if found is not None:
        tx, spans = found
    else:
        where = {
            k: v for k, v in (("cluster", cluster), ("namespace", namespace), ("workload", workload)) if v
        }
        scan = ds.scan("spans", start=start - LOOKBACK if start is not None else None, end=end, **where)
        tx = apm.scoped_transactions(scan.select(SPAN_COLUMNS), **window)  # reads the transactions' rows only
        spans = tx.height or scan.select(pl.len()).collect().item()  # "no spans" or "no transactions"?
    bucket = bucket_for(start, end) if start and end else "1m"
    totals = apm.summary(tx, by=("service",), **window)
    return ScopeResults(
        key=key, start=start, end=end, spans=spans, tx=tx,
        hitmap=hitmap.hitmap(tx, by=("service",), **window),
        series=apm.series(tx, by=("service",), bucket=bucket, **window),
        active=apm.active_series(tx, by=("service",), bucket=bucket, **window),
        totals=totals, overall=apm.summary(tx, by=(), **window),
        table=table_frame(summary_view(totals)).to_pandas(),
    )  # fmt: skip
