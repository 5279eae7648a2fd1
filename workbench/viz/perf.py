"""Charts for the performance browser (HoloViews, bokeh; no widgets): one panel per metric,
one line per pod, on a shared time axis.

>>> from workbench.analyses import perf
>>> from workbench.viz import perf as fv
>>> fv.metric_grid(perf.browse(ds, workload="checkout").data)     # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

from workbench.analyses.perf import METRICS

__all__ = ["metric_grid", "summary_table"]

_SCALE = {"bytes": (2**20, "MiB"), "bytes/s": (1024, "KiB/s")}
_COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"]


def metric_grid(data: pl.DataFrame, *, cols: int = 2) -> hv.Layout | hv.Text:
    """A panel per metric (in catalogue order) with a line per pod (the same colour for a pod
    in every panel); requests and limits are dashed steps, event counts steps. Axes are shared
    in time."""
    if data.is_empty():
        return hv.Text(0, 0, "no data").opts(title="Performance", xaxis=None, yaxis=None, toolbar=None)
    pods = sorted(data["pod"].unique().to_list())
    color = {p: _COLORS[i % len(_COLORS)] for i, p in enumerate(pods)}
    panels = []
    for metric in [m for m in METRICS if m in set(data["metric"])]:
        d = data.filter(pl.col("metric") == metric).sort("pod", "ts")
        unit = d["unit"][0]
        div, shown = _SCALE.get(unit, (1, unit))
        d = d.with_columns((pl.col("value") / div).alias(shown))
        title = f"{metric.replace('_', ' ')} ({shown})"
        interp = "steps-post" if metric.endswith(("_request", "_limit")) or metric.startswith("events_") else "linear"
        dash = "dashed" if metric.endswith(("_request", "_limit")) else "solid"
        el = hv.Overlay([hv.Curve(g.select("ts", shown, "pod").to_pandas(), "ts", [shown, "pod"], label=str(p))
                         .opts(interpolation=interp, line_dash=dash, color=color[p], tools=["hover"])
                         for (p,), g in d.group_by(["pod"], maintain_order=True)])  # fmt: skip
        first = not panels
        tall = len(panels) < cols  # the first row makes room for the legend under the first panel
        panels.append(el.opts(title=title, responsive=True, height=230 + (24 * ((len(pods) + 1) // 2) if tall else 0),
                              min_width=320, show_grid=True, show_legend=first, legend_position="bottom",
                              legend_cols=2))  # fmt: skip
    return hv.Layout(panels).cols(cols).opts(shared_axes=True)


def summary_table(summary: pl.DataFrame) -> hv.Table:
    """The summary (per pod and metric: mean, p95, max, last), numbers rounded for reading."""
    d = summary.with_columns(pl.col("mean", "p95", "max", "last").round(2))
    return hv.Table(d.drop("cluster").to_pandas()).opts(height=min(700, 60 + 26 * max(d.height, 1)), width=1000)
