"""The hitmap (X-View) and the trace waterfall as HoloViews elements (bokeh; no widgets).

The hitmap is drawn from the precomputed histogram of :func:`workbench.analyses.hitmap.hitmap`
— already a raster, so ten million transactions cost the same to draw as ten: one
``hv.Image`` of counts (blue; empty cells transparent) and one of errors (red) on top. The y
axis is log10(ms), labelled in ms/s. The box-select tool is on: a UI attaches a stream to the
element :func:`hitmap_element` returns and turns its bounds into a query with
:func:`box_from_bounds`::

    el = hitmap_element(hm)
    box = hv.streams.BoundsXY(source=el)
    box.add_subscriber(lambda bounds: show(select(ds, *box_from_bounds(bounds))))

(Datashader is not needed here; it would only re-bin what polars already binned.)

:class:`Waterfall` is :func:`waterfall` as a Bokeh figure that a served page builds once and
redraws in place for each trace (:mod:`workbench.viz._figures`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.models import ColumnDataSource, CustomJSHover, FixedTicker, HoverTool, Range1d
from bokeh.plotting import figure

from workbench.analyses.hitmap import Hitmap

__all__ = [
    "ERROR_COLOR",
    "Bands",
    "Waterfall",
    "band_hitmap",
    "bands",
    "box_from_bounds",
    "hitmap_element",
    "multi_hitmap",
    "rt_ticks",
    "waterfall",
]

ERROR_COLOR = "#d32f2f"
_WATERFALL_TOOLTIPS = [
    ("service", "@service"),
    ("operation", "@operation"),
    ("kind", "@kind"),
    ("start", "@offset_ms{0.000} ms"),
    ("duration", "@duration_ms{0.000} ms"),
    ("error", "@error"),
    ("pod", "@pod"),
    ("span", "@span_id"),
]
#: Service colours of the waterfall: no reds, which mean errors.
_PALETTE = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#bcbd22",
    "#7f7f7f",
    "#e5ae38",
    "#30a2da",
    "#6d904f",
    "#e377c2",
    "#393b79",
)
_TICKS_MS = (
    0.001,
    0.01,
    0.1,
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    60_000,
    120_000,
    300_000,
    600_000,
    3_600_000,
)


def _fmt_ms(ms: float) -> str:
    if ms >= 60_000:
        return f"{ms / 60_000:g} min"
    if ms >= 1_000:
        return f"{ms / 1_000:g} s"
    return f"{ms:g} ms"


def rt_ticks(lo_ms: float, hi_ms: float) -> list[tuple[float, str]]:
    """Y ticks of a log10(ms) axis between ``lo_ms`` and ``hi_ms``, labelled in ms, s or min."""
    return [(math.log10(v), _fmt_ms(v)) for v in _TICKS_MS if lo_ms <= v <= hi_ms * 1.0001]


def _to_datetime(x: Any) -> dt.datetime:
    if isinstance(x, dt.datetime):
        return x if x.tzinfo else x.replace(tzinfo=dt.UTC)
    if isinstance(x, np.datetime64):
        us = x.astype("datetime64[us]").astype(np.int64)
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    if hasattr(x, "to_pydatetime"):  # pandas Timestamp
        return _to_datetime(x.to_pydatetime())
    if isinstance(x, int | float):  # bokeh sends datetimes as ms since the epoch
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=float(x))
    msg = f"cannot read {x!r} as a time"
    raise TypeError(msg)


def box_from_bounds(bounds: tuple[Any, Any, Any, Any]) -> tuple[dt.datetime, dt.datetime, float, float]:
    """``(t0, t1, rt_min_ms, rt_max_ms)`` for :func:`workbench.analyses.hitmap.select` from a
    ``BoundsXY`` stream's ``(x0, y0, x1, y1)`` on a hitmap element (y in log10 ms)."""
    x0, y0, x1, y1 = bounds
    t0, t1 = sorted((_to_datetime(x0), _to_datetime(x1)))
    lo, hi = sorted((float(y0), float(y1)))
    return t0, t1, 10.0**lo, 10.0**hi


def _hover(what: str) -> dict[str, Any]:
    """Tooltips of a hitmap cell: finish time, response time in ms/s (the axis is log10 ms), count."""
    ms = CustomJSHover(
        code="const ms = 10 ** value; "
        "return ms >= 1000 ? (ms / 1000).toPrecision(3) + ' s' : ms.toPrecision(3) + ' ms';"
    )
    return {
        "hover_tooltips": [("finish", "$x{%F %T}"), ("response time", "$y{custom}"), (what, "@image")],
        "hover_formatters": {"$x": "datetime", "$y": ms},
    }


def _time_centres(hm: Hitmap) -> np.ndarray:
    """The time columns' centres (``datetime64[us]``); two at least (an image needs two samples
    per axis to know its cell size: a grid of fewer columns is padded with empty ones)."""
    if hm.n_time < 2:
        first = np.datetime64(hm.t0.replace(tzinfo=None), "us") + np.timedelta64(hm.time_bin_us // 2, "us")
        return first + np.arange(2) * np.timedelta64(hm.time_bin_us, "us")
    edges = hm.time_edges()
    return edges[:-1] + (edges[1:] - edges[:-1]) // 2


def hitmap_element(hm: Hitmap, *, group: tuple[Any, ...] | None = None, title: str | None = None,
                   height: int = 320) -> hv.Overlay:  # fmt: skip
    """The hitmap of one group (all groups summed when ``group`` is None): counts in blue, the
    cells' error counts in red on top, box select on, log-scale response-time axis in ms."""
    counts, errors = hm.grid(group)
    centres_t = _time_centres(hm)
    lo = math.log10(hm.rt_min_ms)
    step = 1.0 / hm.bins_per_decade
    centres_y = lo + (np.arange(hm.n_rt) + 0.5) * step
    # an image needs two samples per axis to know its cell size: pad a tiny grid with empty cells
    if hm.n_time < 2:
        counts = np.pad(counts, ((0, 0), (0, 2 - hm.n_time)))
        errors = np.pad(errors, ((0, 0), (0, 2 - hm.n_time)))
    if hm.n_rt < 2:
        centres_y = lo + (np.arange(2) + 0.5) * step
        counts, errors = np.pad(counts, ((0, 1), (0, 0))), np.pad(errors, ((0, 1), (0, 0)))
    # empty cells stay 0 and fall below the colour range's low end (0.5), which is transparent
    shown, failed = counts.astype(float), errors.astype(float)
    kd = [hv.Dimension("end", label="finish time (UTC)"), hv.Dimension("log_rt", label="response time")]
    label = title or ("Hitmap" if group is None or not hm.by else " / ".join(str(g) for g in group))
    img = hv.Image(
        (centres_t, centres_y, shown), kdims=kd, vdims=[hv.Dimension("count", label="transactions")]
    )
    err = hv.Image((centres_t, centres_y, failed), kdims=kd, vdims=[hv.Dimension("errors", label="errors")])
    common = {
        "yticks": rt_ticks(hm.rt_min_ms, hm.rt_max_ms),
        "responsive": True,
        "min_width": 300,
        "height": height,
        "show_grid": True,
        "xlabel": "finish time (UTC)",
        "ylabel": "response time",
        "clipping_colors": {"min": "transparent", "NaN": "transparent"},
    }
    img = img.opts(
        backend="bokeh",
        cmap="Blues",
        cnorm="log",
        clim=(0.5, max(1.0, float(shown.max()))),
        colorbar=False,
        tools=["hover", "box_select"],
        **_hover("transactions"),
        **common,
    )
    err = err.opts(
        backend="bokeh",
        cmap=["#ef9a9a", ERROR_COLOR, "#7f0000"],
        cnorm="log",
        clim=(0.5, max(1.0, float(failed.max()))),
        alpha=0.9,
        tools=["hover"],
        **_hover("errors"),
        **common,
    )
    return (img * err).opts(backend="bokeh", title=label, active_tools=["box_select"])


def multi_hitmap(hm: Hitmap, *, cols: int = 3, height: int = 240, max_groups: int = 24) -> hv.Layout:
    """Small multiples: one hitmap per group of a grouped :class:`Hitmap` (``by=("service",)``),
    busiest first, on shared axes."""
    groups = hm.ranked(limit=max_groups) if hm.by else [()]
    elements = [hitmap_element(hm, group=g if hm.by else None, height=height) for g in groups]
    return hv.Layout(elements).cols(cols).opts(backend="bokeh", shared_axes=True)


@dataclasses.dataclass(frozen=True)
class Bands:
    """The layout of a :func:`band_hitmap`: its groups top to bottom, and ``rows`` response-time
    rows per band (each ``merge`` rows of the hitmap from row ``first`` up; faster transactions
    count in a band's first row, slower ones in its last) with ``gap`` empty rows between bands."""

    groups: tuple[tuple[Any, ...], ...]
    rows: int
    merge: int
    first: int = 0
    gap: int = 2

    @property
    def pitch(self) -> int:
        """Rows from one band's bottom to the next one's."""
        return self.rows + self.gap

    def group_at(self, y: float | None) -> tuple[Any, ...] | None:
        """The group whose band holds the y coordinate ``y`` (a tap), or None (a gap, outside)."""
        if y is None or not self.groups or not math.isfinite(y) or y < 0:
            return None
        k, offset = divmod(y, self.pitch)
        below = int(k)  # bands counted from the bottom
        if offset >= self.rows or below >= len(self.groups):
            return None
        return self.groups[len(self.groups) - 1 - below]


def bands(hm: Hitmap, *, max_groups: int = 24, rows: int = 24, span: tuple[int, int] | None = None) -> Bands:
    """The bands of ``hm``'s groups, busiest on top, each about ``rows`` rows high, showing the
    hitmap rows ``span`` (first, last): by default the whole decades its transactions span."""
    if span is None:
        used = hm.cells["rt_bin"]
        per = hm.bins_per_decade
        span = (
            (0, hm.n_rt - 1)
            if used.is_empty()
            else (
                (int(used.min()) // per) * per,
                min(hm.n_rt - 1, -(-(int(used.max()) + 1) // per) * per - 1),
            )
        )  # type: ignore[arg-type]
    first, last = span
    merge = max(1, math.ceil((last - first + 1) / rows))
    return Bands(tuple(hm.ranked(limit=max_groups)), -(-(last - first + 1) // merge), merge, first)


def band_hitmap(hm: Hitmap, layout: Bands | None = None, *, band_height: int = 44,
                title: str = "Hitmap per service") -> hv.Overlay:  # fmt: skip
    """Every group's hitmap in one plot: a band per group (:func:`bands`: busiest on top, named
    on the y axis) on a shared time axis, response times rising within each band (``merge``
    hitmap rows per band row), counts in blue, errors in red, one colour scale. One figure,
    however many services: it draws (and redraws) as fast as one hitmap. Tap-ready: a ``Tap``
    stream's ``y`` gives the group with ``layout.group_at(y)``."""
    layout = layout or bands(hm)
    n = len(layout.groups)
    first, last = layout.first, layout.first + layout.rows * layout.merge  # rows [first, last) shown

    def fold(a: np.ndarray) -> np.ndarray:  # rows outside the bands into their edge rows, then merged
        inside = np.zeros((n, layout.rows * layout.merge, hm.n_time), dtype=np.int64)
        shown = a[:, first : min(last, hm.n_rt)]
        inside[:, : shown.shape[1]] = shown
        inside[:, 0] += a[:, :first].sum(axis=1)
        inside[:, shown.shape[1] - 1] += a[:, min(last, hm.n_rt) :].sum(axis=1)
        return inside.reshape(n, layout.rows, layout.merge, hm.n_time).sum(axis=2)

    merged = [fold(a) for a in hm.stack(list(layout.groups))]
    height = max(1, n * layout.pitch - layout.gap)
    shown, failed = (np.zeros((height, hm.n_time)) for _ in "ab")
    for k in range(n):  # band k from the top; image row 0 is the bottom
        bottom = (n - 1 - k) * layout.pitch
        shown[bottom : bottom + layout.rows], failed[bottom : bottom + layout.rows] = (
            merged[0][k],
            merged[1][k],
        )
    xs = _time_centres(hm)
    if hm.n_time < 2:
        shown, failed = (np.pad(a, ((0, 0), (0, 2 - hm.n_time))) for a in (shown, failed))
    if height < 2:
        shown, failed = (np.pad(a, ((0, 1), (0, 0))) for a in (shown, failed))
    ys = np.arange(shown.shape[0]) + 0.5
    ticks = [((n - 1 - k) * layout.pitch + layout.rows / 2, " / ".join(str(v) for v in g))
             for k, g in enumerate(layout.groups)] or [(1.0, "no transactions")]  # fmt: skip
    per_row = layout.merge / hm.bins_per_decade  # decades per band row
    rt = CustomJSHover(
        code=f"const off = value - Math.floor(value / {layout.pitch}) * {layout.pitch}; "
        f"if (off >= {layout.rows}) return ''; "
        f"const ms = {hm.rt_min_ms} * 10 ** ({layout.first / hm.bins_per_decade} + "
        f"Math.floor(off) * {per_row}); "
        "return ms >= 1000 ? (ms / 1000).toPrecision(3) + ' s' : ms.toPrecision(3) + ' ms';"
    )
    kd = [hv.Dimension("end", label="finish time (UTC)"), hv.Dimension("band", label="service")]
    common = {
        "yticks": ticks,
        "responsive": True,
        "min_width": 300,
        "height": 70 + band_height * max(1, n),
        "xlabel": "finish time (UTC)",
        "ylabel": "",
        "show_grid": False,
        "default_tools": ["pan", "reset"],
        "clipping_colors": {"min": "transparent", "NaN": "transparent"},
    }
    tips = {"hover_formatters": {"$x": "datetime", "$y": rt}}
    img = hv.Image((xs, ys, shown), kdims=kd, vdims=[hv.Dimension("count", label="transactions")]).opts(
        backend="bokeh", cmap="Blues", cnorm="log", clim=(0.5, max(1.0, float(shown.max()))), colorbar=False,
        tools=["hover", "tap"], hover_tooltips=[("finish", "$x{%F %T}"), ("from", "$y{custom}"),
                                                ("transactions", "@image")], **tips, **common)  # fmt: skip
    err = hv.Image((xs, ys, failed), kdims=kd, vdims=[hv.Dimension("errors", label="errors")]).opts(
        backend="bokeh",
        cmap=["#ef9a9a", ERROR_COLOR, "#7f0000"],
        cnorm="log",
        alpha=0.9,
        clim=(0.5, max(1.0, float(failed.max()))),
        tools=["hover"],
        hover_tooltips=[("finish", "$x{%F %T}"), ("from", "$y{custom}"), ("errors", "@image")],
        **tips,
        **common,
    )
    return (img * err).opts(backend="bokeh", title=title)


def _waterfall_rows(trace: pl.DataFrame) -> pl.DataFrame:
    """The spans of ``trace`` a waterfall draws (those with an offset): their bar from
    ``offset_ms`` to ``end_ms`` on row ``y``, the row's ``label`` (indented by depth) and the
    ``colour_key`` (the service, or ``"error"``)."""
    return (
        trace.filter(pl.col("offset_ms").is_not_null())
        .with_columns(
            pl.col("duration_ms").fill_null(0.0),
            (
                pl.lit("  ").repeat_by(pl.col("depth")).list.join("")
                + pl.col("service")
                + pl.lit(": ")
                + pl.col("operation").fill_null("")
            ).alias("label"),
        )
        .with_columns(
            (pl.col("offset_ms") + pl.col("duration_ms")).alias("end_ms"),
            pl.col("row").cast(pl.Float64).alias("y"),
            pl.when(pl.col("error")).then(pl.lit("error")).otherwise(pl.col("service")).alias("colour_key"),
        )
    )


def _waterfall_colors(data: pl.DataFrame) -> dict[str, str]:
    """A colour per service of the rows (by name, from the palette), errors red."""
    services = sorted(set(data["service"].drop_nulls().to_list()))
    return {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(services)} | {"error": ERROR_COLOR}


def _waterfall_height(rows: int) -> int:
    return min(1600, 80 + 22 * rows)


def _waterfall_line_width(rows: int) -> int:
    return 10 if rows < 60 else 5


def waterfall(trace: pl.DataFrame, *, title: str | None = None, height: int | None = None) -> hv.Overlay:
    """One trace (:func:`workbench.analyses.hitmap.trace`) as horizontal bars: a row per span in
    depth-first order, from its offset to its end (ms), coloured by service, errors in red."""
    data = _waterfall_rows(trace)
    cols = [
        "offset_ms",
        "y",
        "end_ms",
        "y2",
        "service",
        "operation",
        "kind",
        "duration_ms",
        "error",
        "pod",
        "span_id",
        "colour_key",
    ]
    df = data.with_columns(pl.col("y").alias("y2")).select(cols).to_pandas()
    seg = hv.Segments(df, kdims=["offset_ms", "y", "end_ms", "y2"], vdims=cols[4:])
    cmap = _waterfall_colors(data)
    ticks = list(zip(data["y"].to_list(), data["label"].to_list(), strict=True))
    n = max(1, data.height)
    seg = seg.opts(
        backend="bokeh",
        color="colour_key",
        cmap=cmap,
        line_width=_waterfall_line_width(n),
        tools=["hover"],
        invert_yaxis=True,
        yticks=ticks,
        xlabel="ms since the trace started",
        ylabel="",
        show_grid=True,
        responsive=True,
        min_width=400,
        height=height or _waterfall_height(n),
        hover_tooltips=_WATERFALL_TOOLTIPS,
    )
    return hv.Overlay([seg]).opts(
        backend="bokeh", title=title or (f"Trace {trace['trace_id'][0]}" if trace.height else "Trace")
    )


#: The width HoloViews assumes for a responsive plot when it pads its ranges.
_HV_WIDTH = 300


def _padded(lo: float, hi: float, pad: float) -> tuple[float, float]:
    """``[lo, hi]`` widened by ``pad`` × the span on each side, as HoloViews pads a range (a
    single value first made ``[value - 1, value + 1]``)."""
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    off = (hi - lo) * pad
    return lo - off, hi + off


class Waterfall:
    """:func:`waterfall` as a Bokeh figure built once and redrawn in place by :meth:`show` for
    each trace (a served page's click sends new bars, ticks and ranges instead of a new plot):
    the same bars, colours, row labels, hover, size and ranges (padded as HoloViews pads the
    responsive plot). ``figure`` is what a page shows."""

    _COLUMNS = ("offset_ms", "end_ms", "y", "service", "operation", "kind", "duration_ms", "error", "pod",
                "span_id", "color")  # fmt: skip

    def __init__(self) -> None:
        self.source = ColumnDataSource({c: [] for c in self._COLUMNS})
        self.figure = figure(
            title="Trace", height=_waterfall_height(1), min_width=400, sizing_mode="stretch_width",
            tools="pan,wheel_zoom,box_zoom,save,reset", active_drag="pan", active_scroll="wheel_zoom",
            toolbar_location="right", x_range=Range1d(), y_range=Range1d(),
            min_border_top=10, min_border_bottom=10, min_border_left=10, min_border_right=10,
        )  # fmt: skip
        self.figure.title.update(text_color="black", text_font_size="12pt")  # as HoloViews' theme
        self.figure.xaxis.axis_label = "ms since the trace started"
        self.ticker = FixedTicker(ticks=[])
        self.figure.yaxis.ticker = self.ticker
        self._bars = self.figure.segment(
            "offset_ms", "y", "end_ms", "y", source=self.source, line_color="color", line_width=10
        )
        self.figure.add_tools(HoverTool(renderers=[self._bars], tooltips=_WATERFALL_TOOLTIPS))

    def show(self, trace: pl.DataFrame, *, title: str | None = None) -> None:
        """Draw ``trace`` (:func:`workbench.analyses.hitmap.trace`) under ``title`` (by default
        its trace id)."""
        data = _waterfall_rows(trace)
        cmap = _waterfall_colors(data)
        n = max(1, data.height)
        height = _waterfall_height(n)
        self.source.data = {
            **{c: data[c].to_numpy() for c in ("offset_ms", "end_ms", "y", "duration_ms")},
            **{c: data[c].to_list() for c in ("service", "operation", "kind", "error", "pod", "span_id")},
            "color": [cmap.get(k, "gray") for k in data["colour_key"].to_list()],
        }
        rows = data["y"].to_list()
        self.ticker.ticks = rows
        self.figure.yaxis.major_label_overrides = dict(zip(rows, data["label"].to_list(), strict=True))
        self.figure.title.text = title or (f"Trace {trace['trace_id'][0]}" if trace.height else "Trace")
        self.figure.height = height
        self._bars.glyph.line_width = _waterfall_line_width(n)
        # HoloViews pads both ranges by a tenth, the shorter side of a plot of its assumed
        # aspect less (the rows of a tall plot, the times of a wide one); rows run downwards
        aspect = _HV_WIDTH / height
        xpad, ypad = (0.1 / aspect, 0.1) if aspect > 1 else (0.1, 0.1 * aspect)
        if data.height:
            x0, x1 = _padded(float(data["offset_ms"].min()), float(data["end_ms"].max()), xpad)  # type: ignore[arg-type]
            y0, y1 = _padded(min(rows), max(rows), ypad)
            self.figure.x_range.update(start=x0, end=x1, reset_start=x0, reset_end=x1)
            self.figure.y_range.update(start=y1, end=y0, reset_start=y1, reset_end=y0)
