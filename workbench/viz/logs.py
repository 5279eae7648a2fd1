"""Charts of the log explorer and log patterns (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import logs, patterns
>>> from workbench.viz import logs as logs_viz
>>> logs_viz.volume_chart(logs.volume(ds, step="1m"), bursts=logs.error_bursts(ds))  # doctest: +SKIP
>>> logs_viz.facet_bars(logs.facets(ds), "namespace")                                # doctest: +SKIP
>>> logs_viz.pattern_timeline(patterns.pattern_counts(ds, step="5m"), patterns.patterns(ds))  # doctest: +SKIP

Empty input gives an empty chart with the right axes, never an error. The volume chart also comes
as a Bokeh figure that a served page builds once and redraws in place for every scope
(:mod:`workbench.viz._figures`): :class:`VolumeChart`.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem

from workbench.viz._figures import PAD, fit, fit_time, ms, time_figure

__all__ = ["LEVEL_COLORS", "VolumeChart", "facet_bars", "pattern_timeline", "volume_chart"]

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
    volume: pl.DataFrame, *, bursts: pl.DataFrame | None = None, title: str = "Log volume by level"
) -> hv.Overlay:
    """Lines per time bucket, stacked by level (ERROR and FATAL on top), from
    :func:`workbench.analyses.logs.volume`; error bursts (``logs.error_bursts``) are shaded."""
    layers = _layers(volume)
    if layers:
        ts, stacks = _stack(volume, layers)
        areas = []
        for lv, (base, top) in zip(layers, stacks, strict=True):
            frame = pl.DataFrame({"ts": ts, "count": top, "Baseline": base})
            area = hv.Area(frame.to_pandas(), "ts", [("count", "lines"), "Baseline"], label=lv)
            areas.append(
                area.opts(backend="bokeh", color=LEVEL_COLORS[lv], line_width=0, tools=["hover"], **_SIZE)
            )
        chart = hv.Overlay(areas)
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


def _layers(volume: pl.DataFrame) -> list[str]:
    """The levels of ``volume``, in stacking order (least severe first)."""
    present = set() if volume.is_empty() else set(volume["level"].to_list())
    return [lv for lv in LEVEL_COLORS if lv in present]


def _stack(volume: pl.DataFrame, layers: list[str]) -> tuple[pl.Series, list[tuple[pl.Series, pl.Series]]]:
    """The buckets (``ts``, sorted) and per level of ``layers`` its ``(bottom, top)``, stacked in
    that order as ``hv.Area.stack`` stacks them (the top is the running total up to the level,
    the bottom the total below it; buckets without lines of a level count 0)."""
    wide = (
        volume.select("ts", "level", "count")
        .pivot(on="level", index="ts", values="count", aggregate_function="sum")
        .sort("ts")
    )
    base = pl.repeat(0, wide.height, dtype=pl.Int64, eager=True)
    stacks = []
    for lv in layers:
        level = wide.get_column(lv).fill_null(0).cast(pl.Int64) if lv in wide.columns else base * 0
        top = base + level
        stacks.append((base, top))
        base = top
    return wide["ts"], stacks


class VolumeChart:
    """:func:`volume_chart` as a Bokeh figure redrawn in place by :meth:`draw`: an area per
    level (those without lines hidden, and out of the legend), the legend shown for two levels or
    more as HoloViews shows it, the error bursts shaded. Hover names the level and gives its
    lines in the bucket under the mouse (the HoloViews chart's hover names columns its areas do
    not have)."""

    def __init__(self, *, title: str = "Log volume by level") -> None:
        self.figure = time_figure(title, xlabel="time (UTC)", ylabel="lines", height=_SIZE["height"],
                                  min_width=_SIZE["min_width"])  # fmt: skip
        self.sources = {lv: ColumnDataSource(_no_area()) for lv in LEVEL_COLORS}
        self.areas = {
            lv: self.figure.varea(x="ts", y1="bottom", y2="top", source=self.sources[lv], fill_color=color,
                                  muted_alpha=0.2, name=lv, visible=False)
            for lv, color in LEVEL_COLORS.items()
        }  # fmt: skip
        self.legend = Legend(items=[LegendItem(label=lv, renderers=[r], visible=False) for lv, r in self.areas.items()],
                             location=(0, 0), click_policy="mute", visible=False)  # fmt: skip
        self.figure.add_layout(self.legend, "right")
        self.bursts = ColumnDataSource({"start": np.empty(0), "end": np.empty(0)})
        self.figure.vstrip(x0="start", x1="end", source=self.bursts, fill_color=BURST_COLOR, fill_alpha=0.15,
                           line_color=BURST_COLOR, line_alpha=0.15)  # fmt: skip
        self.figure.add_tools(HoverTool(renderers=list(self.areas.values()), formatters={"@ts": "datetime"},
                                        tooltips=[("level", "$name"), ("ts", "@ts{%F %T}"), ("lines", "@count")]))  # fmt: skip
        self.figure.output_backend = "webgl"  # as HoloViews draws

    def draw(self, volume: pl.DataFrame, *, bursts: pl.DataFrame | None = None) -> None:
        """Draw ``volume`` and ``bursts`` as :func:`volume_chart` does."""
        layers = _layers(volume)
        ts, stacks = _stack(volume, layers) if layers else (pl.Series("ts", []), [])
        x = ms(ts) if layers else np.empty(0)
        drawn = dict(zip(layers, stacks, strict=True))
        for lv, area in self.areas.items():
            if lv in drawn:
                base, top = (s.cast(pl.Float64).to_numpy() for s in drawn[lv])
                self.sources[lv].data = {"ts": x, "bottom": base, "top": top, "count": top - base}
            elif len(self.sources[lv].data["ts"]):
                self.sources[lv].data = _no_area()
            if area.visible != (lv in drawn):
                area.visible = lv in drawn
        for item in self.legend.items:
            item.visible = item.renderers[0].visible
        self.legend.visible = len(layers) > 1  # HoloViews draws no legend for one entry
        if bursts is not None and not bursts.is_empty():
            self.bursts.data = {"start": ms(bursts["start"]), "end": ms(bursts["end"])}
        elif len(self.bursts.data["start"]):
            self.bursts.data = {"start": np.empty(0), "end": np.empty(0)}
        if layers:  # the areas span their buckets, from 0 to the top, padded as HoloViews pads
            fit_time(self.figure.x_range, float(x[0]), float(x[-1]))
            fit(self.figure.y_range, 0.0, float(stacks[-1][1].max()), pad=PAD)  # type: ignore[arg-type]
        else:  # HoloViews' empty area
            self.figure.x_range.update(start=0.0, end=1.0, reset_start=0.0, reset_end=1.0)
            self.figure.y_range.update(start=-0.5, end=0.5, reset_start=-0.5, reset_end=0.5)


def _no_area() -> dict[str, np.ndarray]:
    return {k: np.empty(0) for k in ("ts", "bottom", "top", "count")}


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
