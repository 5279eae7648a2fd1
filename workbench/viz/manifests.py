"""Charts for the manifest history (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import manifests
>>> from workbench.viz import manifests as vm
>>> vm.history_timeline(manifests.timeline(ds, "Node", None, "ip-10-0-0-43.ec2.internal"))   # doctest: +SKIP
>>> vm.diff_view(manifests.diff(ds, "Node", None, "ip-10-0-0-43.ec2.internal", t1, t2))      # doctest: +SKIP
>>> vm.changes_chart(manifests.what_changed(ds, around=t))                                     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import html

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

from workbench.store import to_utc

__all__ = ["CHANGE_COLORS", "changes_chart", "diff_html", "diff_view", "history_timeline"]

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


def history_timeline(timeline: pl.DataFrame, *, title: str = "Revisions and events") -> hv.Element:
    """Revisions (diamonds, on the ``revision`` row) and events (circles, one row per object)
    on one time axis; events are red for Warning, grey for Normal. Hover shows the details."""
    if timeline.is_empty():
        return _empty(title)
    data = timeline.with_columns(
        pl.when(pl.col("source") == "revision").then(pl.lit("revisions")).otherwise(pl.col("object")).alias("row"),
        pl.when(pl.col("source") == "revision").then(pl.lit("#1565c0"))
        .when(pl.col("type") == "Warning").then(pl.lit("#c62828")).otherwise(pl.lit("#9e9e9e")).alias("color"),
        pl.when(pl.col("source") == "revision").then(pl.lit("diamond")).otherwise(pl.lit("circle")).alias("marker"),
        pl.col("detail").fill_null("").str.slice(0, 160), pl.col("reason").fill_null(""),
    ).select("time", "row", "source", "object", "reason", "detail", "count", "color", "marker")  # fmt: skip
    rows = data["row"].unique(maintain_order=True).to_list()
    points = hv.Points(data.to_pandas(), kdims=["time", "row"], vdims=["source", "object", "reason", "detail", "count",
                                                                      "color", "marker"], label=title)  # fmt: skip
    return points.opts(
        backend="bokeh", color="color", marker="marker", size=11, tools=["hover"], title=title, xlabel="time (UTC)",
        ylabel="", height=max(160, 80 + 28 * len(rows)),
        hover_tooltips=[("time", "@time{%F %T}"), ("what", "@source"), ("object", "@object"), ("reason", "@reason"),
                        ("detail", "@detail"), ("count", "@count")], hover_formatters={"@time": "datetime"}, **_COMMON,
    )  # fmt: skip


def changes_chart(changes: pl.DataFrame, *, around: dt.datetime | str | None = None,
                  title: str = "What changed") -> hv.Element:
    """Each change as a point (time × category, coloured by category; hover: object, field, old
    and new value), with a vertical line at ``around`` (the incident)."""
    if changes.is_empty():
        return _empty(title)
    data = changes.with_columns(
        pl.format("{}/{}", "kind", "name").alias("object"),
        pl.col("category").replace_strict(CHANGE_COLORS, default="#9e9e9e").alias("color"),
        pl.col("old").fill_null("∅").str.slice(0, 80), pl.col("new").fill_null("∅").str.slice(0, 80),
        pl.col("path").fill_null(""), pl.col("namespace").fill_null(""),
    ).select("time", "category", "object", "namespace", "path", "old", "new", "rank", "color")  # fmt: skip
    cats = data["category"].unique().to_list()
    points = hv.Points(data.to_pandas(), kdims=["time", "category"],
                       vdims=["object", "namespace", "path", "old", "new", "rank", "color"], label=title)  # fmt: skip
    chart: hv.Element = points.opts(
        backend="bokeh", color="color", size=10, tools=["hover"], title=title, xlabel="time (UTC)", ylabel="", show_legend=False,
        height=max(160, 80 + 30 * len(cats)),
        hover_tooltips=[("time", "@time{%F %T}"), ("object", "@object"), ("namespace", "@namespace"), ("field", "@path"),
                        ("old", "@old"), ("new", "@new"), ("rank", "@rank")], hover_formatters={"@time": "datetime"},
        **_COMMON,
    )  # fmt: skip
    if around is not None:
        chart = chart * hv.VLine(to_utc(around)).opts(backend="bokeh", color="#c62828", line_dash="dashed", line_width=2)
    return chart


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
    return hv.Div(diff_html(str(text or ""))).opts(backend="bokeh", height=height, sizing_mode="stretch_width")
