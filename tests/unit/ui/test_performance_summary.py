"""The performance page's summary table: values in the unit its ``unit`` column names (the
charts' units: bytes in MiB, bytes/s in KiB/s)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.analyses import perf
from workbench.ui.performance import format_number, summary_view
from workbench.viz.perf import metric_grid


def _summary() -> pl.DataFrame:
    rows = [
        ("p-1", "memory_usage", "bytes", 187.4 * 2**20, 190 * 2**20, 1.5 * 2**30, 2**20 / 2),
        ("p-1", "cpu_usage", "millicores", 65.24, 120.0, 300.0, None),
        ("p-1", "network_rx", "bytes/s", 31.5 * 1024, 40 * 1024, 43.0 * 1024, 12_345 * 1024),
        ("p-1", "cpu_throttled", "%", 0.0, 81.23, 83.0, 0.004),
    ]
    frame = pl.DataFrame(
        [(*r, 10, "c") for r in rows],
        schema=["pod", "metric", "unit", "mean", "p95", "max", "last", "samples", "cluster"],
        orient="row",
    )
    return frame.cast({c: t for c, t in perf.SUMMARY_COLUMNS.items() if c in frame.columns})


def test_values_are_in_the_unit_the_unit_column_names() -> None:
    view = summary_view(_summary(), clusters=False)
    assert "cluster" not in view.columns
    got = {
        r["metric"]: (r["unit"], r["mean"], r["p95"], r["max"], r["last"]) for r in view.iter_rows(named=True)
    }
    assert got == {
        "memory_usage": ("MiB", "187", "190", "1,536", "0.5"),
        "cpu_usage": ("millicores", "65.2", "120", "300", ""),
        "network_rx": ("KiB/s", "31.5", "40", "43", "12,345"),
        "cpu_throttled": ("%", "0", "81.2", "83", "0.004"),
    }
    assert summary_view(_summary(), clusters=True)["cluster"].to_list() == ["c"] * 4


def test_the_summary_speaks_the_charts_units() -> None:
    """The unit column names what the charts' titles do (e.g. "memory usage (MiB)")."""
    frame = _summary()
    long = pl.DataFrame(
        {
            "cluster": "c", "namespace": "n", "pod": "p-1", "metric": frame["metric"], "unit": frame["unit"],
            "ts": dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC), "value": frame["mean"],
        }
    )  # fmt: skip
    titles = {el.opts.get().kwargs["title"] for el in metric_grid(long).values()}
    view = summary_view(frame, clusters=False)
    assert titles == {f"{m.replace('_', ' ')} ({u})" for m, u in view.select("metric", "unit").iter_rows()}


def test_numbers() -> None:
    cases = {
        None: "",
        0.0: "0",
        5.0: "5",
        0.5: "0.5",
        1.234: "1.23",
        12.34: "12.3",
        123.4: "123",
        12345.6: "12,346",
    }
    assert {v: format_number(v) for v in cases} == cases
