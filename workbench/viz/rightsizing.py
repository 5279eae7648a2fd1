"""Charts for right-sizing (HoloViews, bokeh; no widgets): current vs advised per container,
and the total change.

>>> from workbench.analyses import rightsizing
>>> from workbench.viz import rightsizing as rv
>>> rs = rightsizing.analyse(ds)                                   # doctest: +SKIP
>>> rv.current_vs_advised(rs.advice) + rv.totals_bars(rs.totals)    # doctest: +SKIP

The served page draws the same bars into Bokeh figures built once and redrawn in place
(:class:`AdvisedBars`, :class:`TotalsBars`; see :mod:`workbench.viz._figures`).
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend, LegendItem, Range1d
from bokeh.plotting import figure
from bokeh.transform import dodge, factor_cmap

from workbench.viz._figures import TOOLS

__all__ = ["STATUS_COLORS", "AdvisedBars", "TotalsBars", "advice_table", "current_vs_advised", "totals_bars"]

STATUS_COLORS = {"under-provisioned": "#c62828", "over-provisioned": "#1565c0", "ok": "#2e7d32",
                 "no requests": "#f9a825", "not enough data": "#9e9e9e"}  # fmt: skip
_UNIT = {"cpu": (1000.0, "millicores"), "memory": (1 / 2**20, "MiB")}


_VALUE_COLORS = {"current": "#90a4ae", "advised": "#ef6c00"}


def _advised(advice: pl.DataFrame, resource: str, kind: str, limit: int) -> pl.DataFrame | None:
    """Per container shown (the ``limit`` largest changes, the largest last): ``container_``
    and its ``current`` and ``advised`` value in the chart's unit (null: none); None when no
    container has either."""
    scale, _ = _UNIT[resource]
    col = f"{resource}_{kind}"
    d = advice.filter(pl.col(f"{col}_advised").is_not_null() | pl.col(col).is_not_null())
    if d.is_empty():
        return None
    name = pl.concat_str(pl.col("workload_name"), pl.lit("/"), pl.col("container"))
    if d["cluster"].n_unique() > 1:
        name = pl.concat_str(name, pl.lit(" ("), pl.col("cluster"), pl.lit(")"))
    d = (
        d.with_columns(
            name.alias("container_"),
            pl.col(f"{col}_change").abs().fill_null(0.0).alias("_c"),
        )
        .sort("_c", descending=True)
        .head(limit)
        .reverse()
    )
    return d.select(
        "container_", (pl.col(col) * scale).alias("current"), (pl.col(f"{col}_advised") * scale).alias("advised"),
    )  # fmt: skip


def _advised_height(rows: int) -> int:
    return max(260, 90 + 30 * rows)


def current_vs_advised(advice: pl.DataFrame, *, resource: str = "cpu", kind: str = "request",
                       limit: int = 30) -> hv.Bars | hv.Text:  # fmt: skip
    """Per workload container, the current and advised ``resource`` ``kind`` (request or limit)
    side by side; the ``limit`` largest changes, the largest on top."""
    title = f"{resource} {kind}: current vs advised"
    _, unit = _UNIT[resource]
    col = f"{resource}_{kind}"
    d = _advised(advice, resource, kind, limit)
    if d is None:
        return hv.Text(0, 0, "no advice").opts(title=title, xaxis=None, yaxis=None, toolbar=None)
    long = d.unpivot(index="container_", variable_name="value", value_name=unit).fill_null(0.0)
    # a per-chart name for the category axis, so that charts laid out together do not share it;
    # the order of the bars within a container declared (as HoloViews would sort them, without
    # working it out from the data)
    key = hv.Dimension(f"{col}_of", label=f"{resource} {kind} of")
    value = hv.Dimension("value", values=["advised", "current"])
    return hv.Bars(long.rename({"container_": key.name}).to_pandas(), kdims=[key, value], vdims=unit).opts(
        invert_axes=True, multi_level=False, color="value", cmap=_VALUE_COLORS,
        title=title, responsive=True, min_width=420, height=_advised_height(d.height), xlabel="", ylabel=unit,
        tools=["hover"], show_grid=True, legend_position="right",
    )  # fmt: skip


_ORDER = ["request current", "request advised", "limit current", "limit advised"]
_TOTAL_COLORS = dict(zip(_ORDER, ["#90a4ae", "#ef6c00", "#cfd8dc", "#ffb74d"], strict=True))
_TOTAL_PANELS = (("cpu", "cores", "cores"), ("memory", "gib", "GiB"))


def _totals_long(totals: pl.DataFrame, resource: str, unit: str, label: str) -> pl.DataFrame:
    """``cluster``, ``what`` (:data:`_ORDER`) and the value ``label`` of each cluster's row of
    ``totals`` (one cluster: its row only, "(all)" being the same)."""
    if totals.height == 2:
        totals = totals.head(1)
    return pl.concat([
        totals.select("cluster", pl.lit(f"{k} {s}").alias("what"), pl.col(f"{resource}_{k}_{s}_{unit}").alias(label))
        for k in ("request", "limit") for s in ("current", "advised")
    ]).fill_null(0.0)  # fmt: skip


def totals_bars(totals: pl.DataFrame) -> hv.Layout | hv.Text:
    """Current vs advised requests and limits × replicas per cluster: cores and GiB."""
    if totals.is_empty():
        return hv.Text(0, 0, "no advice").opts(title="Totals", xaxis=None, yaxis=None, toolbar=None)
    what = hv.Dimension("what", values=_ORDER)
    panels = []
    for resource, unit, label in _TOTAL_PANELS:
        long = _totals_long(totals, resource, unit, label)
        panels.append(hv.Bars(long.to_pandas(), kdims=["cluster", what], vdims=label).opts(
            title=f"{resource}: total {label} (× replicas)", responsive=True, min_width=360, height=300, xlabel="",
            color="what", cmap=_TOTAL_COLORS, tools=["hover"], show_legend=False, multi_level=True, xrotation=30))  # fmt: skip
    return hv.Layout(panels).cols(2)


def _bar_figure(title: str, *, height: int, min_width: int, **ranges: Any) -> Any:
    """A figure styled as HoloViews styles its bar charts (title, no minor grid clutter)."""
    fig = figure(title=title, height=height, min_width=min_width, sizing_mode="stretch_width", tools=TOOLS,
                 toolbar_location="right", min_border_top=10, min_border_bottom=10, min_border_left=10,
                 min_border_right=10, **ranges)  # fmt: skip
    fig.title.text_color, fig.title.text_font_size = "black", "12pt"  # as HoloViews' theme
    return fig


def _value_range(rng: Range1d, values: list[np.ndarray]) -> None:
    """From 0 to the highest bar and a tenth more (as HoloViews pads bars), 0–1 without bars."""
    top = max((float(np.nanmax(v)) for v in values if len(v) and np.isfinite(v).any()), default=0.0)
    top = max(top, 0.0) * 1.1 or 1.0
    rng.update(start=0.0, end=top, reset_start=0.0, reset_end=top)


class AdvisedBars:
    """:func:`current_vs_advised` as a Bokeh figure redrawn in place by :meth:`draw`: per
    container (category axis, the largest change on top), a bar of its advised and of its
    current value side by side; legend on the right, hover."""

    def __init__(self, *, resource: str = "cpu", kind: str = "request", limit: int = 30) -> None:
        self.resource, self.kind, self.limit = resource, kind, limit
        self.title = f"{resource} {kind}: current vs advised"
        _, self.unit = _UNIT[resource]
        self.source = ColumnDataSource({"container": [], "current": np.empty(0), "advised": np.empty(0)})
        self.figure = _bar_figure(
            self.title, height=260, min_width=420, y_range=FactorRange(), x_range=Range1d()
        )
        items = []
        for value, offset in (("current", 0.2), ("advised", -0.2)):  # current above advised, as HoloViews
            r = self.figure.hbar(y=dodge("container", offset, range=self.figure.y_range), right=value, left=0,
                                 height=0.4, source=self.source, fill_color=_VALUE_COLORS[value], line_color="black",
                                 name=value)  # fmt: skip
            items.append(LegendItem(label=value, renderers=[r]))
        self.figure.add_layout(Legend(items=items, location=(0, 0)), "right")
        self.figure.add_tools(HoverTool(tooltips=[("container", "@container"), ("value", "$name"),
                                                  (self.unit, "@$name")]))  # fmt: skip
        self.figure.xaxis.axis_label = self.unit
        self.figure.ygrid.grid_line_color = None

    def draw(self, advice: pl.DataFrame) -> None:
        """Draw ``advice`` (:data:`workbench.analyses.rightsizing.ADVICE_COLUMNS` rows) as
        :func:`current_vs_advised` does; without advice, no bars and a title that says so."""
        d = _advised(advice, self.resource, self.kind, self.limit)
        if d is None:
            d = pl.DataFrame(schema={"container_": pl.String, "current": pl.Float64, "advised": pl.Float64})
        d = d.fill_null(0.0)
        data = {"container": d["container_"].to_list(), "current": d["current"].to_numpy(),
                "advised": d["advised"].to_numpy()}  # fmt: skip
        self.source.data = data
        self.figure.y_range.factors = data["container"]
        self.figure.title.text = self.title if d.height else f"{self.title}: no advice"
        self.figure.height = _advised_height(d.height)
        _value_range(self.figure.x_range, [data["current"], data["advised"]])


class TotalsBars:
    """:func:`totals_bars` as two Bokeh figures (cores, GiB) redrawn in place by :meth:`draw`:
    per cluster, the current and advised requests and limits × replicas."""

    def __init__(self) -> None:
        self.sources: list[ColumnDataSource] = []
        self.figures: list[Any] = []
        for resource, _, label in _TOTAL_PANELS:
            source = ColumnDataSource({"x": [], "what": [], "value": np.empty(0)})
            fig = _bar_figure(f"{resource}: total {label} (× replicas)", height=300, min_width=360,
                              x_range=FactorRange(), y_range=Range1d())  # fmt: skip
            fig.vbar(x="x", top="value", bottom=0, width=0.8, source=source, line_color="black",
                     fill_color=factor_cmap("what", palette=list(_TOTAL_COLORS.values()), factors=_ORDER))  # fmt: skip
            fig.add_tools(HoverTool(tooltips=[("cluster, what", "@x"), (label, "@value")]))
            fig.xaxis.major_label_orientation = np.pi / 6  # 30°, as xrotation=30
            fig.xgrid.grid_line_color = None
            fig.yaxis.axis_label = label
            self.sources.append(source)
            self.figures.append(fig)

    def draw(self, totals: pl.DataFrame) -> None:
        """Draw ``totals`` (:data:`workbench.analyses.rightsizing.TOTAL_COLUMNS` rows) as
        :func:`totals_bars` does; without totals, no bars and titles that say so."""
        for (resource, unit, label), source, fig in zip(
            _TOTAL_PANELS, self.sources, self.figures, strict=True
        ):
            long = _totals_long(totals, resource, unit, label) if totals.height else pl.DataFrame(
                schema={"cluster": pl.String, "what": pl.String, label: pl.Float64})  # fmt: skip
            x = list(zip(long["cluster"].to_list(), long["what"].to_list(), strict=True))
            order = {c: i for i, c in enumerate(dict.fromkeys(long["cluster"].to_list()))}
            x.sort(key=lambda f: (order[f[0]], _ORDER.index(f[1])))
            values = dict(
                zip(zip(long["cluster"], long["what"], strict=True), long[label].to_list(), strict=True)
            )
            source.data = {
                "x": x,
                "what": [w for _, w in x],
                "value": np.array([values[f] for f in x], dtype=float),
            }
            fig.x_range.factors = x
            title = f"{resource}: total {label} (× replicas)"
            fig.title.text = title if long.height else f"{title}: no advice"
            _value_range(fig.y_range, [source.data["value"]])


def advice_table(advice: pl.DataFrame) -> hv.Table:
    """The advice as a table: current → advised in millicores and MiB, status and flags."""
    m, mi = 1000.0, 1 / 2**20
    d = advice.select(
        "cluster", "namespace", "workload_name", "container", "replicas", "status",
        pl.col("flags").list.join(", "),
        *[(pl.col(c) * m).round(0).alias(f"{c}_m") for c in ("cpu_request", "cpu_request_advised", "cpu_limit",
                                                             "cpu_limit_advised")],
        *[(pl.col(c) * mi).round(0).alias(f"{c}_mi") for c in ("memory_request", "memory_request_advised",
                                                              "memory_limit", "memory_limit_advised")],
    )  # fmt: skip
    return hv.Table(d.to_pandas()).opts(height=min(700, 60 + 26 * max(d.height, 1)), width=1000)
