"""Charts for the pending pod analysis (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import pending
>>> from workbench.viz import pending as vp
>>> p = pending.pending_pods(ds)                         # doctest: +SKIP
>>> vp.qos_bars(pending.summary(p, by="qos_class")) + vp.reason_bars(pending.reasons(p))  # doctest: +SKIP
>>> vp.pending_timeline(p)                               # doctest: +SKIP
>>> vp.headroom_bars(pending.headroom(ds))               # doctest: +SKIP

A served page draws them as Bokeh figures built once and redrawn in place
(:mod:`workbench.viz._figures`): :class:`QosBars`, :class:`ReasonBars`, :class:`PendingTimeline`
and :class:`HeadroomBars`.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import numpy as np
import polars as pl
from bokeh.core.properties import field
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Legend, LegendItem, Range1d
from bokeh.plotting import figure

from workbench.viz._figures import PAD, bounds, fit, ms

__all__ = ["CATEGORY_COLORS", "QOS_COLORS", "HeadroomBars", "PendingTimeline", "QosBars", "ReasonBars", "headroom_bars",
           "pending_timeline", "qos_bars", "reason_bars"]  # fmt: skip

QOS_COLORS = {
    "Guaranteed": "#2e7d32",
    "Burstable": "#f9a825",
    "BestEffort": "#c62828",
    "(unknown)": "#9e9e9e",
}
CATEGORY_COLORS = {
    "insufficient_cpu": "#d84315", "insufficient_memory": "#6a1b9a", "insufficient_resource": "#ad1457",
    "too_many_pods": "#4e342e", "host_ports": "#00838f", "pvc_missing": "#1565c0", "pvc_unbound": "#1e88e5",
    "volume": "#42a5f5", "pod_affinity": "#558b2f", "topology_spread": "#7cb342", "untolerated_taint": "#ef6c00",
    "node_unschedulable": "#8d6e63", "node_not_ready": "#5d4037", "node_selector": "#00695c",
    "quota_exceeded": "#c62828", "scheduling_gated": "#757575", "other": "#9e9e9e",
}  # fmt: skip
_COMMON = {"responsive": True, "min_width": 280, "show_grid": True, "toolbar": None, "default_tools": []}


def _empty(title: str) -> hv.Text:
    return hv.Text(0.5, 0.5, f"{title}: nothing to show").opts(
        backend="bokeh", xaxis=None, yaxis=None, height=120, responsive=True, toolbar=None, title=title
    )


def qos_bars(by_qos: pl.DataFrame, *, title: str = "Pending pods by QoS class") -> hv.Element:
    """Bars: pending pods per QoS class (``summary(p, by="qos_class")``), still pending darker."""
    if by_qos.is_empty():
        return _empty(title)
    data = by_qos.with_columns(pl.col("qos_class").fill_null("(unknown)")).select(
        "qos_class", "pods", "still_pending",
        pl.col("qos_class").replace_strict(QOS_COLORS, default="#9e9e9e").alias("color"),
    )  # fmt: skip
    bars = hv.Bars(
        data.to_pandas(), kdims=["qos_class"], vdims=["pods", "still_pending", "color"], label=title
    )
    return bars.opts(
        backend="bokeh", color="color", tools=["hover"], xlabel="QoS class", ylabel="pods", title=title, height=260,
        hover_tooltips=[("QoS class", "@qos_class"), ("pods", "@pods"), ("still pending", "@still_pending")], **_COMMON,
    )  # fmt: skip


def _reason_counts(reasons: pl.DataFrame) -> pl.DataFrame:
    """Pods per primary reason category, the most common last, with its colour."""
    primary = reasons.filter(pl.col("primary")).unique(
        ["cluster", "namespace", "pod", "state", "category", "text"]
    )
    return (
        primary.group_by("category").agg(pl.struct("cluster", "namespace", "pod").n_unique().alias("pods"))
        .sort(["pods", "category"], descending=[False, True])
        .with_columns(pl.col("category").replace_strict(CATEGORY_COLORS, default="#9e9e9e").alias("color"))
    )  # fmt: skip


def reason_bars(reasons: pl.DataFrame, *, title: str = "Why pods wait (primary reason)") -> hv.Element:
    """Horizontal bars: pods per primary reason category (``pending.reasons(p)``)."""
    data = _reason_counts(reasons)
    if data.is_empty():
        return _empty(title)
    bars = hv.Bars(data.to_pandas(), kdims=["category"], vdims=["pods", "color"], label=title)
    return bars.opts(
        backend="bokeh", invert_axes=True, color="color", tools=["hover"], xlabel="", ylabel="pods", title=title,
        height=max(160, 60 + 28 * data.height), hover_tooltips=[("reason", "@category"), ("pods", "@pods")], **_COMMON,
    )  # fmt: skip


def _timeline_rows(pending: pl.DataFrame) -> pl.DataFrame:
    """The bars of :func:`pending_timeline`: label, from, to, reason, QoS, state, minutes, colour."""
    rows = pending.filter(pl.col("pending_since").is_not_null() & pl.col("pending_until").is_not_null())
    data = rows.with_columns(
        pl.format("{}/{}", pl.col("namespace").fill_null("?"),
                  pl.col("pod").fill_null(pl.format("{} (refused)", pl.col("owner_name")))).alias("label"),
        pl.col("primary").fill_null("other"), pl.col("qos_class").fill_null("(unknown)"),
        (pl.col("pending_for").dt.total_seconds() / 60).round(1).alias("minutes"),
    ).with_columns(pl.col("primary").replace_strict(CATEGORY_COLORS, default="#9e9e9e").alias("color"))  # fmt: skip
    data = data.select(
        "label", "pending_since", "pending_until", "primary", "qos_class", "state", "minutes", "color"
    )
    return data


def pending_timeline(pending: pl.DataFrame, *, title: str = "Time spent pending") -> hv.Element:
    """One bar per pod from the moment it started waiting to the moment it got a node (or was
    deleted, or the snapshot ended), coloured by its primary reason."""
    data = _timeline_rows(pending)
    if data.is_empty():
        return _empty(title)
    labels = data["label"].to_list()
    seg = hv.Segments(
        data.with_columns(pl.col("label").alias("label_end")).to_pandas(),
        kdims=["pending_since", "label", "pending_until", "label_end"],
        vdims=["primary", "qos_class", "state", "minutes", "color"], label=title,
    )  # fmt: skip
    return seg.opts(
        backend="bokeh", color="color", line_width=10, tools=["hover"], title=title, xlabel="time (UTC)", ylabel="",
        height=max(180, 70 + 26 * len(labels)),
        hover_tooltips=[("pod", "@label"), ("reason", "@primary"), ("QoS", "@qos_class"), ("state", "@state"),
                        ("minutes", "@minutes")], **_COMMON,
    )  # fmt: skip


#: resource, requested and free columns (of :func:`_headroom_rows`), unit
_HEADROOM = (("CPU", "cpu_requested", "cpu_free", "cores"), ("Memory", "mem_requested", "mem_free", "GiB"))


def _headroom_rows(headroom: pl.DataFrame) -> pl.DataFrame:
    """Per node (``where``: cluster/node, sorted downwards): CPU and memory (GiB) requested and free."""
    return headroom.with_columns(
        pl.format("{}/{}", "cluster", "node").alias("where"),
        (pl.col("memory_requested") / 2**30).alias("mem_requested"), (pl.col("memory_free") / 2**30).alias("mem_free"),
    ).sort("where", descending=True)  # fmt: skip


def headroom_bars(
    headroom: pl.DataFrame, *, title: str = "Free allocatable per node"
) -> hv.Layout | hv.Element:
    """Per node: CPU (cores) and memory (GiB) requested vs free allocatable, side by side."""
    if headroom.is_empty():
        return _empty(title)
    data = _headroom_rows(headroom)
    charts = []
    for resource, used, free, unit in _HEADROOM:
        long = pl.concat([
            data.select("where", pl.lit("requested").alias("part"), pl.col(used).alias(unit)),
            data.select("where", pl.lit("free").alias("part"), pl.col(free).clip(lower_bound=0).alias(unit)),
        ])  # fmt: skip
        bars = hv.Bars(long.to_pandas(), kdims=["where", "part"], vdims=[unit], label=f"{resource} ({unit})")
        charts.append(bars.opts(
            backend="bokeh", stacked=True, invert_axes=True, cmap={"requested": "#90a4ae", "free": "#43a047"},
            tools=["hover"], xlabel="", ylabel=unit, title=f"{title}: {resource}", height=max(180, 60 + 26 * data.height),
            legend_position="right", **_COMMON,
        ))  # fmt: skip
    return (charts[0] + charts[1]).cols(1).opts(shared_axes=False, toolbar=None)


# --- the same charts as Bokeh figures redrawn in place (served pages) ------------------------------
def _bar_figure(title: str, *, height: int, x_range: Any, y_range: Any, xlabel: str, ylabel: str,
                x_axis_type: str = "auto") -> Any:  # fmt: skip
    """A figure without toolbar, styled as HoloViews styles the charts above."""
    fig = figure(
        title=title, height=height, min_width=280, sizing_mode="stretch_width", tools="", toolbar_location=None,
        x_range=x_range, y_range=y_range, x_axis_type=x_axis_type,
        min_border_top=10, min_border_bottom=10, min_border_left=10, min_border_right=10,
    )  # fmt: skip
    fig.title.text_color, fig.title.text_font_size = "black", "13px"  # as HoloViews draws it
    fig.xaxis.axis_label, fig.yaxis.axis_label = xlabel, ylabel
    return fig


def _upto(rng: Range1d, top: float | None) -> None:
    """A value axis from 0 to ``top`` and a tenth more (as HoloViews pads bars)."""
    fit(rng, 0.0, (top or 1.0) * (1 + PAD))


class QosBars:
    """:func:`qos_bars` as a Bokeh figure redrawn in place by :meth:`draw`."""

    def __init__(self, *, title: str = "Pending pods by QoS class") -> None:
        self.title = title
        self.figure = _bar_figure(title, height=260, x_range=FactorRange(), y_range=Range1d(),
                                  xlabel="QoS class", ylabel="pods")  # fmt: skip
        self._source = ColumnDataSource({"qos_class": [], "pods": [], "still_pending": [], "color": []})
        r = self.figure.vbar(
            x="qos_class", top="pods", width=0.8, fill_color="color", line_color="black", source=self._source
        )
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=[("QoS class", "@qos_class"), ("pods", "@pods"),
                                                                ("still pending", "@still_pending")]))  # fmt: skip

    def draw(self, by_qos: pl.DataFrame) -> None:
        """Draw ``summary(p, by="qos_class")`` (as :func:`qos_bars`)."""
        data = by_qos.with_columns(pl.col("qos_class").fill_null("(unknown)"))
        self._source.data = {
            "qos_class": data["qos_class"].to_list(), "pods": data["pods"].to_list(),
            "still_pending": data["still_pending"].to_list(),
            "color": [QOS_COLORS.get(q, "#9e9e9e") for q in data["qos_class"].to_list()],
        }  # fmt: skip
        self.figure.x_range.factors = data["qos_class"].unique(maintain_order=True).to_list()
        _upto(self.figure.y_range, data["pods"].max())  # type: ignore[arg-type]
        self.figure.title.text = self.title + ("" if data.height else ": nothing to show")


class ReasonBars:
    """:func:`reason_bars` as a Bokeh figure redrawn in place by :meth:`draw`."""

    def __init__(self, *, title: str = "Why pods wait (primary reason)") -> None:
        self.title = title
        self.figure = _bar_figure(title, height=160, x_range=Range1d(), y_range=FactorRange(), xlabel="pods",
                                  ylabel="")  # fmt: skip
        self._source = ColumnDataSource({"category": [], "pods": [], "color": []})
        r = self.figure.hbar(
            y="category",
            right="pods",
            height=0.8,
            fill_color="color",
            line_color="black",
            source=self._source,
        )
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=[("reason", "@category"), ("pods", "@pods")]))

    def draw(self, reasons: pl.DataFrame) -> None:
        """Draw ``pending.reasons(p)`` (as :func:`reason_bars`)."""
        data = _reason_counts(reasons)
        cats = data["category"].to_list()
        self._source.data = {"category": cats, "pods": data["pods"].to_list(),
                             "color": [CATEGORY_COLORS.get(c, "#9e9e9e") for c in cats]}  # fmt: skip
        self.figure.y_range.factors = cats
        self.figure.height = max(160, 60 + 28 * data.height)
        _upto(self.figure.x_range, data["pods"].max())  # type: ignore[arg-type]
        self.figure.title.text = self.title + ("" if data.height else ": nothing to show")


class PendingTimeline:
    """:func:`pending_timeline` as a Bokeh figure redrawn in place by :meth:`draw`."""

    def __init__(self, *, title: str = "Time spent pending") -> None:
        self.title = title
        self.figure = _bar_figure(title, height=180, x_range=Range1d(), y_range=FactorRange(), xlabel="time (UTC)",
                                  ylabel="", x_axis_type="datetime")  # fmt: skip
        self._source = ColumnDataSource({k: [] for k in ("x0", "x1", "label", "primary", "qos_class", "state",
                                                         "minutes", "color")})  # fmt: skip
        r = self.figure.segment(x0="x0", y0="label", x1="x1", y1="label", line_color="color", line_width=10,
                                source=self._source)  # fmt: skip
        self.figure.add_tools(HoverTool(renderers=[r], tooltips=[
            ("pod", "@label"), ("reason", "@primary"), ("QoS", "@qos_class"), ("state", "@state"),
            ("minutes", "@minutes")]))  # fmt: skip

    def draw(self, pending: pl.DataFrame) -> None:
        """Draw ``pending_pods`` rows (as :func:`pending_timeline`)."""
        data = _timeline_rows(pending)
        x0, x1 = ms(data["pending_since"]), ms(data["pending_until"])
        self._source.data = {"x0": x0, "x1": x1, **{k: data[k].to_list() for k in ("label", "primary", "qos_class",
                                                                                  "state", "minutes", "color")}}  # fmt: skip
        self.figure.y_range.factors = data["label"].unique(maintain_order=True).to_list()
        self.figure.height = max(180, 70 + 26 * data.height)
        fit(self.figure.x_range, *bounds([x0, x1]), pad=PAD, time=True)
        self.figure.title.text = self.title + ("" if data.height else ": nothing to show")


class HeadroomBars:
    """:func:`headroom_bars` as two Bokeh figures (CPU above memory) redrawn in place by
    :meth:`draw`; ``figures`` are what a page shows."""

    _PARTS = {"requested": "#90a4ae", "free": "#43a047"}

    def __init__(self, *, title: str = "Free allocatable per node") -> None:
        self.title = title
        self.figures, self._sources = [], []
        for _, _, _, unit in _HEADROOM:
            fig = _bar_figure(
                "", height=180, x_range=Range1d(), y_range=FactorRange(), xlabel=unit, ylabel=""
            )
            source = ColumnDataSource(
                {"where": [], "part": [], "value": [], "left": [], "right": [], "color": []}
            )
            r = fig.hbar(
                y="where",
                left="left",
                right="right",
                height=0.8,
                fill_color="color",
                line_color="black",
                source=source,
            )
            fig.add_layout(
                Legend(items=[LegendItem(label=field("part"), renderers=[r])], location=(0, 0)), "right"
            )
            fig.add_tools(
                HoverTool(renderers=[r], tooltips=[("node", "@where"), ("part", "@part"), (unit, "@value")])
            )
            self.figures.append(fig)
            self._sources.append(source)

    def draw(self, headroom: pl.DataFrame) -> None:
        """Draw ``pending.headroom(...)`` (as :func:`headroom_bars`)."""
        data = _headroom_rows(headroom)
        where = data["where"].to_list()
        for (resource, used, free, _unit), fig, source in zip(
            _HEADROOM, self.figures, self._sources, strict=True
        ):
            u = data[used].cast(pl.Float64).fill_null(0.0).to_numpy()
            f = data[free].cast(pl.Float64).clip(lower_bound=0).fill_null(0.0).to_numpy()
            source.data = {
                "where": where * 2, "part": ["requested"] * len(where) + ["free"] * len(where),
                "value": np.concatenate([u, f]), "left": np.concatenate([np.zeros(len(u)), u]),
                "right": np.concatenate([u, u + f]),
                "color": [self._PARTS["requested"]] * len(where) + [self._PARTS["free"]] * len(where),
            }  # fmt: skip
            fig.y_range.factors = where
            fig.height = max(180, 60 + 26 * data.height)
            _upto(fig.x_range, float((u + f).max()) if len(u) else None)
            fig.title.text = f"{self.title}: {resource}" + ("" if data.height else ": nothing to show")
