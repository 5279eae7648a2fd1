"""Charts for the manifest history (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import manifests
>>> from workbench.viz import manifests as vm
>>> vm.history_timeline(manifests.timeline(ds, "Node", None, "ip-10-0-0-43.ec2.internal"))   # doctest: +SKIP
>>> vm.diff_view(manifests.diff(ds, "Node", None, "ip-10-0-0-43.ec2.internal", t1, t2))      # doctest: +SKIP
>>> vm.changes_chart(manifests.what_changed(ds, around=t))                                     # doctest: +SKIP

Both charts also come as Bokeh figures that a served page builds once and redraws in place for
every scope (:mod:`workbench.viz._figures`): :class:`HistoryChart` and :class:`ChangesChart`.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Span

from workbench.store import to_utc
from workbench.viz._figures import TOOLS, Shown, fit_time, ms, placeholder, styled_figure

__all__ = ["CHANGE_COLORS", "ChangesChart", "HistoryChart", "changes_chart", "diff_html", "diff_view",
           "history_timeline"]  # fmt: skip

CHANGE_COLORS = {
    "created": "#2e7d32", "deleted": "#424242", "image": "#1565c0", "replicas": "#00838f", "resources": "#6a1b9a",
    "taints": "#ef6c00", "labels": "#8d6e63", "annotations": "#a1887f", "config": "#ad1457", "spec": "#5c6bc0",
    "metadata": "#90a4ae", "status": "#b0bec5",
}  # fmt: skip
_COMMON = {"responsive": True, "min_width": 320, "show_grid": True, "toolbar": None, "default_tools": []}


def _empty(title: str) -> hv.Text:
    return hv.Text(0.5, 0.5, f"{title}: nothing to show").opts(
        backend="bokeh", xaxis=None, yaxis=None, height=120, responsive=True, toolbar=None, title=title
    )


_HISTORY_TOOLTIPS = [("time", "@time{%F %T}"), ("what", "@source"), ("object", "@object"), ("reason", "@reason"),
                     ("detail", "@detail"), ("count", "@count")]  # fmt: skip
_CHANGES_TOOLTIPS = [("time", "@time{%F %T}"), ("object", "@object"), ("namespace", "@namespace"), ("field", "@path"),
                     ("old", "@old"), ("new", "@new"), ("rank", "@rank")]  # fmt: skip
_AROUND = {"color": "#c62828", "line_dash": "dashed", "line_width": 2}


def _history_points(timeline: pl.DataFrame) -> pl.DataFrame:
    """The points of :func:`history_timeline`: ``time``, ``row`` (``revisions`` or the object an
    event is about), the hover's columns, ``color`` and ``marker``."""
    return timeline.with_columns(
        pl.when(pl.col("source") == "revision").then(pl.lit("revisions")).otherwise(pl.col("object")).alias("row"),
        pl.when(pl.col("source") == "revision").then(pl.lit("#1565c0"))
        .when(pl.col("type") == "Warning").then(pl.lit("#c62828")).otherwise(pl.lit("#9e9e9e")).alias("color"),
        pl.when(pl.col("source") == "revision").then(pl.lit("diamond")).otherwise(pl.lit("circle")).alias("marker"),
        pl.col("detail").fill_null("").str.slice(0, 160), pl.col("reason").fill_null(""),
    ).select("time", "row", "source", "object", "reason", "detail", "count", "color", "marker")  # fmt: skip


def _history_height(rows: int) -> int:
    return max(160, 80 + 28 * rows)


def history_timeline(timeline: pl.DataFrame, *, title: str = "Revisions and events") -> hv.Element:
    """Revisions (diamonds, on the ``revision`` row) and events (circles, one row per object)
    on one time axis; events are red for Warning, grey for Normal. Hover shows the details."""
    if timeline.is_empty():
        return _empty(title)
    data = _history_points(timeline)
    rows = data["row"].unique(maintain_order=True).to_list()
    points = hv.Points(data.to_pandas(), kdims=["time", "row"], vdims=["source", "object", "reason", "detail", "count",
                                                                      "color", "marker"], label=title)  # fmt: skip
    return points.opts(
        backend="bokeh", color="color", marker="marker", size=11, tools=["hover"], title=title, xlabel="time (UTC)",
        ylabel="", height=_history_height(len(rows)), hover_tooltips=_HISTORY_TOOLTIPS,
        hover_formatters={"@time": "datetime"}, **_COMMON,
    )  # fmt: skip


def _change_points(changes: pl.DataFrame) -> pl.DataFrame:
    """The points of :func:`changes_chart`: ``time``, ``category``, the hover's columns and ``color``."""
    return changes.with_columns(
        pl.format("{}/{}", "kind", "name").alias("object"),
        pl.col("category").replace_strict(CHANGE_COLORS, default="#9e9e9e").alias("color"),
        pl.col("old").fill_null("∅").str.slice(0, 80), pl.col("new").fill_null("∅").str.slice(0, 80),
        pl.col("path").fill_null(""), pl.col("namespace").fill_null(""),
    ).select("time", "category", "object", "namespace", "path", "old", "new", "rank", "color")  # fmt: skip


def _changes_height(categories: int) -> int:
    return max(160, 80 + 30 * categories)


def changes_chart(
    changes: pl.DataFrame, *, around: dt.datetime | str | None = None, title: str = "What changed"
) -> hv.Element:
    """Each change as a point (time × category, coloured by category; hover: object, field, old
    and new value), with a vertical line at ``around`` (the incident)."""
    if changes.is_empty():
        return _empty(title)
    data = _change_points(changes)
    cats = data["category"].unique().to_list()
    points = hv.Points(data.to_pandas(), kdims=["time", "category"],
                       vdims=["object", "namespace", "path", "old", "new", "rank", "color"], label=title)  # fmt: skip
    chart: hv.Element = points.opts(
        backend="bokeh", color="color", size=10, tools=["hover"], title=title, xlabel="time (UTC)", ylabel="", show_legend=False,
        height=_changes_height(len(cats)), hover_tooltips=_CHANGES_TOOLTIPS, hover_formatters={"@time": "datetime"},
        **_COMMON,
    )  # fmt: skip
    if around is not None:
        chart = chart * hv.VLine(to_utc(around)).opts(backend="bokeh", **_AROUND)
    return chart


class _Points(Shown):
    """Points over time, one row per category (rows in order of first appearance, the first at
    the bottom), each with its own colour: the figure of :class:`HistoryChart` and
    :class:`ChangesChart`, redrawn in place by :meth:`_draw`."""

    def __init__(self, title: str, *, row: str, columns: tuple[str, ...], tooltips: list[tuple[str, str]],
                 tools: str, **glyph: Any) -> None:  # fmt: skip
        self.title, self.row = title, row
        self.source = ColumnDataSource({"time": [], row: [], **{c: [] for c in columns}})
        self.figure = styled_figure(title, x_axis_type="datetime", xlabel="time (UTC)", ylabel="",
                                    height=_history_height(0), min_width=_COMMON["min_width"], toolbar=None,
                                    y_range=FactorRange(), tools=tools)  # fmt: skip
        r = self.figure.scatter(x="time", y=row, source=self.source, fill_color="color", line_color="color",
                                hatch_color="color", muted_alpha=0.2, nonselection_alpha=0.1, **glyph)  # fmt: skip
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=tooltips, formatters={"@time": "datetime"}))
        self.figure.output_backend = "webgl"  # as HoloViews draws
        self.placeholder = placeholder(title, f"{title}: nothing to show", min_width=_COMMON["min_width"])
        self.hide()

    def _draw(self, data: pl.DataFrame, *, height: int) -> None:
        """Draw ``data`` (``time``, the row column and the source's other columns), ``height`` px high."""
        self._show(data=not data.is_empty())
        if not self.has_data:
            return
        x = ms(data["time"])
        self.source.data = {"time": x, **{c: data[c].to_list() for c in self.source.data if c != "time"}}
        self.figure.y_range.factors = data[self.row].unique(maintain_order=True).to_list()
        self.figure.height = height
        # HoloViews pads a time axis by a tenth of its span on each side, less on a plot less
        # tall than its default width (300 px)
        fit_time(self.figure.x_range, float(x.min()), float(x.max()), pad=0.1 * min(1.0, height / 300))


class HistoryChart(_Points):
    """:func:`history_timeline` as a Bokeh figure redrawn in place by :meth:`draw`. ``figure``
    shows the points, ``placeholder`` says that there is nothing to show (see
    :class:`~workbench.viz._figures.Shown`)."""

    def __init__(self, *, title: str = "Revisions and events") -> None:
        super().__init__(title, row="row", columns=("source", "object", "reason", "detail", "count", "color", "marker"),
                         tooltips=_HISTORY_TOOLTIPS, tools="", marker="marker", size=11)  # fmt: skip

    def draw(self, timeline: pl.DataFrame) -> None:
        """Draw ``timeline`` (:func:`workbench.analyses.manifests.timeline`) as :func:`history_timeline` does."""
        data = _history_points(timeline)
        self._draw(data, height=_history_height(data["row"].n_unique()))


class ChangesChart(_Points):
    """:func:`changes_chart` as a Bokeh figure redrawn in place by :meth:`draw`, the moment
    ``around`` marked by a dashed line. ``figure`` shows the points, ``placeholder`` says that
    there is nothing to show (see :class:`~workbench.viz._figures.Shown`)."""

    def __init__(self, *, title: str = "What changed") -> None:
        super().__init__(title, row="category", columns=("object", "namespace", "path", "old", "new", "rank", "color"),
                         tooltips=_CHANGES_TOOLTIPS, tools=TOOLS, size=10)  # fmt: skip
        self.around = Span(dimension="height", line_color=_AROUND["color"], line_width=_AROUND["line_width"],
                           line_dash=_AROUND["line_dash"], level="glyph", visible=False)  # fmt: skip
        self.figure.renderers.append(self.around)  # as HoloViews adds it: drawn over the points

    def draw(self, changes: pl.DataFrame, *, around: dt.datetime | str | None = None) -> None:
        """Draw ``changes`` (:func:`workbench.analyses.manifests.what_changed`) as :func:`changes_chart` does."""
        data = _change_points(changes)
        self._draw(data, height=_changes_height(data["category"].n_unique()))
        if around is not None:
            self.around.update(location=to_utc(around).timestamp() * 1000.0, visible=True)
        elif self.around.visible:
            self.around.visible = False


def diff_html(text: str) -> str:
    """A unified diff as HTML: added lines green, removed lines red (text escaped)."""
    if not text:
        return "<p><em>no differences</em></p>"
    lines = []
    for line in text.splitlines():
        style = ""
        if line.startswith(("+++", "---")):
            style = "color:#555;font-weight:bold"
        elif line.startswith("+"):
            style = "background:#e6ffed;color:#1b5e20"
        elif line.startswith("-"):
            style = "background:#ffeef0;color:#b71c1c"
        elif line.startswith("@@"):
            style = "color:#6a1b9a"
        lines.append(f'<span style="{style}">{html.escape(line)}</span>')
    body = "\n".join(lines)
    return f'<pre style="font-size:12px;line-height:1.35;margin:0;white-space:pre-wrap">{body}</pre>'


def diff_view(diff: object, *, height: int = 420) -> hv.Div:
    """A :class:`~workbench.analyses.manifests.ManifestDiff` (or diff text) as a coloured, scrollable panel."""
    text = getattr(diff, "text", diff)
    return hv.Div(diff_html(str(text or ""))).opts(
        backend="bokeh", height=height, sizing_mode="stretch_width"
    )
