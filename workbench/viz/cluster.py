"""Charts for the cluster overview (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import cluster
>>> from workbench.viz import cluster as cv
>>> view = cluster.analyse(ds)                            # doctest: +SKIP
>>> cv.matrix_bars(view.matrix) + cv.resources_over_time(view.cluster_resources)  # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["COLORS", "matrix_bars", "network_curves", "node_heatmap", "nodes_table", "resources_over_time"]

#: usage, requests, limits, allocatable
COLORS = {"usage": "#1565c0", "requests": "#ef6c00", "limits": "#8e24aa", "allocatable": "#616161"}
_TITLE = {"cpu": "CPU", "memory": "Memory"}


def _placeholder(title: str) -> hv.Text:
    return hv.Text(0, 0, "no data").opts(title=title, xaxis=None, yaxis=None, toolbar=None)


def matrix_bars(matrix: pl.DataFrame, *, resource: str = "cpu") -> hv.Bars | hv.Text:
    """Per node: usage (mean over the window), requests and limits at the end, as % of the
    node's allocatable (``matrix`` is :func:`workbench.analyses.cluster.node_matrix`)."""
    title = f"{_TITLE[resource]}: % of allocatable"
    if matrix.is_empty():
        return _placeholder(title)
    label = pl.col("node") if matrix["cluster"].n_unique() == 1 else pl.concat_str("cluster", pl.lit("/"), "node")
    long = matrix.select(
        label.alias("node"),
        *[pl.col(f"{resource}_{k}_pct").alias(k) for k in ("usage", "requests", "limits")],
    ).unpivot(index="node", variable_name="measure", value_name="percent").fill_null(0.0)
    height = max(260, 90 + 48 * matrix.height)
    return hv.Bars(long.to_pandas(), kdims=["node", "measure"], vdims=["percent"]).opts(
        backend="bokeh", invert_axes=True, color="measure", cmap=COLORS, title=title, height=height, responsive=True,
        min_width=360, xlabel="", ylabel="% of allocatable", tools=["hover"], multi_level=False, show_grid=True,
        legend_position="right",
    )  # fmt: skip


def resources_over_time(res: pl.DataFrame, *, resource: str = "cpu", cluster: str | None = None) -> hv.Overlay | hv.Text:
    """Usage, requests, limits and allocatable over time, for one cluster (the first when not
    given); ``res`` is :func:`workbench.analyses.cluster.cluster_resources` output (or a node's
    rows of ``node_resources``)."""
    unit = "cores" if resource == "cpu" else "GiB"
    scale = 1.0 if resource == "cpu" else 1 / 2**30
    if res.is_empty():
        return _placeholder(f"{_TITLE[resource]} over time")
    name = cluster or res["cluster"][0]
    data = res.filter(pl.col("cluster") == name).sort("ts")
    curves = []
    for k in ("allocatable", "limits", "requests", "usage"):
        d = data.select("ts", (pl.col(f"{resource}_{k}") * scale).alias(unit)).to_pandas()
        curves.append(hv.Curve(d, "ts", unit, label=k).opts(color=COLORS[k], line_width=3 if k == "usage" else 2,
                                                            line_dash="dashed" if k == "limits" else "solid"))  # fmt: skip
    return hv.Overlay(curves).opts(
        title=f"{name}: {_TITLE[resource]} ({unit})", legend_position="right", responsive=True, height=280,
        min_width=360, show_grid=True,
    )  # fmt: skip


def node_heatmap(node_res: pl.DataFrame, *, column: str = "cpu_usage_pct") -> hv.HeatMap | hv.Text:
    """Nodes × time, coloured by ``column`` (a percentage of allocatable by default)."""
    title = f"{column.replace('_', ' ')} per node"
    if node_res.is_empty():
        return _placeholder(title)
    label = pl.col("node") if node_res["cluster"].n_unique() == 1 else pl.concat_str("cluster", pl.lit("/"), "node")
    # bokeh draws naive datetimes as UTC; heat map cells need them naive
    d = node_res.select(pl.col("ts").dt.replace_time_zone(None), label.alias("node"), pl.col(column))
    return hv.HeatMap(d.to_pandas(), kdims=["ts", "node"], vdims=[column]).opts(
        cmap="YlOrRd", colorbar=True, clim=(0, 100) if column.endswith("_pct") else (None, None), title=title,
        responsive=True, height=max(200, 40 + 24 * d["node"].n_unique()), min_width=360, tools=["hover"], xlabel="",
    )  # fmt: skip


def network_curves(node_res: pl.DataFrame, *, cluster: str | None = None) -> hv.Overlay | hv.Text:
    """Network receive and transmit per second, added over the nodes of one cluster."""
    if node_res.is_empty():
        return _placeholder("Network")
    name = cluster or node_res["cluster"][0]
    d = node_res.filter(pl.col("cluster") == name).group_by("ts").agg(
        (pl.col("network_rx_bytes_per_s").sum() / 2**20).alias("in"),
        (pl.col("network_tx_bytes_per_s").sum() / 2**20).alias("out"),
    ).sort("ts").to_pandas()  # fmt: skip
    return (hv.Curve(d, "ts", ("in", "MiB/s"), label="in") * hv.Curve(d, "ts", ("out", "MiB/s"), label="out")).opts(
        title=f"{name}: network in/out (MiB/s)", responsive=True, height=240, min_width=360, show_grid=True,
        legend_position="right",
    )  # fmt: skip


def nodes_table(nodes: pl.DataFrame) -> hv.Table:
    """The node list: status, roles, zone, instance type, age (days), pods, allocatable."""
    cols = ["cluster", "name", "status", "roles", "zone", "instance_type", "pods", "cpu_allocatable"]
    d = nodes.select(*cols, (pl.col("age").dt.total_hours() / 24).round(1).alias("age_days"),
                     (pl.col("memory_allocatable") / 2**30).round(1).alias("memory_allocatable_gib"))  # fmt: skip
    return hv.Table(d.to_pandas()).opts(height=min(600, 60 + 28 * max(nodes.height, 1)), width=1000)
