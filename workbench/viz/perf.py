"""Charts for the performance browser (bokeh; no widgets): one panel per metric, one line per
pod, on a shared time axis.

- :func:`metric_grid`: the panels as a HoloViews layout (notebooks, reports).
- :class:`MetricGrid`: the same panels as Bokeh figures that a served page builds once and
  redraws in place for new data (:mod:`workbench.viz._figures`): the lines are kept and get new
  data instead of a HoloViews curve built per pod, a filter change costs milliseconds instead
  of a second.

>>> from workbench.analyses import perf
>>> from workbench.viz import perf as fv
>>> fv.metric_grid(perf.browse(ds, workload="checkout").data)     # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.core.properties import value
from bokeh.layouts import gridplot
from bokeh.models import (
    AllIndices,
    CDSView,
    ColumnDataSource,
    CustomJS,
    GlyphRenderer,
    GridPlot,
    HoverTool,
    Legend,
    LegendItem,
    Line,
    Range1d,
    Span,
)
from bokeh.plotting import figure

from workbench.analyses.perf import METRICS
from workbench.viz._figures import PAD, TIME_LABEL, bounds, fit, ms, time_figure

__all__ = ["MARK", "MetricGrid", "grid_metrics", "metric_grid", "shown_unit", "summary_table"]

_SCALE = {"bytes": (2**20, "MiB"), "bytes/s": (1024, "KiB/s")}
_COLORS = ["#1565c0", "#ef6c00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a"]
_HEIGHT, _MIN_WIDTH = 230, 320
#: How a marked moment is drawn (as ``hv.VLine(t).opts(color=MARK["line_color"], line_dash="dashed")``).
MARK = {"line_color": "#d32f2f", "line_width": 3, "line_dash": "dashed"}


@dataclasses.dataclass(frozen=True)
class _Panel:
    """One metric's panel: its title, the unit shown, how its lines are drawn, and its data
    (``ts``, ``pod``, the value in the unit shown as column ``unit``; sorted by pod and time)."""

    metric: str
    title: str
    unit: str
    steps: bool
    dash: str
    data: pl.DataFrame


def shown_unit(unit: str) -> tuple[float, str]:
    """How values of the catalogue's ``unit`` are shown: ``(divisor, unit shown)``, bytes in MiB
    and bytes/s in KiB/s, the rest as they are (the charts' value axes and the page's summary)."""
    return _SCALE.get(unit, (1, unit))


def grid_metrics(data: pl.DataFrame) -> tuple[str, ...]:
    """The metrics that get a panel: those with data, in catalogue order."""
    present = set(data["metric"].unique().to_list())
    return tuple(m for m in METRICS if m in present)


def _style(metric: str) -> tuple[str, str, bool, str]:
    """A metric's panel title, the unit shown (bytes in MiB, bytes/s in KiB/s), whether its
    lines are steps (requests, limits, event counts) and their dash (requests and limits)."""
    shown = shown_unit(METRICS[metric][0])[1]
    steps = metric.endswith(("_request", "_limit")) or metric.startswith("events_")
    dash = "dashed" if metric.endswith(("_request", "_limit")) else "solid"
    return f"{metric.replace('_', ' ')} ({shown})", shown, steps, dash


def _panels(data: pl.DataFrame) -> list[_Panel]:
    """The panels of ``data`` (:data:`workbench.analyses.perf.LONG_COLUMNS`), see :func:`_style`."""
    out = []
    for metric in grid_metrics(data):
        title, shown, steps, dash = _style(metric)
        div = shown_unit(METRICS[metric][0])[0]
        d = data.filter(pl.col("metric") == metric).sort("pod", "ts")
        d = d.select("ts", "pod", (pl.col("value") / div).alias(shown))
        out.append(_Panel(metric=metric, title=title, unit=shown, steps=steps, dash=dash, data=d))
    return out


def _colors(data: pl.DataFrame) -> dict[str, str]:
    """The same colour for a pod in every panel (pods sorted by name)."""
    pods = sorted(data["pod"].unique().to_list())
    return {p: _COLORS[i % len(_COLORS)] for i, p in enumerate(pods)}


def _first_row_height(pods: int) -> int:
    """The first row makes room for the legend under the first panel (two pods per line)."""
    return _HEIGHT + 24 * ((pods + 1) // 2)


#: Pods per line of :class:`MetricGrid`'s legend.
_KEY_COLS = 4


def _key_height(pods: int) -> int:
    """The height of :class:`MetricGrid`'s legend strip: a line per :data:`_KEY_COLS` pods."""
    return 8 + 24 * max(1, -(-pods // _KEY_COLS))


def metric_grid(data: pl.DataFrame, *, cols: int = 2) -> hv.Layout | hv.Text:
    """A panel per metric (in catalogue order) with a line per pod (the same colour for a pod
    in every panel); requests and limits are dashed steps, event counts steps. Axes are shared
    in time."""
    if data.is_empty():
        return hv.Text(0, 0, "no data").opts(title="Performance", xaxis=None, yaxis=None, toolbar=None)
    color = _colors(data)
    panels = []
    for p in _panels(data):
        interp = "steps-post" if p.steps else "linear"
        el = hv.Overlay([hv.Curve(g.select("ts", p.unit, "pod").to_pandas(), "ts", [p.unit, "pod"], label=str(pod))
                         .opts(interpolation=interp, line_dash=p.dash, color=color[pod], tools=["hover"])
                         for (pod,), g in p.data.group_by(["pod"], maintain_order=True)])  # fmt: skip
        first = not panels
        tall = len(panels) < cols  # the first row makes room for the legend under the first panel
        panels.append(el.opts(title=p.title, responsive=True, height=_first_row_height(len(color)) if tall else _HEIGHT,
                              min_width=_MIN_WIDTH, show_grid=True, xlabel=TIME_LABEL, show_legend=first, legend_position="bottom",
                              legend_cols=2))  # fmt: skip
    return hv.Layout(panels).cols(cols).opts(shared_axes=True)


def _steps_post(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A line through ``(x, y)`` drawn as steps that hold each value until the next point
    (as HoloViews' ``interpolation="steps-post"``)."""
    if len(x) < 2:
        return x, y
    xs, ys = np.empty(2 * len(x) - 1), np.empty(2 * len(x) - 1)
    xs[0::2], xs[1::2] = x, x[1:]
    ys[0::2], ys[1::2] = y, y[:-1]
    return xs, ys


def _lines(p: _Panel) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """The pods of a panel with their times (ms) and values, one array per pod."""
    pods = p.data["pod"].rle()
    cuts = np.cumsum(pods.struct.field("len").to_numpy())[:-1]
    xs = np.split(ms(p.data["ts"]), cuts)
    ys = np.split(p.data[p.unit].cast(pl.Float64).to_numpy(), cuts)
    if p.steps:
        xs, ys = (
            list(t) for t in zip(*(_steps_post(x, y) for x, y in zip(xs, ys, strict=True)), strict=True)
        )
    return pods.struct.field("value").to_list(), xs, ys


class MetricGrid:
    """:func:`metric_grid`'s panels as Bokeh figures, built once for a set of metrics
    (:func:`grid_metrics` of the data) and redrawn in place by :meth:`show` for any data with
    the same metrics (other pods, another window). ``layout`` is what a page shows.

    As in :func:`metric_grid`, each pod is a line of its own in every panel, its colour the same
    in every panel: the legend above the panels (a strip of its own, the grid's first cell)
    names the pods (all of the data's) and a click on one mutes its lines in every panel; hover
    lists every pod whose line is under the cursor (lines that overlap exactly included) with
    the time and value. Time is shared by every panel, the value axis by panels of the same unit
    (as HoloViews' shared axes).

    The lines are kept for the next data: the k-th pod by name is drawn by the k-th line of each
    panel (its colour fixed, its name the pod's; a line of its own data source), lines are added
    when there are more pods than ever shown, and those left over are hidden."""

    def __init__(self, metrics: tuple[str, ...], *, cols: int = 2) -> None:
        unknown = [m for m in metrics if m not in METRICS]
        if not metrics or unknown:
            msg = (
                f"MetricGrid needs metrics of the catalogue (got {metrics!r}); they are: {', '.join(METRICS)}"
            )
            raise ValueError(msg)
        self.metrics = metrics
        self.cols = cols
        #: The pods drawn, by name: the k-th by the k-th line of each panel.
        self.pods: tuple[str, ...] = ()
        x = Range1d()
        self._y: dict[str, Range1d] = {}
        self._hovers: list[HoverTool] = []
        self._dashes: list[str] = []
        #: per line (pod): its renderer in each panel
        self._lines: list[list[GlyphRenderer]] = []
        #: the marked moment's line in each panel (made for the first mark)
        self._marks: list[Span] = []
        self._all = AllIndices()  # every line's view of its data (a filter without state, shared)
        self.figures = []
        for metric in metrics:
            title, unit, _steps, dash = _style(metric)
            fig = time_figure(title, ylabel=unit, height=_HEIGHT,
                              min_width=_MIN_WIDTH, toolbar=None, x_range=x,
                              y_range=self._y.setdefault(unit, Range1d()))  # fmt: skip
            hover = HoverTool(renderers=[], tooltips=[("ts", "$snap_x{%F %T}"), (unit, "$snap_y"), ("pod", "$name")],
                              formatters={"$snap_x": "datetime"})  # fmt: skip
            fig.add_tools(hover)
            self._hovers.append(hover)
            self._dashes.append(dash)
            self.figures.append(fig)
        #: the legend above the panels, in a strip of its own (the grid's first cell): an item per
        #: line, drawn by a key (a line of one point, so nothing in the strip); a click mutes the
        #: key, which mutes the pod's lines in every panel
        self.legend = Legend(items=[], location="top_left", orientation="horizontal", ncols=_KEY_COLS,
                             click_policy="mute", margin=0, border_line_alpha=0, background_fill_alpha=0)  # fmt: skip
        self.key = figure(height=_key_height(0), min_width=_MIN_WIDTH, sizing_mode="stretch_width", tools="",
                          toolbar_location=None, x_axis_type=None, y_axis_type=None, x_range=Range1d(0, 1),
                          y_range=Range1d(0, 1), min_border=0, outline_line_alpha=0, background_fill_alpha=0,
                          border_fill_alpha=0)  # fmt: skip
        self.key.grid.visible = False
        for active in ("active_drag", "active_inspect", "active_scroll", "active_tap", "active_multi"):
            setattr(self.key.toolbar, active, getattr(self.figures[0].toolbar, active))  # one toolbar for all
        self.key.add_layout(self.legend, "center")
        #: per line (pod): its key in the legend
        self._keys: list[GlyphRenderer] = []
        rows = [[self.key, *[None] * (cols - 1)]]
        rows += [self.figures[i : i + cols] for i in range(0, len(self.figures), cols)]
        self.layout: GridPlot = gridplot(rows, sizing_mode="stretch_width", toolbar_location="above")

    def _add_line(self) -> None:
        """One more line in every panel (hidden until :meth:`show` gives it a pod), muted with
        its key in the legend."""
        k = len(self._lines)
        color = _COLORS[k % len(_COLORS)]
        lines = []
        # a line's glyphs (as fig.line(..., muted_alpha=0.2) makes them) are the same in every
        # panel with its dash, and shared: 72 lines for 8 pods are built a third faster
        glyphs: dict[str, tuple[Line, Line]] = {}
        for fig, hover, dash in zip(self.figures, self._hovers, self._dashes, strict=True):
            if dash not in glyphs:
                style = {"x": "x", "y": "y", "line_color": color, "line_width": 2, "line_dash": dash}
                glyphs[dash] = Line(**style), Line(**style, line_alpha=0.2)
            glyph, muted = glyphs[dash]
            r = GlyphRenderer(data_source=ColumnDataSource({"x": np.empty(0), "y": np.empty(0)}), glyph=glyph,
                              muted_glyph=muted, view=CDSView(filter=self._all), visible=False)  # fmt: skip
            fig.renderers.append(r)
            hover.renderers = [*hover.renderers, r]
            lines.append(r)
        glyph = Line(x="x", y="y", line_color=color, line_width=2)
        # one point (a line of one point draws nothing): Bokeh draws no legend swatch without data
        key = GlyphRenderer(data_source=ColumnDataSource({"x": [0.0], "y": [0.0]}), glyph=glyph,
                            muted_glyph=Line(x="x", y="y", line_color=color, line_width=2, line_alpha=0.2))  # fmt: skip
        self.key.renderers.append(key)
        key.js_on_change("muted", CustomJS(args={"src": key, "dst": lines},
                                           code="for (const r of dst) r.muted = src.muted"))  # fmt: skip
        item = LegendItem(label=value(""), renderers=[key], visible=False)
        self.legend.items = [*self.legend.items, item]
        self._keys.append(key)
        self._lines.append(lines)

    def show(self, data: pl.DataFrame, *, mark: dt.datetime | None = None) -> None:
        """Draw ``data`` (:data:`workbench.analyses.perf.LONG_COLUMNS`, with data for exactly
        this grid's metrics). A pod muted by a click on the legend stays muted while it keeps its
        line (the same pods before it by name). ``mark``: a moment drawn as a dashed red line
        across every panel (as an ``hv.VLine`` overlaid; the time axis still fits the data)."""
        panels = _panels(data)
        if tuple(p.metric for p in panels) != self.metrics:
            msg = f"this grid draws {self.metrics}; the data has {tuple(p.metric for p in panels)}: build a new grid"
            raise ValueError(msg)
        pods = tuple(sorted(data["pod"].unique().to_list()))
        slot = {q: k for k, q in enumerate(pods)}
        while len(self._lines) < len(pods):
            self._add_line()
        spans: dict[str, list[np.ndarray]] = {}
        times: list[np.ndarray] = []
        none = np.empty(0)
        for j, p in enumerate(panels):
            names, xs, ys = _lines(p)
            at = {slot[q]: i for i, q in enumerate(names)}
            for k, lines in enumerate(self._lines):
                i = at.get(k)
                lines[j].data_source.data = {"x": none, "y": none} if i is None else {"x": xs[i], "y": ys[i]}
            times += xs
            spans.setdefault(p.unit, []).extend(ys)
        for k, (lines, key, item) in enumerate(zip(self._lines, self._keys, self.legend.items, strict=True)):
            pod = pods[k] if k < len(pods) else ""
            same = k < len(self.pods) and self.pods[k] == pod
            for r in lines:
                r.update(name=pod, visible=bool(pod), **({} if same else {"muted": False}))
            if not same:
                key.muted = False
            item.update(label=value(pod), visible=bool(pod))
        self.pods = pods
        self.key.height = _key_height(len(pods))
        fit(self.figures[0].x_range, *bounds(times), time=True)
        for unit, ys in spans.items():
            fit(self._y[unit], *bounds(ys), pad=PAD)
        self._mark(mark)

    def _mark(self, at: dt.datetime | None) -> None:
        """Draw the line of moment ``at`` in every panel (hide it for None)."""
        if at is None:
            for span in self._marks:
                span.visible = False
            return
        if not self._marks:
            for fig in self.figures:
                span = Span(dimension="height", level="glyph", **MARK)
                fig.add_layout(span)
                self._marks.append(span)
        where = float(ms(pl.Series([at]))[0])
        for span in self._marks:
            span.update(location=where, visible=True)


def summary_table(summary: pl.DataFrame) -> hv.Table:
    """The summary (per pod and metric: mean, p95, max, last), numbers rounded for reading."""
    d = summary.with_columns(pl.col("mean", "p95", "max", "last").round(2))
    return hv.Table(d.drop("cluster").to_pandas()).opts(
        height=min(700, 60 + 26 * max(d.height, 1)), width=1000
    )
