"""Charts for the pending pod analysis (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import pending
>>> from workbench.viz import pending as vp
>>> p = pending.pending_pods(ds)                         # doctest: +SKIP
>>> vp.qos_bars(pending.summary(p, by="qos_class")) + vp.reason_bars(pending.reasons(p))  # doctest: +SKIP
>>> vp.pending_timeline(p)                               # doctest: +SKIP
>>> vp.headroom_bars(pending.headroom(ds))               # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["CATEGORY_COLORS", "QOS_COLORS", "headroom_bars", "pending_timeline", "qos_bars", "reason_bars"]

QOS_COLORS = {"Guaranteed": "#2e7d32", "Burstable": "#f9a825", "BestEffort": "#c62828", "(unknown)": "#9e9e9e"}
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
    bars = hv.Bars(data.to_pandas(), kdims=["qos_class"], vdims=["pods", "still_pending", "color"], label=title)
    return bars.opts(
        backend="bokeh", color="color", tools=["hover"], xlabel="QoS class", ylabel="pods", title=title, height=260,
        hover_tooltips=[("QoS class", "@qos_class"), ("pods", "@pods"), ("still pending", "@still_pending")], **_COMMON,
    )  # fmt: skip


def reason_bars(reasons: pl.DataFrame, *, title: str = "Why pods wait (primary reason)") -> hv.Element:
    """Horizontal bars: pods per primary reason category (``pending.reasons(p)``)."""
    primary = reasons.filter(pl.col("primary")).unique(["cluster", "namespace", "pod", "state", "category", "text"])
    if primary.is_empty():
        return _empty(title)
    data = (
        primary.group_by("category").agg(pl.struct("cluster", "namespace", "pod").n_unique().alias("pods"))
        .sort(["pods", "category"], descending=[False, True])
        .with_columns(pl.col("category").replace_strict(CATEGORY_COLORS, default="#9e9e9e").alias("color"))
    )  # fmt: skip
    bars = hv.Bars(data.to_pandas(), kdims=["category"], vdims=["pods", "color"], label=title)
    return bars.opts(
        backend="bokeh", invert_axes=True, color="color", tools=["hover"], xlabel="", ylabel="pods", title=title,
        height=max(160, 60 + 28 * data.height), hover_tooltips=[("reason", "@category"), ("pods", "@pods")], **_COMMON,
    )  # fmt: skip


def pending_timeline(pending: pl.DataFrame, *, title: str = "Time spent pending") -> hv.Element:
    """One bar per pod from the moment it started waiting to the moment it got a node (or was
    deleted, or the snapshot ended), coloured by its primary reason."""
    rows = pending.filter(pl.col("pending_since").is_not_null() & pl.col("pending_until").is_not_null())
    if rows.is_empty():
        return _empty(title)
    data = rows.with_columns(
        pl.format("{}/{}", pl.col("namespace").fill_null("?"),
                  pl.col("pod").fill_null(pl.format("{} (refused)", pl.col("owner_name")))).alias("label"),
        pl.col("primary").fill_null("other"), pl.col("qos_class").fill_null("(unknown)"),
        (pl.col("pending_for").dt.total_seconds() / 60).round(1).alias("minutes"),
    ).with_columns(pl.col("primary").replace_strict(CATEGORY_COLORS, default="#9e9e9e").alias("color"))  # fmt: skip
    data = data.select("label", "pending_since", "pending_until", "primary", "qos_class", "state", "minutes", "color")
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


def headroom_bars(headroom: pl.DataFrame, *, title: str = "Free allocatable per node") -> hv.Layout | hv.Element:
    """Per node: CPU (cores) and memory (GiB) requested vs free allocatable, side by side."""
    if headroom.is_empty():
        return _empty(title)
    data = headroom.with_columns(
        pl.format("{}/{}", "cluster", "node").alias("where"),
        (pl.col("memory_requested") / 2**30).alias("mem_requested"), (pl.col("memory_free") / 2**30).alias("mem_free"),
    ).sort("where", descending=True)  # fmt: skip
    charts = []
    for resource, used, free, unit in (("CPU", "cpu_requested", "cpu_free", "cores"), ("Memory", "mem_requested", "mem_free", "GiB")):
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
