"""Bokeh figures built once and then redrawn in place, for the served pages whose charts follow
every filter change (performance, cluster, triage).

A HoloViews chart is built anew for new data: in a served page that costs 25–40 ms per plot and
about 10 ms per curve (benchmark B5), and a HoloViews ``DynamicMap`` updated in place costs about
as much again (1 s for the performance page's nine plots of eight pods). These figures are built
once; a change sends new column data, ranges and titles to the browser and builds nothing. They
look like the HoloViews charts of the same module (titles, axis labels, colours, legends, hover,
ranges padded as HoloViews pads them), which notebooks and reports keep using.

- :func:`time_figure`: a figure with a time axis, styled as HoloViews styles its plots
  (:func:`styled_figure`: any axes).
- :func:`fit`, :func:`fit_time`, :func:`bounds`: a range set to the data (and what the Reset tool
  returns to).
- :class:`Line`, :class:`Lines`: a fixed set of named lines over one time axis.
- :class:`Heatmap`: rows of cells over time, coloured by a value.
- :class:`Shown`, :func:`placeholder`: a chart that shows either its figure or a placeholder
  saying that there is nothing to show (what HoloViews charts draw for no data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from bokeh.models import (
    ColorBar,
    ColumnDataSource,
    FactorRange,
    HoverTool,
    Legend,
    LegendItem,
    LinearColorMapper,
    Range1d,
)
from bokeh.plotting import figure

__all__ = ["PAD", "TIME_LABEL", "TOOLS", "Heatmap", "Line", "Lines", "Shown", "bounds", "fit", "fit_time", "ms", "placeholder",
           "styled_figure", "time_figure"]  # fmt: skip

#: The label of a time axis: every time is shown in UTC.
TIME_LABEL = "time (UTC)"
#: The tools of every figure (as HoloViews gives its plots), hover added per chart.
TOOLS = "pan,wheel_zoom,box_zoom,save,reset"
#: HoloViews' default padding of a value axis: a tenth of the data's span on each side.
PAD = 0.1


def ms(ts: pl.Series) -> np.ndarray:
    """Datetimes as float milliseconds since the epoch (UTC), what a Bokeh time axis plots."""
    return (ts.dt.epoch("us").cast(pl.Float64) / 1000.0).to_numpy()


def time_figure(title: str, *, ylabel: str, height: int, min_width: int, xlabel: str = TIME_LABEL,
                toolbar: str | None = "right", x_range: Range1d | None = None,
                y_range: Any = None) -> Any:  # fmt: skip
    """A figure with a time axis (``x_range``/``y_range`` may be shared with other figures)."""
    return styled_figure(title, x_axis_type="datetime", xlabel=xlabel, ylabel=ylabel, height=height,
                         min_width=min_width, toolbar=toolbar, x_range=x_range, y_range=y_range)  # fmt: skip


def styled_figure(title: str, *, x_axis_type: str = "linear", xlabel: str = "", ylabel: str = "", height: int,
                  min_width: int, toolbar: str | None = "right", x_range: Any = None, y_range: Any = None,
                  tools: str = TOOLS) -> Any:  # fmt: skip
    """A figure styled as HoloViews styles its plots (title, borders, tools); a range not given
    is a :class:`~bokeh.models.Range1d` (a categorical axis: pass a ``FactorRange``)."""
    fig = figure(
        title=title, x_axis_type=x_axis_type, height=height, min_width=min_width, sizing_mode="stretch_width",
        tools=tools, active_drag="pan" if "pan" in tools else "auto",
        active_scroll="wheel_zoom" if "wheel_zoom" in tools else "auto", toolbar_location=toolbar,
        x_range=x_range or Range1d(), y_range=y_range or Range1d(),
        min_border_top=10, min_border_bottom=10, min_border_left=10, min_border_right=10,
    )  # fmt: skip
    fig.title.text_color, fig.title.text_font_size = "black", "12pt"  # as HoloViews' theme
    fig.xaxis.axis_label = xlabel
    fig.yaxis.axis_label = ylabel
    return fig


def fit(rng: Range1d, lo: float | None, hi: float | None, *, pad: float = 0.0, time: bool = False) -> None:
    """Set ``rng`` to ``[lo, hi]`` widened by ``pad`` × the span on each side, as where the
    Reset tool returns to. Without data (``None``, NaN) it is left as it is; a single value is
    widened by a tenth of itself (0.5 for zero), a single ``time`` (ms) by half a second, as
    HoloViews does."""
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return
    lo, hi = float(lo), float(hi)
    if hi == lo:
        off = 500.0 if time else abs(lo * 0.1) or 0.5
        lo, hi = lo - off, hi + off
    else:
        off = (hi - lo) * pad
        lo, hi = lo - off, hi + off
    rng.update(start=lo, end=hi, reset_start=lo, reset_end=hi)


def fit_time(rng: Range1d, lo: float | None, hi: float | None, *, pad: float = 0.0) -> None:
    """Set ``rng`` (a time axis, ms) to ``[lo, hi]`` as HoloViews ranges the time axis of points
    and areas: a single time is widened by a second on each side, then the span is widened by
    ``pad`` × itself on each side (see :func:`fit`)."""
    if lo is not None and hi is not None and lo == hi:
        lo, hi = lo - 1000.0, hi + 1000.0
    fit(rng, lo, hi, pad=pad)


def bounds(values: Sequence[np.ndarray]) -> tuple[float | None, float | None]:
    """The smallest and largest finite value in ``values`` (None, None when there is none)."""
    finite = [v[np.isfinite(v)] for v in values if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite:
        return None, None
    return min(float(v.min()) for v in finite), max(float(v.max()) for v in finite)


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a :class:`Lines` chart: its name (legend, hover, column), colour and style."""

    name: str
    color: str
    width: int = 2
    dash: str = "solid"


class Lines:
    """A time chart of a fixed set of named lines (legend on the right, a click mutes a line;
    hover names the line and shows the time and value), redrawn in place by :meth:`show`."""

    def __init__(self, lines: Sequence[Line], *, ylabel: str, height: int, min_width: int = 360) -> None:
        self.lines = tuple(lines)
        self.source = ColumnDataSource({"ts": np.empty(0), **{ln.name: np.empty(0) for ln in self.lines}})
        self.figure = time_figure("", ylabel=ylabel, height=height, min_width=min_width)
        items = []
        for ln in self.lines:
            r = self.figure.line("ts", ln.name, source=self.source, line_color=ln.color, line_width=ln.width,
                                 line_dash=ln.dash, muted_alpha=0.2, name=ln.name)  # fmt: skip
            items.append(LegendItem(label=ln.name, renderers=[r]))
        self.figure.add_layout(Legend(items=items, location=(0, 0), click_policy="mute"), "right")
        self.figure.add_tools(HoverTool(tooltips=[("", "$name"), ("ts", "$snap_x{%F %T}"), (ylabel, "$snap_y")],
                                        formatters={"$snap_x": "datetime"}))  # fmt: skip

    def show(self, frame: pl.DataFrame, *, title: str) -> None:
        """Draw ``frame`` (``ts`` and a column per line, nulls as gaps) under ``title``."""
        data = {
            "ts": ms(frame["ts"]),
            **{ln.name: frame[ln.name].cast(pl.Float64).to_numpy() for ln in self.lines},
        }
        self.source.data = data
        self.figure.title.text = title
        fit(self.figure.x_range, *bounds([data["ts"]]), time=True)
        fit(self.figure.y_range, *bounds([data[ln.name] for ln in self.lines]), pad=PAD)


class Heatmap:
    """Rows (categories, sorted upwards) × time buckets, each cell coloured by its value on a
    fixed scale with a colour bar (a cell without a value is not coloured); hover shows the
    row, time and value. Redrawn in place by :meth:`show`."""

    def __init__(self, *, value: str, palette: Sequence[str], low: float, high: float, ylabel: str,
                 min_width: int = 360) -> None:  # fmt: skip
        self.value = value
        self.source = ColumnDataSource(
            {"ts": np.empty(0), "row": [], "value": np.empty(0), "width": np.empty(0)}
        )
        self.figure = time_figure("", ylabel=ylabel, xlabel="", height=200, min_width=min_width,
                                  y_range=FactorRange())  # fmt: skip
        mapper = LinearColorMapper(palette=list(palette), low=low, high=high, nan_color=(0, 0, 0, 0))
        self.figure.rect("ts", "row", width="width", height=1, source=self.source, line_alpha=0,
                         fill_color={"field": "value", "transform": mapper})  # fmt: skip
        self.figure.add_layout(ColorBar(color_mapper=mapper, title=value, location=(0, 0), label_standoff=8,
                                        major_tick_line_color="black", bar_line_color="black"), "right")  # fmt: skip
        self.figure.xgrid.grid_line_color = None
        self.figure.ygrid.grid_line_color = None
        self.figure.add_tools(HoverTool(tooltips=[("ts", "@ts{%F %T}"), (ylabel, "@row"), (value, "@value")],
                                        formatters={"@ts": "datetime"}))  # fmt: skip

    def show(self, ts: pl.Series, rows: pl.Series, values: pl.Series, *, title: str, height: int) -> None:
        """Draw a cell per (``ts``, ``rows``) coloured by ``values``, centred on its time and as
        wide as the smallest step between the times shown (a minute when there is one time)."""
        x = ms(ts)
        times = np.unique(x[np.isfinite(x)])
        step = float(np.diff(times).min()) if len(times) > 1 else 60_000.0
        self.source.data = {"ts": x, "row": rows.cast(pl.String).to_list(),
                            "value": values.cast(pl.Float64).to_numpy(), "width": np.full(len(x), step)}  # fmt: skip
        self.figure.y_range.factors = sorted(set(rows.drop_nulls().cast(pl.String).to_list()))
        self.figure.title.text = title
        self.figure.height = height
        if len(times):
            fit(self.figure.x_range, times[0] - step / 2, times[-1] + step / 2, time=True)


def placeholder(title: str, text: str, *, min_width: int = 320) -> Any:
    """What the HoloViews charts draw for no data (a ``hv.Text`` without axes), as a Bokeh
    figure: ``title`` and ``text`` in its middle, 120 px high, no axes, grid or toolbar."""
    fig = figure(title=title, height=120, min_width=min_width, sizing_mode="stretch_width",
                 toolbar_location=None, x_range=Range1d(0, 1), y_range=Range1d(0, 1),
                 min_border_top=10, min_border_bottom=10, min_border_left=10, min_border_right=10)  # fmt: skip
    fig.title.text_color, fig.title.text_font_size = "black", "12pt"  # as HoloViews' theme
    fig.axis.visible = False
    fig.grid.visible = False
    fig.text(x=[0.5], y=[0.5], text=[text], text_align="center", text_baseline="middle")
    return fig


class Shown:
    """A chart's ``figure`` and its ``placeholder`` (nothing to show): a draw shows one of them
    (``has_data`` says which), :meth:`hide` neither. Both are put on a page; they are shown and
    hidden by their own ``visible``, which changes no model of the page."""

    figure: Any
    placeholder: Any
    has_data: bool = False

    def _show(self, *, data: bool | None) -> None:
        self.has_data = bool(data)
        for model, show in ((self.figure, data is True), (self.placeholder, data is False)):
            if model.visible != show:
                model.visible = show

    def hide(self) -> None:
        """Show neither the chart nor its placeholder."""
        self._show(data=None)
