"""Charts for the pod start analysis (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import podstart
>>> from workbench.viz import podstart as pv
>>> r = podstart.analyse(ds, namespace="shop")                       # doctest: +SKIP
>>> pv.timeline(r.pods) + pv.start_curves(r.series, r.pods, pod="recommendation-…")  # doctest: +SKIP

A served page draws the selected pod's charts as Bokeh figures built once and redrawn in place
(:mod:`workbench.viz._figures`): :class:`StartCurves` (:func:`start_curves`) and
:class:`WorkloadCurves` (:func:`workload_curves`); and the list's :class:`Timeline`
(:func:`timeline`).
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.core.properties import field
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    FactorRange,
    HoverTool,
    Legend,
    LegendItem,
    Range1d,
    Span,
)
from bokeh.plotting import figure

from workbench.viz._figures import PAD, TOOLS, bounds, fit

__all__ = ["PHASE_COLORS", "SEGMENT_COLORS", "StartCurves", "Timeline", "WorkloadCurves", "start_curves", "timeline",
           "workload_curves"]  # fmt: skip

PHASE_COLORS = {"Pending": "#bdbdbd", "Running": "#ffcc80", "Stable Running": "#a5d6a7"}
#: HoloViews' default colour cycle, what an overlay of curves takes in order
_COLORS = ['#30a2da', '#fc4f30', '#e5ae38', '#6d904f', '#8b8b8b', '#17becf', '#9467bd', '#d62728', '#1f77b4',
           '#e377c2', '#8c564b', '#bcbd22']  # fmt: skip
SEGMENT_COLORS = {"scheduling": "#9e9e9e", "init": "#7986cb", "start": "#4fc3f7", "warm-up": "#ffb74d"}


def _placeholder(title: str) -> hv.Text:
    return hv.Text(0, 0, "no data").opts(title=title, xaxis=None, yaxis=None, toolbar=None)


_TIMELINE_TITLE = "Pod starts: Pending (scheduling, init, start) and warm-up"


def _timeline_rows(pods: pl.DataFrame, limit: int) -> pl.DataFrame:
    """:func:`timeline`'s bars: pod, segment, seconds (segments in order per pod, the slowest
    start last); none when no pod ran."""
    pods = pods.filter(pl.col("running").is_not_null())
    d = pods.with_columns(
        (pl.col("pending_s").fill_null(0) + pl.col("warmup_s").fill_null(0)).alias("_total"),
        pl.col("start_s").fill_null(pl.col("pending_s") - pl.col("scheduling_s").fill_null(0) - pl.col("init_s").fill_null(0)),
    ).sort("_total", descending=True).head(limit).reverse()  # fmt: skip
    return (
        d.select(
            pl.col("pod"),
            pl.col("scheduling_s").alias("scheduling"),
            pl.col("init_s").alias("init"),
            pl.col("start_s").alias("start"),
            pl.col("warmup_s").alias("warm-up"),
        )
        .unpivot(index="pod", variable_name="segment", value_name="seconds")
        .fill_null(0.0)
    )


def _timeline_height(bars: int) -> int:
    return max(220, 60 + 24 * bars)


def timeline(pods: pl.DataFrame, *, limit: int = 40) -> hv.Bars | hv.Text:
    """Stacked horizontal bars per started pod: scheduling, init, start (Pending) and warm-up
    (Running → Stable Running), in seconds from creation; the ``limit`` slowest starts, the
    slowest on top. Pods that never ran are left out (list them from ``pods``)."""
    long = _timeline_rows(pods, limit)
    if long.is_empty():
        return _placeholder(_TIMELINE_TITLE)
    return hv.Bars(long.to_pandas(), kdims=["pod", "segment"], vdims="seconds").opts(
        stacked=True, invert_axes=True, cmap=SEGMENT_COLORS, color="segment", title=_TIMELINE_TITLE, responsive=True,
        min_width=420, height=_timeline_height(long.height // len(SEGMENT_COLORS)), xlabel="",
        ylabel="seconds after creation", tools=["hover"], legend_position="right", show_grid=True,
    )  # fmt: skip


def _spans(phases: list[tuple[str, float, float]]) -> list[hv.VSpan]:
    return [hv.VSpan(a, b, label=name).opts(color=PHASE_COLORS[name], alpha=0.35) for name, a, b in phases]


def _phases(meta: dict[str, Any], s: pl.DataFrame) -> list[tuple[str, float, float]]:
    """The phases shaded for one pod (its row ``meta`` and its ``series`` rows ``s``): name and
    seconds after creation, those with both bounds and some length."""
    created = meta["created"]

    def secs(t: object) -> float | None:
        return None if t is None else (t - created).total_seconds()  # type: ignore[operator]

    marks = [("Pending", secs(created), secs(meta["running"])), ("Running", secs(meta["running"]), secs(meta["stable"])),
             ("Stable Running", secs(meta["stable"]), s["since_created_s"].max() if s.height else None)]  # fmt: skip
    return [(n, a, b) for n, a, b in marks if a is not None and b is not None and b > a]  # type: ignore[misc]


def start_curves(series: pl.DataFrame, pods: pl.DataFrame, *, pod: str | None = None) -> hv.Layout | hv.Text:
    """One pod's CPU (cores) and memory (MiB) from creation, with its phases shaded and its
    requests (dotted) and limits (dashed); the first pod of ``pods`` when ``pod`` is not given."""
    if pods.is_empty():
        return _placeholder("Pod start")
    name = pod or pods["pod"][0]
    meta = pods.filter(pl.col("pod") == name).row(0, named=True)
    s = series.filter(pl.col("pod") == name).sort("ts")
    phases = _phases(meta, s)
    plots = []
    for col, unit, scale, req, lim in (("cpu_cores", "cores", 1.0, "cpu_request", "cpu_limit"),
                                       ("memory_bytes", "MiB", 1 / 2**20, "memory_request", "memory_limit")):  # fmt: skip
        d = s.select(
            pl.col("since_created_s").alias("seconds"), (pl.col(col) * scale).alias(unit)
        ).drop_nulls()
        parts: list = [
            *_spans(phases),
            hv.Curve(d.to_pandas(), "seconds", unit, label=unit).opts(color="#1565c0", line_width=2),
        ]
        top = d[unit].max() or 0.0
        for key, dash in ((req, "dotted"), (lim, "dashed")):
            if meta[key]:
                parts.append(
                    hv.HLine(meta[key] * scale, label=key.split("_")[1]).opts(color="#c62828", line_dash=dash)
                )
                top = max(top, meta[key] * scale)
        plots.append(hv.Overlay(parts).opts(
            title=f"{name}: {unit} (dotted: request, dashed: limit)", responsive=True, height=260, min_width=360,
            xlabel="seconds after creation", ylabel=unit, ylim=(0, top * 1.08 or None), show_grid=True,
            show_legend=False))  # fmt: skip
    return hv.Layout(plots).cols(1)


def workload_curves(series: pl.DataFrame, pods: pl.DataFrame, *, workload: str) -> hv.Overlay | hv.Text:
    """The CPU of every start of one workload, aligned on creation, to compare them."""
    names = pods.filter(pl.col("workload_name") == workload)["pod"].to_list()
    if not names:
        return _placeholder(f"{workload}: starts")
    curves = [
        hv.Curve(
            series.filter(pl.col("pod") == n)
            .select(pl.col("since_created_s").alias("seconds"), pl.col("cpu_cores").alias("cores"))
            .drop_nulls()
            .to_pandas(),
            "seconds",
            "cores",
            label=n,
        )  # fmt: skip
        for n in names
    ]
    return hv.Overlay(curves).opts(title=f"{workload}: CPU of each start", responsive=True, height=280, min_width=360,
                                   xlabel="seconds after creation", legend_position="top_right", show_grid=True)  # fmt: skip


# --- the same charts as Bokeh figures redrawn in place (served pages) ------------------------------
def _figure(title: str, *, ylabel: str, height: int, min_width: int = 360, y_range: Any = None) -> Any:
    """A figure over seconds after creation, styled as HoloViews styles its plots."""
    fig = figure(
        title=title, height=height, min_width=min_width, sizing_mode="stretch_width", tools=TOOLS,
        active_drag="pan", active_scroll="wheel_zoom", x_range=Range1d(), y_range=y_range or Range1d(),
        min_border_top=10, min_border_bottom=10, min_border_left=10, min_border_right=10,
    )  # fmt: skip
    fig.title.text_color, fig.title.text_font_size = "black", "13px"  # as HoloViews draws it
    fig.xaxis.axis_label, fig.yaxis.axis_label = "seconds after creation", ylabel
    return fig


class StartCurves:
    """:func:`start_curves` as two Bokeh figures (CPU above memory) built once and redrawn in
    place by :meth:`draw` (:mod:`workbench.viz._figures`): phases shaded, request dotted, limit
    dashed. ``figures`` are what a page shows."""

    _UNITS = (("cpu_cores", "cores", 1.0, "cpu_request", "cpu_limit"),
              ("memory_bytes", "MiB", 1 / 2**20, "memory_request", "memory_limit"))  # fmt: skip

    def __init__(self) -> None:
        self.figures, self._sources, self._spans, self._lines = [], [], [], []
        for _, unit, _, _, _ in self._UNITS:
            fig = _figure("", ylabel=unit, height=260)
            spans = {n: BoxAnnotation(fill_color=c, fill_alpha=0.35, line_alpha=0, visible=False)
                     for n, c in PHASE_COLORS.items()}  # fmt: skip
            for box in spans.values():
                fig.add_layout(box)
            source = ColumnDataSource({"seconds": np.empty(0), "value": np.empty(0)})
            fig.line("seconds", "value", source=source, line_color="#1565c0", line_width=2)
            lines = [Span(dimension="width", line_color="#c62828", line_dash=dash, line_width=3, visible=False)
                     for dash in ("dotted", "dashed")]  # fmt: skip
            for line in lines:
                fig.add_layout(line)
            self.figures.append(fig)
            self._sources.append(source)
            self._spans.append(spans)
            self._lines.append(lines)

    def draw(self, series: pl.DataFrame, pods: pl.DataFrame, *, pod: str | None = None) -> None:
        """Draw one pod (as :func:`start_curves`; ``pods`` must have it)."""
        name = pod or pods["pod"][0]
        meta = pods.filter(pl.col("pod") == name).row(0, named=True)
        s = series.filter(pl.col("pod") == name).sort("ts")
        phases = _phases(meta, s)
        for (col, unit, scale, req, lim), fig, source, spans, lines in zip(
            self._UNITS, self.figures, self._sources, self._spans, self._lines, strict=True
        ):
            d = s.select(pl.col("since_created_s"), (pl.col(col) * scale).alias("v")).drop_nulls()
            x, y = d["since_created_s"].to_numpy(), d["v"].cast(pl.Float64).to_numpy()
            source.data = {"seconds": x, "value": y}
            shown = {n: (a, b) for n, a, b in phases}
            for n, box in spans.items():
                if n in shown:
                    box.update(left=shown[n][0], right=shown[n][1], visible=True)
                else:
                    box.visible = False
            top = float(y.max()) if len(y) else 0.0
            for key, line in zip((req, lim), lines, strict=True):
                if meta[key]:
                    line.update(location=meta[key] * scale, visible=True)
                    top = max(top, meta[key] * scale)
                else:
                    line.visible = False
            fig.title.text = f"{name}: {unit} (dotted: request, dashed: limit)"
            xs = [x, *[np.array([a, b]) for _, a, b in phases]]
            fit(fig.x_range, *bounds(xs))
            if top:
                fit(fig.y_range, 0.0, top * 1.08)
            else:
                fit(fig.y_range, *bounds([y]), pad=PAD)


class WorkloadCurves:
    """:func:`workload_curves` as a Bokeh figure built once and redrawn in place by
    :meth:`draw`: a line per start (HoloViews' colours, in order), legend at the top right."""

    def __init__(self) -> None:
        self.figure = _figure("", ylabel="cores", height=280)
        self._source = ColumnDataSource({"xs": [], "ys": [], "pod": [], "color": []})
        r = self.figure.multi_line("xs", "ys", source=self._source, line_color="color", line_width=2)
        self.figure.add_layout(
            Legend(items=[LegendItem(label=field("pod"), renderers=[r])], location="top_right")
        )

    def draw(self, series: pl.DataFrame, pods: pl.DataFrame, *, workload: str) -> None:
        """Draw the starts of ``workload`` in ``pods`` (as :func:`workload_curves`)."""
        names = pods.filter(pl.col("workload_name") == workload)["pod"].to_list()
        xs, ys = [], []
        for n in names:
            d = series.filter(pl.col("pod") == n).select("since_created_s", "cpu_cores").drop_nulls()
            xs.append(d["since_created_s"].to_numpy())
            ys.append(d["cpu_cores"].cast(pl.Float64).to_numpy())
        colors = _COLORS * (len(names) // len(_COLORS) + 1)
        self._source.data = {"xs": xs, "ys": ys, "pod": names, "color": colors[: len(names)]}
        self.figure.title.text = f"{workload}: CPU of each start" + ("" if names else ": no data")
        fit(self.figure.x_range, *bounds(xs))
        fit(self.figure.y_range, *bounds(ys), pad=PAD)


class Timeline:
    """:func:`timeline` as a Bokeh figure built once and redrawn in place by :meth:`draw`:
    stacked horizontal bars per pod (the slowest on top), legend on the right, hover."""

    def __init__(self) -> None:
        self.figure = _figure(_TIMELINE_TITLE, ylabel="", height=_timeline_height(0), min_width=420,
                              y_range=FactorRange())  # fmt: skip
        self.figure.ygrid.grid_line_color = None
        self._source = ColumnDataSource(
            {
                "pod": [],
                "segment": [],
                "seconds": np.empty(0),
                "left": np.empty(0),
                "right": np.empty(0),
                "color": [],
            }
        )
        r = self.figure.hbar(y="pod", left="left", right="right", height=0.8, fill_color="color", line_color="black",
                             source=self._source)  # fmt: skip
        self.figure.add_layout(Legend(items=[LegendItem(label=field("segment"), renderers=[r])], location=(0, 0)),
                               "right")  # fmt: skip
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=[("pod", "@pod"), ("segment", "@segment"),
                                                                ("seconds", "@seconds")]))  # fmt: skip

    def draw(self, pods: pl.DataFrame, *, limit: int = 40) -> None:
        """Draw ``pods`` (:data:`workbench.analyses.podstart.START_COLUMNS` rows; as :func:`timeline`)."""
        long = _timeline_rows(pods, limit)
        names = long["pod"].unique(maintain_order=True).to_list()
        # segments stacked in order on each pod's bar; drawn segment by segment (the legend's order)
        bars = long.with_columns(pl.col("seconds").cum_sum().over("pod").alias("right")).with_columns(
            (pl.col("right") - pl.col("seconds")).alias("left")
        )
        bars = bars.sort(pl.col("segment").replace_strict({k: i for i, k in enumerate(SEGMENT_COLORS)}),
                         maintain_order=True)  # fmt: skip
        self._source.data = {
            "pod": bars["pod"].to_list(), "segment": bars["segment"].to_list(),
            "seconds": bars["seconds"].to_numpy(), "left": bars["left"].to_numpy(), "right": bars["right"].to_numpy(),
            "color": [SEGMENT_COLORS[k] for k in bars["segment"].to_list()],
        }  # fmt: skip
        self.figure.y_range.factors = names
        self.figure.height = _timeline_height(len(names))
        self.figure.title.text = _TIMELINE_TITLE + ("" if names else ": no data")
        lo, hi = bounds([bars["left"].to_numpy(), bars["right"].to_numpy()])
        if hi is not None:
            fit(self.figure.x_range, min(lo, 0.0), hi + (hi - min(lo, 0.0)) * PAD)
