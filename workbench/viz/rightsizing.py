"""Charts for right-sizing (HoloViews, bokeh; no widgets): current vs advised per container,
and the total change.

>>> from workbench.analyses import rightsizing
>>> from workbench.viz import rightsizing as rv
>>> rs = rightsizing.analyse(ds)                                   # doctest: +SKIP
>>> rv.current_vs_advised(rs.advice) + rv.totals_bars(rs.totals)    # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["STATUS_COLORS", "advice_table", "current_vs_advised", "totals_bars"]

STATUS_COLORS = {"under-provisioned": "#c62828", "over-provisioned": "#1565c0", "ok": "#2e7d32",
                 "no requests": "#f9a825", "not enough data": "#9e9e9e"}  # fmt: skip
_UNIT = {"cpu": (1000.0, "millicores"), "memory": (1 / 2**20, "MiB")}


def current_vs_advised(advice: pl.DataFrame, *, resource: str = "cpu", kind: str = "request",
                       limit: int = 30) -> hv.Bars | hv.Text:  # fmt: skip
    """Per workload container, the current and advised ``resource`` ``kind`` (request or limit)
    side by side; the ``limit`` largest changes, the largest on top."""
    title = f"{resource} {kind}: current vs advised"
    scale, unit = _UNIT[resource]
    col = f"{resource}_{kind}"
    d = advice.filter(pl.col(f"{col}_advised").is_not_null() | pl.col(col).is_not_null())
    if d.is_empty():
        return hv.Text(0, 0, "no advice").opts(title=title, xaxis=None, yaxis=None, toolbar=None)
    name = pl.concat_str(pl.col("workload_name"), pl.lit("/"), pl.col("container"))
    if d["cluster"].n_unique() > 1:
        name = pl.concat_str(name, pl.lit(" ("), pl.col("cluster"), pl.lit(")"))
    d = d.with_columns(
        name.alias("container_"),
        pl.col(f"{col}_change").abs().fill_null(0.0).alias("_c"),
    ).sort("_c", descending=True).head(limit).reverse()
    long = d.select(
        "container_", (pl.col(col) * scale).alias("current"), (pl.col(f"{col}_advised") * scale).alias("advised"),
    ).unpivot(index="container_", variable_name="value", value_name=unit).fill_null(0.0)
    # a per-chart name for the category axis, so that charts laid out together do not share it;
    # the order of the bars within a container declared (as HoloViews would sort them, without
    # working it out from the data)
    key = hv.Dimension(f"{col}_of", label=f"{resource} {kind} of")
    value = hv.Dimension("value", values=["advised", "current"])
    return hv.Bars(long.rename({"container_": key.name}).to_pandas(), kdims=[key, value], vdims=unit).opts(
        invert_axes=True, multi_level=False, color="value", cmap={"current": "#90a4ae", "advised": "#ef6c00"},
        title=title, responsive=True, min_width=420, height=max(260, 90 + 30 * d.height), xlabel="", ylabel=unit,
        tools=["hover"], show_grid=True, legend_position="right",
    )  # fmt: skip


def totals_bars(totals: pl.DataFrame) -> hv.Layout | hv.Text:
    """Current vs advised requests and limits × replicas per cluster: cores and GiB."""
    if totals.is_empty():
        return hv.Text(0, 0, "no advice").opts(title="Totals", xaxis=None, yaxis=None, toolbar=None)
    if totals.height == 2:  # one cluster: its row and "(all)" are the same
        totals = totals.head(1)
    order = ["request current", "request advised", "limit current", "limit advised"]
    colors = dict(zip(order, ["#90a4ae", "#ef6c00", "#cfd8dc", "#ffb74d"], strict=True))
    what = hv.Dimension("what", values=order)
    panels = []
    for resource, unit, label in (("cpu", "cores", "cores"), ("memory", "gib", "GiB")):
        long = pl.concat([
            totals.select("cluster", pl.lit(f"{k} {s}").alias("what"), pl.col(f"{resource}_{k}_{s}_{unit}").alias(label))
            for k in ("request", "limit") for s in ("current", "advised")
        ]).fill_null(0.0)  # fmt: skip
        panels.append(hv.Bars(long.to_pandas(), kdims=["cluster", what], vdims=label).opts(
            title=f"{resource}: total {label} (× replicas)", responsive=True, min_width=360, height=300, xlabel="",
            color="what", cmap=colors, tools=["hover"], show_legend=False, multi_level=True, xrotation=30))  # fmt: skip
    return hv.Layout(panels).cols(2)


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
