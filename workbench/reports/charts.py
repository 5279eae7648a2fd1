"""Charts of the post-mortem report (HoloViews, bokeh; no widgets): the timeline of what
happened, and the key metrics of a suspect with the window marked.

>>> from workbench.reports import charts
>>> charts.timeline_chart(result.timeline, start=sc.start, end=sc.end)          # doctest: +SKIP
>>> charts.key_metrics_chart(pm.key_metrics(ds, suspect, sc), start=sc.start, end=sc.end)  # doctest: +SKIP

Hover text comes from the data (object names, event messages); Bokeh's hover tool shows
field values as text (``@field``, never ``{safe}``), so it is never rendered as HTML.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["SIGNAL_COLORS", "key_metrics_chart", "timeline_chart"]

_PALETTE = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#6d4c41", "#ad1457", "#546e7a",
            "#9e9d24"]  # fmt: skip
#: Colours of the triage signals (others take the palette in order).
SIGNAL_COLORS: dict[str, str] = {
    "manifest_change": "#6a1b9a",
    "warning_event": "#ef6c00",
    "metric_anomaly": "#1565c0",
    "restarts": "#c62828",
    "oom_killed": "#7f0000",
    "pending_pods": "#9e9d24",
    "error_burst": "#e53935",
    "new_log_pattern": "#ad1457",
    "throttling": "#00838f",
    "node_not_ready": "#4e342e",
}
_LEGEND = {"label_text_font_size": "8pt", "glyph_height": 10, "label_height": 10, "spacing": 0, "padding": 2}
_WINDOW = {"color": "#fff59d", "alpha": 0.35}
_MARK = {"color": "#c62828", "line_dash": "dashed", "line_width": 1.5}


def _short(text: Any, n: int = 140) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _placeholder(title: str, text: str) -> hv.Div:
    """A note in place of an empty chart (escaped: titles may hold cluster names)."""
    body = f"<p><b>{html.escape(title)}</b>: {html.escape(text)}</p>"
    return hv.Div(body).opts(height=40, sizing_mode="stretch_width")


def _naive(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t


def _window(start: dt.datetime | None, end: dt.datetime | None) -> list[hv.Element]:
    if start is None or end is None:
        return []
    return [hv.VSpan(_naive(start), _naive(end)).opts(**_WINDOW)]


def timeline_chart(
    timeline: pl.DataFrame,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    mark: dt.datetime | None = None,
    title: str = "What happened when",
) -> hv.Overlay | hv.Div:
    """One row per signal (manifest changes, Warning events, metric anomalies, restarts, pending
    pods, log bursts…), a dot per timeline entry at its time; hover shows the object and the
    detail. The window is shaded; ``mark`` (e.g. the top suspect's first sign) is a dashed line."""
    need = {"time", "signal"}
    if timeline.is_empty() or not need <= set(timeline.columns):
        return _placeholder(title, "nothing happened in the window")
    d = timeline.filter(pl.col("time").is_not_null()).with_columns(
        pl.col("time").dt.replace_time_zone(None).alias("time"),
        pl.col("signal").cast(pl.String),
        *(pl.col(c).cast(pl.String).fill_null("").map_elements(_short, return_dtype=pl.String).alias(c)
          for c in ("object", "detail") if c in timeline.columns),
    )  # fmt: skip
    for c in ("object", "detail"):
        if c not in d.columns:
            d = d.with_columns(pl.lit("").alias(c))
    signals = sorted(d["signal"].unique().to_list())
    extra = iter(_PALETTE)
    colors = {s: SIGNAL_COLORS.get(s) or next(extra, "#757575") for s in signals}
    vdims = ["signal", "object", "detail"]
    dots = [
        hv.Scatter(
            d.filter(pl.col("signal") == s).select("time", *vdims).to_pandas(), "time", vdims, label=s
        ).opts(color=colors[s], size=9, alpha=0.8, tools=["hover"], line_color="white")
        for s in signals
    ]
    layers: list[hv.Element] = [*_window(start, end), *dots]
    if mark is not None:
        layers.append(hv.VLine(_naive(mark)).opts(**_MARK))
    return hv.Overlay(layers).opts(
        title=title, responsive=True, min_width=400, height=max(220, 60 + 34 * len(signals)), show_grid=True,
        xlabel="time (UTC)", ylabel="", legend_position="right", show_legend=False,
    )  # fmt: skip


def key_metrics_chart(
    data: pl.DataFrame,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    mark: dt.datetime | None = None,
    title: str = "",
    cols: int = 1,
    max_series: int = 8,
) -> hv.Layout | hv.Div:
    """A panel per metric of :func:`workbench.reports.post_mortem.key_metrics`, a line per
    series (pod, service or node; at most ``max_series``, the same colour in every panel; a
    legend beside panels with several), the window shaded and ``mark`` as a dashed line."""
    if data.is_empty():
        return _placeholder(title or "Key metrics", "no metrics for this suspect")
    d = data.with_columns(pl.col("ts").dt.replace_time_zone(None))
    names = sorted(d["series"].unique().to_list())[:max_series]
    color = {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(names)}
    panels = []
    for (metric, unit), g in d.filter(pl.col("series").is_in(names)).group_by(
        ["metric", "unit"], maintain_order=True
    ):
        curves = [
            hv.Curve(s.sort("ts").select("ts", "value").to_pandas(), "ts", ("value", str(unit)), label=str(name))
            .opts(color=color[str(name)], line_width=2, tools=["hover"])
            for (name,), s in g.group_by(["series"], maintain_order=True)
        ]  # fmt: skip
        layers: list[hv.Element] = [*_window(start, end), *curves]
        if mark is not None:
            layers.append(hv.VLine(_naive(mark)).opts(**_MARK))
        label = f"{title}: {metric}" if title else str(metric)
        panels.append(hv.Overlay(layers).opts(title=f"{label} ({unit})", responsive=True, min_width=320, height=170,
                                              show_grid=True, xlabel="", ylabel=str(unit),
                                              show_legend=len(curves) > 1, legend_position="right",
                                              legend_opts=_LEGEND))  # fmt: skip
    panels[-1] = panels[-1].opts(xlabel="time (UTC)", height=195)
    return hv.Layout(panels).cols(cols).opts(shared_axes=False)
