"""How the application page shows its frames: table views, their column titles, the chart
bucket for a window, and the per-service hitmaps as small multiples."""

from __future__ import annotations

import datetime as dt

import holoviews as hv
import polars as pl

from workbench.analyses import apm
from workbench.analyses.hitmap import Hitmap
from workbench.viz.hitmap import multi_hitmap, rt_ticks

__all__ = [
    "SUMMARY_TITLES",
    "TX_TITLES",
    "bucket_for",
    "empty_summary",
    "small_multiples",
    "summary_view",
    "tx_view",
]

TX_TITLES = {"trace_id": "trace", "end": "finish time (UTC)", "rt_ms": "response time (ms)"}
SUMMARY_TITLES = {"tps": "TPS (/s)", "error_rate": "error rate (%)", "rt_p50_ms": "p50 (ms)", "rt_p90_ms": "p90 (ms)",
                  "rt_p99_ms": "p99 (ms)", "rt_max_ms": "max (ms)"}  # fmt: skip
_BUCKETS = (("10s", 10), ("30s", 30), ("1m", 60), ("5m", 300), ("15m", 900), ("1h", 3600), ("6h", 21600))


def bucket_for(start: dt.datetime, end: dt.datetime, *, points: int = 240) -> str:
    """The narrowest chart bucket that gives at most ``points`` buckets over the window.

    >>> a = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    >>> bucket_for(a, a + dt.timedelta(hours=1)), bucket_for(a, a + dt.timedelta(hours=6))
    ('30s', '5m')
    """
    seconds = max(1.0, (end - start).total_seconds())
    return next((b for b, s in _BUCKETS if seconds / s <= points), "1d")


def empty_summary() -> pl.DataFrame:
    """An empty per-service summary (the services table before anything is read)."""
    return pl.DataFrame(schema={"service": pl.String(), **apm.SUMMARY_COLUMNS})


def summary_view(totals: pl.DataFrame) -> pl.DataFrame:
    """The services table: counts, TPS, error rate in % and response times in ms, rounded."""
    return totals.select(
        "service", "transactions", pl.col("tps").round(2), "errors", (pl.col("error_rate") * 100).round(2),
        *[pl.col(c).round(1) for c in ("rt_p50_ms", "rt_p90_ms", "rt_p99_ms", "rt_max_ms")],
    )  # fmt: skip


def tx_view(tx: pl.DataFrame) -> pl.DataFrame:
    """The transactions table of a box selection."""
    return tx.select("trace_id", "service", "pod", "endpoint", "end", pl.col("rt_ms").round(3), "error")


def small_multiples(hm: Hitmap) -> hv.Layout | None:
    """One small hitmap per service (busiest first), with fewer ticks than the large one."""
    if hm.cells.is_empty():
        return None
    decades = [t for t in rt_ticks(hm.rt_min_ms, hm.rt_max_ms) if float(t[0]).is_integer()]
    return multi_hitmap(hm, cols=4, height=200).map(
        lambda el: el.opts(yticks=decades, xticks=4, xlabel="", backend="bokeh"), [hv.Image]
    )
