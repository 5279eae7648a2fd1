"""Charts of the log explorer and log patterns (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import logs, patterns
>>> from workbench.viz import logs as logs_viz
>>> logs_viz.volume_chart(logs.volume(ds, step="1m"), bursts=logs.error_bursts(ds))  # doctest: +SKIP
>>> logs_viz.facet_bars(logs.facets(ds), "namespace")                                # doctest: +SKIP
>>> logs_viz.pattern_timeline(patterns.pattern_counts(ds, step="5m"), patterns.patterns(ds))  # doctest: +SKIP

Empty input gives an empty chart with the right axes, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["LEVEL_COLORS", "facet_bars", "pattern_timeline", "volume_chart"]

#: Colour of each log level, least severe first (the stacking order).
LEVEL_COLORS: dict[str, str] = {
    "TRACE": "#bdbdbd",
    "DEBUG": "#90caf9",
    "INFO": "#1e88e5",
    "UNKNOWN": "#9e9e9e",
    "WARN": "#fb8c00",
    "ERROR": "#e53935",
    "FATAL": "#7f0000",
}
BURST_COLOR = "#e53935"
_SIZE = {"responsive": True, "min_width": 300, "height": 250, "show_grid": True}


def _short(text: str | None, n: int = 60) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def volume_chart(
    volume: pl.DataFrame,
    *,
    bursts: pl.DataFrame | None = None,
    title: str = "Log volume by level",
    levels: Iterable[str] | None = None,
) -> hv.Overlay:
    """Lines per time bucket, stacked by level (ERROR and FATAL on top), from
    :func:`workbench.analyses.logs.volume`; error bursts (``logs.error_bursts``) are shaded.

    ``levels``: levels to give a layer even when they have no lines here, hidden (not drawn, not
    in the legend): the chart looks the same, and charts of several scopes given the same
    ``levels`` have the same layers, so a page draws each into the plot it shows
    (:class:`workbench.ui._refresh.Redrawn`). Unused when at most one level has lines (an
    overlay of one legend entry is drawn anew)."""
    present = set() if volume.is_empty() else set(volume["level"].to_list())
    layers = [lv for lv in LEVEL_COLORS if lv in present]
    hidden = levels is not None and len(layers) > 1  # every layer says whether it is shown
    if hidden:
        extra = set(levels or ())
        layers = [lv for lv in LEVEL_COLORS if lv in present or lv in extra]
    if layers:
        chart = hv.Overlay(_stacked(volume, layers))
        for area, lv in zip(chart, layers, strict=True):
            shown = {"visible": lv in present} if hidden else {}
            area.opts(
                backend="bokeh", color=LEVEL_COLORS[lv], line_width=0, tools=["hover"], **shown, **_SIZE
            )
    else:
        chart = hv.Overlay([hv.Area([], "ts", ("count", "lines")).opts(backend="bokeh", **_SIZE)])
    if bursts is not None and not bursts.is_empty():
        spans = [
            hv.VSpan(s, e).opts(backend="bokeh", color=BURST_COLOR, alpha=0.15)
            for s, e in bursts.select("start", "end").iter_rows()
        ]
        chart = chart * hv.Overlay(spans)
    return chart.opts(
        backend="bokeh", title=title, legend_position="right", xlabel="time (UTC)", ylabel="lines", **_SIZE
    )


def _stacked(volume: pl.DataFrame, layers: list[str]) -> list[hv.Area]:
    """One area per level of ``layers``, stacked in that order, as ``hv.Area.stack`` stacks
    them (each one's ``count`` is the running total up to it and ``Baseline`` the total below
    it; buckets without lines of a level count 0), computed in one frame."""
    wide = (
        volume.select("ts", "level", "count")
        .pivot(on="level", index="ts", values="count", aggregate_function="sum")
        .sort("ts")
    )
    base = pl.repeat(0, wide.height, dtype=pl.Int64, eager=True)
    areas = []
    for lv in layers:
        level = wide.get_column(lv).fill_null(0).cast(pl.Int64) if lv in wide.columns else base * 0
        top = base + level
        frame = pl.DataFrame({"ts": wide["ts"], "count": top, "Baseline": base})
        areas.append(hv.Area(frame.to_pandas(), "ts", [("count", "lines"), "Baseline"], label=lv))
        base = top
    return areas


def facet_bars(
    facets: pl.DataFrame, facet: str = "level", *, top: int = 15, title: str | None = None
) -> hv.Bars:
    """Horizontal bars of one facet (``level``, ``namespace``, ``pod``, ``container``,
    ``category``, ``field`` or ``field:<key>``) from :func:`workbench.analyses.logs.facets`,
    most frequent on top; categories are labelled by their template."""
    data = (
        facets.filter(pl.col("facet") == facet).sort(["count", "value"], descending=[True, False]).head(top)
    )
    if data.is_empty():
        data = pl.DataFrame({"name": ["(none)"], "count": [0], "value": [""]})
    else:
        label = pl.coalesce(pl.col("label"), pl.col("value")) if "label" in data.columns else pl.col("value")
        data = data.with_columns(label.map_elements(_short, return_dtype=pl.String).alias("name"))
        # two patterns could share a shortened template: keep bars distinct
        data = data.with_columns(
            pl.when(pl.col("name").is_duplicated())
            .then(pl.format("{} [{}]", "name", "value"))
            .otherwise("name")
            .alias("name")
        )
    data = data.reverse()
    color = LEVEL_COLORS.get
    colors = (
        [color(v, "#1e88e5") for v in data["value"].to_list()]
        if facet == "level"
        else ["#1e88e5"] * data.height
    )
    frame = data.select("name", "count", "value").with_columns(pl.Series("color", colors))
    bars = hv.Bars(frame.to_pandas(), kdims=["name"], vdims=["count", "value", "color"])
    return bars.opts(
        backend="bokeh",
        invert_axes=True,
        color="color",
        tools=["hover"],
        xlabel="",
        ylabel="lines",
        title=title or f"Lines by {facet}",
        height=max(160, 60 + 24 * frame.height),
        responsive=True,
        min_width=300,
        show_grid=True,
    )


def pattern_timeline(
    counts: pl.DataFrame,
    patterns: pl.DataFrame | None = None,
    *,
    top: int = 8,
    title: str = "Log patterns over time",
) -> hv.Overlay:
    """Lines per bucket of the ``top`` most frequent patterns (one curve each), from
    :func:`workbench.analyses.patterns.pattern_counts`; ``patterns`` (``patterns.patterns``)
    names the curves by template."""
    curves = []
    if not counts.is_empty():
        ranked = (
            counts.group_by("pattern_id")
            .agg(pl.col("count").sum())
            .sort(["count", "pattern_id"], descending=[True, False])
            .head(top)["pattern_id"]
            .to_list()
        )
        names = {}
        if patterns is not None and not patterns.is_empty():
            names = dict(patterns.select("pattern_id", "template").iter_rows())
        buckets = counts.select("ts").unique().sort("ts")
        for pid in ranked:
            part = buckets.join(
                counts.filter(pl.col("pattern_id") == pid).select("ts", "count"), on="ts", how="left"
            )
            part = part.with_columns(pl.col("count").fill_null(0)).to_pandas()
            curves.append(hv.Curve(part, "ts", ("count", "lines"), label=_short(names.get(pid, pid), 50)))
    if not curves:
        curves = [hv.Curve([], "ts", ("count", "lines"))]
    curves = [c.opts(backend="bokeh", tools=["hover"], line_width=1.6, **_SIZE) for c in curves]
    return hv.Overlay(curves).opts(
        backend="bokeh", title=title, legend_position="right", xlabel="time (UTC)", ylabel="lines", **_SIZE
    )
