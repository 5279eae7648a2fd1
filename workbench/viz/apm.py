"""Charts of application performance over time (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import apm
>>> from workbench.viz import apm as apm_viz
>>> s = apm.series(ds, bucket="1m")                                   # doctest: +SKIP
>>> apm_viz.dashboard(s, apm.active_series(ds, bucket="1m"))          # doctest: +SKIP

Every builder takes the analysis frame as is and draws one line per group (the ``by`` columns
of the analysis, i.e. every column that is not a metric); empty input gives an empty chart
with the right axes, never an error.
"""

from __future__ import annotations

import dataclasses

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl

from workbench.analyses.apm import ACTIVE_SERIES_COLUMNS, SERIES_COLUMNS

__all__ = [
    "METRICS",
    "Lines",
    "active_curve",
    "dashboard",
    "error_curve",
    "metric_curves",
    "metric_lines",
    "rt_curve",
    "tps_curve",
]

#: Metric column → axis label.
METRICS: dict[str, str] = {
    "tps": "TPS (transactions/s)",
    "transactions": "transactions",
    "errors": "errors",
    "error_rate": "error rate (fraction)",
    "rt_mean_ms": "mean response time (ms)",
    "rt_p50_ms": "p50 response time (ms)",
    "rt_p90_ms": "p90 response time (ms)",
    "rt_p99_ms": "p99 response time (ms)",
    "rt_max_ms": "max response time (ms)",
    "active": "active transactions",
    "active_mean": "mean active transactions",
}
_VALUE_COLUMNS = set(SERIES_COLUMNS) | set(ACTIVE_SERIES_COLUMNS)
#: Height of a :func:`metric_curves` chart: room for the longest value-axis label of
#: :data:`METRICS` beside the plot area (at 220 px Bokeh cut it: "p90 response time (m").
CHART_HEIGHT = 270


def _groups(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in _VALUE_COLUMNS]


@dataclasses.dataclass(frozen=True)
class Lines:
    """What a metric chart draws (:func:`metric_lines`): its title and axis label, and one line
    per group shown (at most ``max_groups``), in name order: ``(name, ts, values)`` with ``ts``
    as ``datetime64[us]`` (UTC) and ``values`` as floats (NaN where the metric is null)."""

    metric: str
    label: str
    title: str
    lines: list[tuple[str, np.ndarray, np.ndarray]]


def metric_lines(
    frame: pl.DataFrame, metric: str, *, title: str | None = None, max_groups: int = 20
) -> Lines:
    """The lines of ``metric`` over ``ts``, one per group (the ``max_groups`` groups with the
    largest total first; the rest are left out and named in the title): what
    :func:`metric_curves` draws, as arrays (a page redrawing a chart in place uses them)."""
    if metric not in frame.columns:
        msg = f"no column {metric!r} in this frame; it has {', '.join(frame.columns)}"
        raise ValueError(msg)
    label = METRICS.get(metric, metric)
    # a group column with one value (e.g. the only cluster) says nothing in a legend
    groups = [g for g in _groups(frame) if frame[g].n_unique() > 1] if frame.height else []
    title = title or label
    lines: list[tuple[str, np.ndarray, np.ndarray]] = []
    if not frame.is_empty():
        key = (
            pl.concat_str([pl.col(g).fill_null("-") for g in groups], separator=" / ")
            if groups
            else pl.lit("all")
        )
        data = frame.select(key.alias("_group"), "ts", pl.col(metric).cast(pl.Float64))
        ranked = (
            data.group_by("_group")
            .agg(pl.col(metric).sum().alias("_t"))
            .sort(["_t", "_group"], descending=[True, False], nulls_last=True)["_group"]
            .to_list()
        )
        if len(ranked) > max_groups:
            title = f"{title} (top {max_groups} of {len(ranked)})"
        shown = sorted(ranked[:max_groups])
        parts = (
            data.filter(pl.col("_group").is_in(shown))
            .sort("_group", "ts")
            .partition_by("_group", as_dict=True, maintain_order=True)
        )
        for name in shown:
            part = parts[(name,)]
            ts = part["ts"].dt.replace_time_zone(None).to_numpy()
            lines.append((name, ts, part[metric].to_numpy().astype(float)))
    return Lines(metric, label, title, lines)


def metric_curves(
    frame: pl.DataFrame, metric: str, *, title: str | None = None, max_groups: int = 20
) -> hv.Overlay:
    """One ``hv.Curve`` of ``metric`` over ``ts`` per group, overlaid (the ``max_groups``
    groups with the largest total first; the rest are left out and named in the title)."""
    drawn = metric_lines(frame, metric, title=title, max_groups=max_groups)
    label = drawn.label
    curves = [hv.Curve((ts, values), "ts", (metric, label), label=name) for name, ts, values in drawn.lines]
    if not curves:
        curves = [hv.Curve([], "ts", (metric, label))]
    curves = [c.opts(backend="bokeh", tools=["hover"], line_width=1.6, show_grid=True) for c in curves]
    return hv.Overlay(curves).opts(
        backend="bokeh",
        title=drawn.title,
        legend_position="right",
        xlabel="time (UTC)",
        ylabel=label,
        responsive=True,
        min_width=300,
        height=CHART_HEIGHT,
    )


def tps_curve(series: pl.DataFrame, *, title: str = "TPS") -> hv.Overlay:
    """Transactions per second over time (:func:`workbench.analyses.apm.series`)."""
    return metric_curves(series, "tps", title=title)


def rt_curve(series: pl.DataFrame, *, stat: str = "rt_p90_ms", title: str | None = None) -> hv.Overlay:
    """A response-time statistic over time (``rt_mean_ms``, ``rt_p50_ms``, ``rt_p90_ms``…)."""
    return metric_curves(series, stat, title=title or METRICS.get(stat, stat))


def error_curve(series: pl.DataFrame, *, title: str = "Error rate") -> hv.Overlay:
    """The share of failed transactions over time."""
    return metric_curves(series, "error_rate", title=title)


def active_curve(
    active: pl.DataFrame, *, mean: bool = False, title: str = "Active transactions"
) -> hv.Overlay:
    """Transactions in flight over time (:func:`workbench.analyses.apm.active_series`):
    sampled at each bucket start, or the bucket's time average with ``mean=True``."""
    return metric_curves(active, "active_mean" if mean else "active", title=title)


def dashboard(
    series: pl.DataFrame, active: pl.DataFrame | None = None, *, stat: str = "rt_p90_ms"
) -> hv.Layout:
    """TPS, response time, error rate (and active transactions) stacked on one time axis."""
    parts = [tps_curve(series), rt_curve(series, stat=stat), error_curve(series)]
    if active is not None:
        parts.append(active_curve(active))
    return hv.Layout(parts).cols(1).opts(backend="bokeh", shared_axes=True)
