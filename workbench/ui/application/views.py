"""How the application page shows its frames: table views, their column titles, the chart
bucket for a window, the stat cards and the notes above the page and under the hitmap."""

from __future__ import annotations

import datetime as dt

import panel as pn
import polars as pl

from workbench.analyses import apm
from workbench.ui.common import format_count, format_range, stat

__all__ = [
    "SUMMARY_TITLES",
    "TX_TITLES",
    "bucket_for",
    "cards",
    "empty_summary",
    "scope_note",
    "selection_note",
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


def scope_note(where: str, start: dt.datetime | None, end: dt.datetime | None, *, spans: int, transactions: int,
               services: int) -> str:  # fmt: skip
    """The line above the page: how many transactions the scope holds, or why there are none."""
    if not spans:
        return (
            f"No spans in this scope ({where}, {format_range(start, end)}): its services are not "
            "instrumented, or no traces were collected for it."
        )
    if not transactions:
        return f"No transaction finished in {where}, {format_range(start, end)}."
    return f"{format_count(transactions)} transactions of {services} services in {where}, {format_range(start, end)}."


def selection_note(n: int, errors: int, service: str,
                   box: tuple[dt.datetime, dt.datetime, float, float], *, shown: int) -> str:  # fmt: skip
    """What a box selected: how many transactions (``n``, of which the slowest ``shown`` are
    listed) of which service, where, how many failed (``errors``)."""
    t0, t1, lo, hi = box
    more = f" (the slowest {shown} listed)" if n > shown else ""
    return (f"{n} transactions{more} of {service or 'all services'} finished {format_range(t0, t1)} in "
            f"{lo:.1f}–{hi:.1f} ms; {errors} failed.")  # fmt: skip


def cards(totals: pl.DataFrame, *, label: str, seconds: float) -> list[pn.pane.HTML]:
    """The stat cards of ``totals`` (``apm.summary`` rows: one service's, or the overall one):
    transactions, TPS over ``seconds``, error rate, p90 and p99."""
    n, errors = int(totals["transactions"].sum()), int(totals["errors"].sum())
    row = totals.row(0, named=True) if totals.height == 1 else None
    return [
        stat("Transactions", format_count(n), detail=label),
        stat("TPS", f"{n / seconds:.2f}/s" if seconds else "–", detail="mean over the window"),
        stat("Error rate", f"{100 * errors / n:.2f}%" if n else "–", detail=f"{format_count(errors)} errors",
             tone="bad" if n and errors / n > 0.01 else "neutral"),
        stat("p90 response", f"{row['rt_p90_ms']:.0f} ms" if row else "–", detail=label),
        stat("p99 response", f"{row['rt_p99_ms']:.0f} ms" if row else "–", detail=label),
    ]  # fmt: skip
