"""Charts for the cluster overview (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import cluster
>>> from workbench.viz import cluster as cv
>>> view = cluster.analyse(ds)                            # doctest: +SKIP
>>> cv.matrix_bars(view.matrix) + cv.resources_over_time(view.cluster_resources)  # doctest: +SKIP

The charts over time also come as Bokeh figures that a served page builds once and redraws in
place (:mod:`workbench.viz._figures`): :class:`ResourcesChart` (:func:`resources_over_time`),
:class:`NetworkChart` (:func:`network_curves`) and :class:`NodeHeatmap` (:func:`node_heatmap`).
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl
from holoviews.plotting.util import process_cmap

from workbench.viz._figures import TIME_LABEL, Heatmap, Line, Lines

__all__ = ["COLORS", "NetworkChart", "NodeHeatmap", "ResourcesChart", "matrix_bars", "network_curves", "node_heatmap",
           "nodes_table", "resources_over_time"]  # fmt: skip

#: usage, requests, limits, allocatable
COLORS = {"usage": "#1565c0", "requests": "#ef6c00", "limits": "#8e24aa", "allocatable": "#616161"}
_TITLE = {"cpu": "CPU", "memory": "Memory"}
_KINDS = ("allocatable", "limits", "requests", "usage")  # drawn in this order: usage on top
#: network in, out (HoloViews' first two default colours)
_NET_COLORS = {"in": "#30a2da", "out": "#fc4f30"}
_TS = pl.Datetime("us", "UTC")


def _placeholder(title: str) -> hv.Text:
    return hv.Text(0, 0, "no data").opts(title=title, xaxis=None, yaxis=None, toolbar=None)


def matrix_bars(matrix: pl.DataFrame, *, resource: str = "cpu") -> hv.Bars | hv.Text:
    """Per node: usage (mean over the window), requests and limits at the end, as % of the
    node's allocatable (``matrix`` is :func:`workbench.analyses.cluster.node_matrix`)."""
    title = f"{_TITLE[resource]}: % of allocatable"
    if matrix.is_empty():
        return _placeholder(title)
    label = (
        pl.col("node") if matrix["cluster"].n_unique() == 1 else pl.concat_str("cluster", pl.lit("/"), "node")
    )
    long = (
        matrix.select(
            label.alias("node"),
            *[pl.col(f"{resource}_{k}_pct").alias(k) for k in ("usage", "requests", "limits")],
        )
        .unpivot(index="node", variable_name="measure", value_name="percent")
        .fill_null(0.0)
    )
    height = max(260, 90 + 48 * matrix.height)
    return hv.Bars(long.to_pandas(), kdims=["node", "measure"], vdims=["percent"]).opts(
        backend="bokeh", invert_axes=True, color="measure", cmap=COLORS, title=title, height=height, responsive=True,
        min_width=360, xlabel="", ylabel="% of allocatable", tools=["hover"], multi_level=False, show_grid=True,
        legend_position="right",
    )  # fmt: skip


def _resources(res: pl.DataFrame, resource: str, cluster: str | None) -> tuple[str, str, pl.DataFrame]:
    """The cluster drawn (``cluster``, else the first), the unit (cores, GiB) and its series:
    ``ts`` and a column per line of :data:`_KINDS`, in that unit."""
    unit = "cores" if resource == "cpu" else "GiB"
    scale = 1.0 if resource == "cpu" else 1 / 2**30
    name = cluster or res["cluster"][0]
    data = res.filter(pl.col("cluster") == name).sort("ts")
    return name, unit, data.select("ts", *[(pl.col(f"{resource}_{k}") * scale).alias(k) for k in _KINDS])


def resources_over_time(res: pl.DataFrame, *, resource: str = "cpu", cluster: str | None = None) -> hv.Overlay | hv.Text:  # fmt: skip
    """Usage, requests, limits and allocatable over time, for one cluster (the first when not
    given); ``res`` is :func:`workbench.analyses.cluster.cluster_resources` output (or a node's
    rows of ``node_resources``)."""
    if res.is_empty():
        return _placeholder(f"{_TITLE[resource]} over time")
    name, unit, data = _resources(res, resource, cluster)
    curves = []
    for k in _KINDS:
        d = data.select("ts", pl.col(k).alias(unit)).to_pandas()
        curves.append(hv.Curve(d, "ts", unit, label=k).opts(color=COLORS[k], line_width=3 if k == "usage" else 2,
                                                            line_dash="dashed" if k == "limits" else "solid"))  # fmt: skip
    return hv.Overlay(curves).opts(
        title=f"{name}: {_TITLE[resource]} ({unit})", legend_position="right", responsive=True, height=280,
        min_width=360, show_grid=True, xlabel=TIME_LABEL,
    )  # fmt: skip


class ResourcesChart(Lines):
    """:func:`resources_over_time` as a Bokeh figure redrawn in place by :meth:`draw`."""

    def __init__(self, resource: str = "cpu") -> None:
        self.resource = resource
        lines = [Line(k, COLORS[k], width=3 if k == "usage" else 2, dash="dashed" if k == "limits" else "solid")
                 for k in _KINDS]  # fmt: skip
        super().__init__(lines, ylabel="cores" if resource == "cpu" else "GiB", height=280)

    def draw(self, res: pl.DataFrame, *, cluster: str | None = None) -> None:
        """Draw one cluster of ``res`` (as :func:`resources_over_time`)."""
        if res.is_empty():
            none = pl.DataFrame(schema={"ts": _TS, **dict.fromkeys(_KINDS, pl.Float64)})
            self.show(none, title=f"{_TITLE[self.resource]} over time: no data")
            return
        name, unit, data = _resources(res, self.resource, cluster)
        self.show(data, title=f"{name}: {_TITLE[self.resource]} ({unit})")


def _heat(node_res: pl.DataFrame, column: str) -> pl.DataFrame:
    """``ts``, ``node`` (``cluster/node`` when there are several clusters) and ``column``."""
    label = (
        pl.col("node")
        if node_res["cluster"].n_unique() == 1
        else pl.concat_str("cluster", pl.lit("/"), "node")
    )
    return node_res.select("ts", label.alias("node"), pl.col(column))


def _heat_height(nodes: int) -> int:
    return max(200, 40 + 24 * nodes)


def node_heatmap(node_res: pl.DataFrame, *, column: str = "cpu_usage_pct") -> hv.HeatMap | hv.Text:
    """Nodes × time, coloured by ``column`` (a percentage of allocatable by default)."""
    title = f"{column.replace('_', ' ')} per node"
    if node_res.is_empty():
        return _placeholder(title)
    # bokeh draws naive datetimes as UTC; heat map cells need them naive
    d = _heat(node_res, column).with_columns(pl.col("ts").dt.replace_time_zone(None))
    return hv.HeatMap(d.to_pandas(), kdims=["ts", "node"], vdims=[column]).opts(
        cmap="YlOrRd", colorbar=True, clim=(0, 100) if column.endswith("_pct") else (None, None), title=title,
        responsive=True, height=_heat_height(d["node"].n_unique()), min_width=360, tools=["hover"], xlabel="",
    )  # fmt: skip


class NodeHeatmap(Heatmap):
    """:func:`node_heatmap` of a percentage column (0–100 %) as a Bokeh figure redrawn in place
    by :meth:`draw`."""

    def __init__(self, column: str = "cpu_usage_pct") -> None:
        if not column.endswith("_pct"):
            msg = f"NodeHeatmap draws a percentage column (..._pct), not {column!r}: use node_heatmap"
            raise ValueError(msg)
        super().__init__(value=column, palette=process_cmap("YlOrRd", 256), low=0, high=100, ylabel="node")

    def draw(self, node_res: pl.DataFrame) -> None:
        """Draw ``node_res`` (:func:`workbench.analyses.cluster.node_resources` rows)."""
        if node_res.is_empty():
            d = pl.DataFrame(schema={"ts": _TS, "node": pl.String, self.value: pl.Float64})
        else:
            d = _heat(node_res, self.value)
        title = f"{self.value.replace('_', ' ')} per node" + ("" if d.height else ": no data")
        self.show(d["ts"], d["node"], d[self.value], title=title, height=_heat_height(d["node"].n_unique()))


def _network(node_res: pl.DataFrame, cluster: str | None) -> tuple[str, pl.DataFrame]:
    """The cluster drawn (``cluster``, else the first) and its network in/out in MiB/s, added
    over its nodes per bucket."""
    name = cluster or node_res["cluster"][0]
    d = node_res.filter(pl.col("cluster") == name).group_by("ts").agg(
        (pl.col("network_rx_bytes_per_s").sum() / 2**20).alias("in"),
        (pl.col("network_tx_bytes_per_s").sum() / 2**20).alias("out"),
    ).sort("ts")  # fmt: skip
    return name, d


def network_curves(node_res: pl.DataFrame, *, cluster: str | None = None) -> hv.Overlay | hv.Text:
    """Network receive and transmit per second, added over the nodes of one cluster."""
    if node_res.is_empty():
        return _placeholder("Network")
    name, data = _network(node_res, cluster)
    d = data.to_pandas()
    return (hv.Curve(d, "ts", ("in", "MiB/s"), label="in") * hv.Curve(d, "ts", ("out", "MiB/s"), label="out")).opts(
        title=f"{name}: network in/out (MiB/s)", responsive=True, height=240, min_width=360, show_grid=True,
        legend_position="right", xlabel=TIME_LABEL,
    )  # fmt: skip


class NetworkChart(Lines):
    """:func:`network_curves` as a Bokeh figure redrawn in place by :meth:`draw`."""

    def __init__(self) -> None:
        super().__init__([Line(k, c) for k, c in _NET_COLORS.items()], ylabel="MiB/s", height=240)

    def draw(self, node_res: pl.DataFrame, *, cluster: str | None = None) -> None:
        """Draw one cluster of ``node_res`` (as :func:`network_curves`)."""
        if node_res.is_empty():
            none = pl.DataFrame(schema={"ts": _TS, "in": pl.Float64, "out": pl.Float64})
            self.show(none, title="Network: no data")
            return
        name, data = _network(node_res, cluster)
        self.show(data, title=f"{name}: network in/out (MiB/s)")


def nodes_table(nodes: pl.DataFrame) -> hv.Table:
    """The node list: status, roles, zone, instance type, age (days), pods, allocatable."""
    cols = ["cluster", "name", "status", "roles", "zone", "instance_type", "pods", "cpu_allocatable"]
    d = nodes.select(*cols, (pl.col("age").dt.total_hours() / 24).round(1).alias("age_days"),
                     (pl.col("memory_allocatable") / 2**30).round(1).alias("memory_allocatable_gib"))  # fmt: skip
    return hv.Table(d.to_pandas()).opts(height=min(600, 60 + 28 * max(nodes.height, 1)), width=1000)
