"""The lines of an APM chart (``viz.apm.metric_lines``, what ``metric_curves`` draws and what
the application page draws in place): one per group, the busiest ``max_groups`` in name order,
checked against a plain Python grouping of random frames."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import holoviews as hv
import numpy as np
import polars as pl
import pytest

from workbench.viz import apm as apm_viz

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _frame(seed: int, groups: int, *, clusters: int = 1) -> pl.DataFrame:
    """A ``series``-like frame: cluster, service, ts and a metric with some nulls, rows shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(groups):
        for b in rng.choice(30, size=int(rng.integers(1, 30)), replace=False):
            tps = None if rng.random() < 0.1 else float(rng.uniform(0, 5))
            rows.append({"cluster": f"c{g % clusters}", "service": f"s{g:02d}", "ts": T0 + dt.timedelta(minutes=int(b)),
                         "tps": tps, "errors": int(rng.integers(0, 4))})  # fmt: skip
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=seed)


def _reference(frame: pl.DataFrame, metric: str, max_groups: int) -> tuple[str, list[tuple[str, list, list]]]:
    keys = [c for c in ("cluster", "service") if frame[c].n_unique() > 1]
    parts: dict[str, list[tuple[dt.datetime, float | None]]] = defaultdict(list)
    for r in frame.iter_rows(named=True):
        parts[" / ".join(r[k] for k in keys) if keys else "all"].append((r["ts"], r[metric]))
    total = {g: sum(v for _, v in p if v is not None) for g, p in parts.items()}
    ranked = sorted(parts, key=lambda g: (-total[g], g))
    title = apm_viz.METRICS[metric] + (
        f" (top {max_groups} of {len(ranked)})" if len(ranked) > max_groups else ""
    )
    out = []
    for g in sorted(ranked[:max_groups]):
        points = sorted(parts[g])
        out.append(
            (g, [t.replace(tzinfo=None) for t, _ in points], [np.nan if v is None else v for _, v in points])
        )
    return title, out


@pytest.mark.parametrize(("seed", "groups", "clusters", "max_groups"), [(1, 1, 1, 20), (2, 7, 1, 20), (3, 25, 1, 20),
                                                                        (4, 9, 3, 4), (5, 6, 2, 20)])  # fmt: skip
def test_metric_lines_group_rank_and_order_as_a_plain_grouping(seed: int, groups: int, clusters: int,
                                                                max_groups: int) -> None:  # fmt: skip
    frame = _frame(seed, groups, clusters=clusters)
    for metric in ("tps", "errors"):
        drawn = apm_viz.metric_lines(frame, metric, max_groups=max_groups)
        title, want = _reference(frame, metric, max_groups)
        assert (drawn.metric, drawn.label, drawn.title) == (metric, apm_viz.METRICS[metric], title)
        assert [name for name, _, _ in drawn.lines] == [name for name, _, _ in want]
        for (_, ts, values), (_, want_ts, want_values) in zip(drawn.lines, want, strict=True):
            assert ts.dtype == np.dtype("datetime64[us]") and values.dtype == np.float64
            np.testing.assert_array_equal(ts, np.array(want_ts, dtype="datetime64[us]"))
            np.testing.assert_array_equal(values, np.array(want_values, dtype=float))


def test_metric_curves_draw_the_lines() -> None:
    frame = _frame(6, 4)
    overlay = apm_viz.metric_curves(frame, "tps", title="TPS")
    drawn = apm_viz.metric_lines(frame, "tps", title="TPS")
    curves = list(overlay.values())
    assert [c.label for c in curves] == [name for name, _, _ in drawn.lines]
    for curve, (_, ts, values) in zip(curves, drawn.lines, strict=True):
        np.testing.assert_array_equal(curve.dimension_values("ts"), ts)
        np.testing.assert_array_equal(curve.dimension_values("tps"), values)
    empty = apm_viz.metric_lines(frame.head(0), "tps")
    assert empty.lines == [] and empty.title == apm_viz.METRICS["tps"]
    assert isinstance(apm_viz.metric_curves(frame.head(0), "tps").get(0), hv.Curve)
    with pytest.raises(ValueError, match="no column 'rt_p50_ms'"):
        apm_viz.metric_lines(frame, "rt_p50_ms")


def test_the_error_rate_axis_says_it_is_a_fraction() -> None:
    """Error rates are plotted as shares (0–1) while tables and cards show percent: the value
    axis says which, in the notebooks' chart and in the page's lines."""
    frame = _frame(3, 2).with_columns((pl.col("errors") / 10).alias("error_rate"))
    rendered = hv.render(apm_viz.error_curve(frame), backend="bokeh")
    assert rendered.yaxis[0].axis_label == "error rate (fraction)"
    assert apm_viz.metric_lines(frame, "error_rate").title == "error rate (fraction)"


def test_the_value_axis_labels_fit_the_charts() -> None:
    """A value-axis label longer than its chart allows is cut at the chart's top (the page
    showed "p90 response time (m" at 220 px): the label, centred on the plot area, may take the
    chart's height less the time axis below it (tick labels, date, "time (UTC)": about 70 px).
    Label lengths are estimated at 8 px a character, as measured on the served page (the 22
    characters of "p90 response time (ms)" took 177 px)."""
    frame = _frame(3, 2).with_columns(pl.col("tps").alias("rt_p90_ms"))
    rendered = hv.render(apm_viz.rt_curve(frame, stat="rt_p90_ms"), backend="bokeh")
    assert rendered.yaxis[0].axis_label == "p90 response time (ms)"
    room = rendered.height - 70
    assert max(len(label) for label in apm_viz.METRICS.values()) * 8 <= room
