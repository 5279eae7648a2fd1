"""Charts for incident triage (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import triage
>>> from workbench.viz import triage as vt
>>> r = triage.triage(ds, start="2026-11-02T08:37Z", end="2026-11-02T09:12Z")   # doctest: +SKIP
>>> vt.score_bars(r)                                                           # doctest: +SKIP
>>> vt.timeline(r)                                                             # doctest: +SKIP

- :func:`score_bars`: one horizontal bar per suspect, best first, split into what each signal
  contributed (weight × the strongest evidence of that signal): the score, explained.
- :func:`timeline`: every piece of evidence at its time, one row per object it was seen on,
  coloured by signal, larger when stronger; the baseline and the incident window shaded.

Both also come as Bokeh figures that a served page builds once and redraws in place for every
scope (:mod:`workbench.viz._figures`): :class:`ScoreChart` and :class:`TimelineChart`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.core.properties import field
from bokeh.models import (
    BoxAnnotation,
    CategoricalColorMapper,
    ColumnDataSource,
    FactorRange,
    HoverTool,
    Legend,
    LegendItem,
)

from workbench.viz._figures import TOOLS, Shown, fit, ms, placeholder, styled_figure, time_figure

__all__ = ["SIGNAL_COLORS", "ScoreChart", "TimelineChart", "score_bars", "timeline"]

#: One colour per signal (causes warm, symptoms cool, explanations grey).
SIGNAL_COLORS: dict[str, str] = {
    "errors_caused": "#c62828", "latency_caused": "#ef6c00", "oom_killed": "#6a1b9a", "node_not_ready": "#37474f",
    "pending_pods": "#fbc02d", "restarts": "#ad1457", "failing_pods": "#f06292", "manifest_change": "#1565c0",
    "throttling": "#00838f", "metric_anomaly": "#2e7d32", "warning_events": "#8d6e63", "error_burst": "#e53935",
    "new_log_pattern": "#9ccc65", "latency_inherited": "#9e9e9e", "errors_inherited": "#bdbdbd",
}  # fmt: skip
_COMMON: dict[str, Any] = {"responsive": True, "min_width": 320, "show_grid": True, "toolbar": "above"}


def _empty(title: str) -> hv.Text:
    return hv.Text(0.5, 0.5, f"{title}: nothing found").opts(
        backend="bokeh", xaxis=None, yaxis=None, height=120, responsive=True, toolbar=None, title=title
    )


def _frames(result: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(suspects, evidence) of a TriageResult (or a pair of frames)."""
    if isinstance(result, tuple):
        return result  # type: ignore[return-value]
    return result.suspects, result.evidence


def _color(signal: str) -> str:
    return SIGNAL_COLORS.get(signal, "#757575")


def _score_parts(suspects: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    """Per suspect and signal: ``suspect`` ("#rank object"), ``signal``, ``points`` (weight ×
    the strongest evidence) and the suspect's ``score``; the worst suspect first (Bokeh stacks
    categories bottom-up), each suspect's largest part first (equal parts by signal name)."""
    return (
        evidence.group_by("rank", "object", "signal").agg((pl.col("score").max() * pl.col("weight").first()).alias("points"))
        .join(suspects.select("rank", "score"), on="rank")
        .with_columns(pl.format("#{} {}", pl.col("rank"), pl.col("object")).alias("suspect"))
        .sort("rank", "points", "signal", descending=[True, True, False])  # (ties by name: the same order each time)
        .select("suspect", "signal", "points", "score")
    )  # fmt: skip


def _score_height(suspects: int) -> int:
    return max(180, 70 + 34 * suspects)


_SCORE_TOOLTIPS = [
    ("suspect", "@suspect"),
    ("signal", "@signal"),
    ("adds", "@points{0.00}"),
    ("score", "@score{0.00}"),
]


def score_bars(result: Any, *, title: str = "Suspects: what each signal adds to the score") -> hv.Element:
    """Stacked horizontal bars: per suspect (best on top), weight × strongest evidence per signal."""
    suspects, evidence = _frames(result)
    if suspects.is_empty():
        return _empty(title)
    parts = _score_parts(suspects, evidence)
    order = parts["signal"].unique(maintain_order=True).to_list()
    bars = hv.Bars(parts.to_pandas(), kdims=["suspect", "signal"], vdims=["points", "score"], label=title)
    cmap = {s: _color(s) for s in order}
    return bars.opts(
        backend="bokeh", stacked=True, invert_axes=True, cmap=cmap, color="signal", tools=["hover"], xlabel="",
        ylabel="score", title=title, show_legend=True, height=_score_height(suspects.height),
        legend_position="bottom_right", hover_tooltips=_SCORE_TOOLTIPS, **_COMMON,
    )  # fmt: skip


def _stacked(parts: pl.DataFrame) -> dict[str, Any]:
    """The bars of :func:`score_bars` as HoloViews stacks them: the signals in order of first
    appearance, each signal's parts laid after what the signals before it added to the same
    suspect (``bottom`` to ``top``)."""
    order = parts["signal"].unique(maintain_order=True).to_list()
    rank = {s: i for i, s in enumerate(order)}
    rows = sorted(
        parts.iter_rows(named=True), key=lambda r: rank[r["signal"]]
    )  # stable: keeps the suspects' order
    base: dict[str, float] = {}
    bottom, top = [], []
    for r in rows:
        b = base.get(r["suspect"], 0.0)
        bottom.append(b)
        top.append(b + r["points"])
        base[r["suspect"]] = b + r["points"]
    cols = {k: [r[k] for r in rows] for k in ("suspect", "signal", "points", "score")}
    return {"bottom": np.array(bottom, dtype=float), "top": np.array(top, dtype=float), **cols,
            "color": cols["signal"]}  # fmt: skip


def _placeholder(title: str) -> Any:
    """What :func:`_empty` draws, as a Bokeh figure: the title and "nothing found", no axes."""
    return placeholder(title, f"{title}: nothing found", min_width=_COMMON["min_width"])


class ScoreChart(Shown):
    """:func:`score_bars` as a Bokeh figure redrawn in place by :meth:`draw` (a served page's
    filter change sends new bars, factors and colours instead of a new plot). ``figure`` shows
    the bars, ``placeholder`` says that nothing was found (see :class:`~workbench.viz._figures.Shown`)."""

    def __init__(self, *, title: str = "Suspects: what each signal adds to the score") -> None:
        self.title = title
        self.source = ColumnDataSource({"bottom": np.empty(0), "top": np.empty(0), "suspect": [], "signal": [],
                                        "points": np.empty(0), "score": np.empty(0), "color": []})  # fmt: skip
        self.mapper = CategoricalColorMapper(factors=[], palette=[])
        self.figure = styled_figure(title, xlabel="score", ylabel="", height=_score_height(0),
                                    min_width=_COMMON["min_width"], toolbar=_COMMON["toolbar"],
                                    y_range=FactorRange(), tools=f"{TOOLS},tap")  # fmt: skip
        color = {"field": "color", "transform": self.mapper}
        r = self.figure.hbar(y="suspect", height=0.8, left="bottom", right="top", source=self.source,
                             fill_color=color, hatch_color=color, muted_alpha=0.2, nonselection_alpha=0.1)  # fmt: skip
        self.figure.add_layout(Legend(items=[LegendItem(label=field("color"), renderers=[r])],
                                      location="bottom_right"))  # fmt: skip
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=_SCORE_TOOLTIPS))
        self.figure.ygrid.grid_line_color = self.figure.xgrid.grid_line_color = "#e5e5e5"
        self.figure.output_backend = "webgl"  # as HoloViews draws
        self.placeholder = _placeholder(title)
        self.hide()

    def draw(self, result: Any) -> None:
        """Draw ``result`` (a TriageResult or ``(suspects, evidence)``) as :func:`score_bars` does."""
        suspects, evidence = _frames(result)
        self._show(data=not suspects.is_empty())
        if not self.has_data:
            return
        parts = _score_parts(suspects, evidence)
        data = _stacked(parts)
        order = list(dict.fromkeys(data["signal"]))
        self.mapper.update(factors=order, palette=[_color(s) for s in order])
        self.source.data = data
        self.figure.y_range.factors = parts["suspect"].unique(maintain_order=True).to_list()
        # as HoloViews ranges stacked bars: from 0 to the largest total, padded by a tenth of
        # the spread between the smallest and the largest total
        totals = parts.group_by("suspect").agg(pl.col("points").sum())["points"]
        lo, hi = float(totals.min() or 0.0), float(totals.max() or 0.0)  # type: ignore[arg-type]
        end = hi + 0.1 * (hi - lo)
        self.figure.x_range.update(start=0.0, end=end, reset_start=0.0, reset_end=end)
        self.figure.height = _score_height(suspects.height)


def _timeline_data(
    result: Any,
    window: tuple[dt.datetime, dt.datetime] | None,
    baseline: tuple[dt.datetime, dt.datetime] | None,
    max_objects: int,
) -> tuple[pl.DataFrame, int, tuple[dt.datetime, dt.datetime] | None, tuple[dt.datetime, dt.datetime] | None]:
    """The points of :func:`timeline` (``time``, ``object``, ``signal``, ``score``, ``detail``,
    ``suspect``, ``size``; the top row last), how many rows (objects) they are on, and the window
    and baseline shaded. No points: an empty frame."""
    frame = result if isinstance(result, pl.DataFrame) else result.timeline
    if not isinstance(result, pl.DataFrame):
        window = window or result.window
        baseline = baseline or result.baseline
    frame = frame.filter(pl.col("time").is_not_null())
    cols = ["time", "object", "signal", "score", "detail", "suspect", "size"]
    if frame.is_empty():
        return frame.with_columns(pl.lit(0.0).alias("size")).select(cols), 0, window, baseline
    if not isinstance(result, pl.DataFrame):
        rank = dict(zip(result.suspects["object"].to_list(), result.suspects["rank"].to_list(), strict=True))
    else:
        firsts = (
            frame.filter(pl.col("suspect").is_not_null()).sort("time")["suspect"].unique(maintain_order=True)
        )
        rank = {s: i for i, s in enumerate(firsts.to_list())}
    ranked = (
        frame.group_by("object")
        .agg(
            pl.col("score").max().alias("_best"),
            pl.col("time").min().alias("_first"),
            pl.col("suspect").drop_nulls().first(),
        )
        .with_columns(
            pl.col("suspect").replace_strict(rank, default=len(rank) + 1, return_dtype=pl.Int64).alias("_r")
        )
        .sort(["_r", "_best", "_first", "object"], descending=[False, True, False, False])
        .head(max_objects)
        .with_row_index("_top")
    )
    # bokeh stacks categories bottom-up in order of appearance: the top row must come last
    data = (
        frame.join(ranked.select("object", "_top"), on="object", how="inner")
        .with_columns(
            (6 + 14 * pl.col("score").clip(0, 1)).alias("size"),
            pl.col("detail").str.slice(0, 220),
            pl.col("suspect").fill_null("(not a suspect)"),
        )
        .sort(["_top", "time"], descending=[True, False])
    )
    return data.select(cols), ranked.height, window, baseline


def _timeline_height(objects: int) -> int:
    return max(220, 80 + 24 * objects)


_TIMELINE_TOOLTIPS = [("time", "@time{%F %T}"), ("object", "@object"), ("signal", "@signal"),
                      ("strength", "@score{0.00}"), ("suspect", "@suspect"), ("", "@detail")]  # fmt: skip


def timeline(
    result: Any,
    *,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    title: str = "Everything found, in time order",
    max_objects: int = 30,
) -> hv.Element:
    """Evidence over time: x = time, y = the object it was seen on (the suspects' first, by
    rank), colour = signal, size = strength; the baseline (grey) and the window (orange)
    shaded. ``result`` is a TriageResult (its window and baseline are used) or a timeline frame."""
    data, objects, window, baseline = _timeline_data(result, window, baseline, max_objects)
    if data.is_empty():
        return _empty(title)
    cmap = {s: _color(s) for s in data["signal"].unique().sort().to_list()}
    points = hv.Scatter(
        data.to_pandas(), kdims=["time"], vdims=["object", "signal", "score", "detail", "suspect", "size"]
    )
    points = points.opts(
        backend="bokeh", color="signal", cmap=cmap, size="size", alpha=0.8, tools=["hover"], xlabel="", ylabel="",
        legend_position="right", show_legend=True, height=_timeline_height(objects), title=title, line_color="white",
        hover_tooltips=_TIMELINE_TOOLTIPS, hover_formatters={"@time": "datetime"}, **_COMMON,
    )  # fmt: skip
    layers: list[hv.Element] = []
    if baseline is not None and baseline[1] > baseline[0]:
        layers.append(hv.VSpan(baseline[0], baseline[1]).opts(backend="bokeh", color="#eeeeee", alpha=0.6))
    if window is not None:
        layers.append(hv.VSpan(window[0], window[1]).opts(backend="bokeh", color="#ffe0b2", alpha=0.35))
    return hv.Overlay([*layers, points]).opts(title=title)


def _ms(t: dt.datetime) -> float:
    return t.timestamp() * 1000.0


class TimelineChart(Shown):
    """:func:`timeline` as a Bokeh figure redrawn in place by :meth:`draw`. ``figure`` shows the
    points, ``placeholder`` says that nothing was found (see :class:`~workbench.viz._figures.Shown`)."""

    def __init__(self, *, title: str = "Everything found, in time order", max_objects: int = 30) -> None:
        self.title = title
        self.max_objects = max_objects
        self.source = ColumnDataSource({"time": np.empty(0), "object": [], "signal": [], "score": np.empty(0),
                                        "detail": [], "suspect": [], "size": np.empty(0), "color": []})  # fmt: skip
        self.mapper = CategoricalColorMapper(factors=[], palette=[])
        self.figure = time_figure(title, xlabel="", ylabel="", height=_timeline_height(0),
                                  min_width=_COMMON["min_width"], toolbar=_COMMON["toolbar"],
                                  y_range=FactorRange())  # fmt: skip
        # the baseline (grey) and the window (orange), under the points
        self.spans = (BoxAnnotation(fill_color="#eeeeee", line_color="#eeeeee", fill_alpha=0.6, line_alpha=0.6,
                                    level="glyph", visible=False),
                      BoxAnnotation(fill_color="#ffe0b2", line_color="#ffe0b2", fill_alpha=0.35, line_alpha=0.35,
                                    level="glyph", visible=False))  # fmt: skip
        self.figure.renderers.extend(self.spans)  # as HoloViews adds them: drawn before (under) the points
        color = {"field": "color", "transform": self.mapper}
        r = self.figure.scatter(x="time", y="object", size="size", source=self.source, line_color="white", alpha=0.8,
                                fill_color=color, hatch_color=color, muted_alpha=0.2)  # fmt: skip
        self.figure.add_layout(Legend(items=[LegendItem(label=field("color"), renderers=[r])], location=(0, 0),
                                      click_policy="mute"), "right")  # fmt: skip
        self.figure.add_tools(
            HoverTool(renderers=[r], tooltips=_TIMELINE_TOOLTIPS, formatters={"@time": "datetime"})
        )
        self.figure.ygrid.grid_line_color = self.figure.xgrid.grid_line_color = "#e5e5e5"
        self.figure.output_backend = "webgl"  # as HoloViews draws
        self.placeholder = _placeholder(title)
        self.hide()

    def draw(
        self,
        result: Any,
        *,
        window: tuple[dt.datetime, dt.datetime] | None = None,
        baseline: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> None:
        """Draw ``result`` (a TriageResult or a timeline frame) as :func:`timeline` does."""
        data, objects, window, baseline = _timeline_data(result, window, baseline, self.max_objects)
        self._show(data=not data.is_empty())
        if not self.has_data:
            return
        signals = data["signal"].unique().sort().to_list()
        self.mapper.update(factors=signals, palette=[_color(s) for s in signals])
        x = ms(data["time"])
        self.source.data = {"time": x, **{c: data[c].to_list() for c in ("object", "signal", "detail", "suspect")},
                            "score": data["score"].cast(pl.Float64).to_numpy(),
                            "size": data["size"].cast(pl.Float64).to_numpy(), "color": data["signal"].to_list()}  # fmt: skip
        self.figure.y_range.factors = data["object"].unique(maintain_order=True).to_list()
        height = _timeline_height(objects)
        self.figure.height = height
        # HoloViews pads a time axis by a tenth of its span on each side, less on a plot less
        # tall than its default width (300 px)
        fit(self.figure.x_range, float(x.min()), float(x.max()), pad=0.1 * min(1.0, height / 300), time=True)
        for span, shaded in zip(self.spans, (baseline, window), strict=True):
            shown = shaded is not None and (span is self.spans[1] or shaded[1] > shaded[0])
            if shown:
                span.update(left=_ms(shaded[0]), right=_ms(shaded[1]), visible=True)  # type: ignore[index]
            elif span.visible:
                span.visible = False
