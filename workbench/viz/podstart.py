"""Charts for the pod start analysis (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import podstart
>>> from workbench.viz import podstart as pv
>>> r = podstart.analyse(ds, namespace="shop")                       # doctest: +SKIP
>>> pv.timeline(r.pods) + pv.start_curves(r.series, r.pods, pod="recommendation-…")  # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["PHASE_COLORS", "SEGMENT_COLORS", "start_curves", "timeline", "workload_curves"]

PHASE_COLORS = {"Pending": "#bdbdbd", "Running": "#ffcc80", "Stable Running": "#a5d6a7"}
SEGMENT_COLORS = {"scheduling": "#9e9e9e", "init": "#7986cb", "start": "#4fc3f7", "warm-up": "#ffb74d"}


def _placeholder(title: str) -> hv.Text:
    return hv.Text(0, 0, "no data").opts(title=title, xaxis=None, yaxis=None, toolbar=None)


def timeline(pods: pl.DataFrame, *, limit: int = 40) -> hv.Bars | hv.Text:
    """Stacked horizontal bars per started pod: scheduling, init, start (Pending) and warm-up
    (Running → Stable Running), in seconds from creation; the ``limit`` slowest starts, the
    slowest on top. Pods that never ran are left out (list them from ``pods``)."""
    title = "Pod starts: Pending (scheduling, init, start) and warm-up"
    pods = pods.filter(pl.col("running").is_not_null())
    if pods.is_empty():
        return _placeholder(title)
    d = pods.with_columns(
        (pl.col("pending_s").fill_null(0) + pl.col("warmup_s").fill_null(0)).alias("_total"),
        pl.col("start_s").fill_null(pl.col("pending_s") - pl.col("scheduling_s").fill_null(0) - pl.col("init_s").fill_null(0)),
    ).sort("_total", descending=True).head(limit).reverse()  # fmt: skip
    long = d.select(
        pl.col("pod"), pl.col("scheduling_s").alias("scheduling"), pl.col("init_s").alias("init"),
        pl.col("start_s").alias("start"), pl.col("warmup_s").alias("warm-up"),
    ).unpivot(index="pod", variable_name="segment", value_name="seconds").fill_null(0.0)
    return hv.Bars(long.to_pandas(), kdims=["pod", "segment"], vdims="seconds").opts(
        stacked=True, invert_axes=True, cmap=SEGMENT_COLORS, color="segment", title=title, responsive=True,
        min_width=420, height=max(220, 60 + 24 * d.height), xlabel="", ylabel="seconds after creation",
        tools=["hover"], legend_position="right", show_grid=True,
    )  # fmt: skip


def _spans(phases: list[tuple[str, float, float]]) -> list[hv.VSpan]:
    return [hv.VSpan(a, b, label=name).opts(color=PHASE_COLORS[name], alpha=0.35) for name, a, b in phases]


def start_curves(series: pl.DataFrame, pods: pl.DataFrame, *, pod: str | None = None) -> hv.Layout | hv.Text:
    """One pod's CPU (cores) and memory (MiB) from creation, with its phases shaded and its
    requests (dotted) and limits (dashed); the first pod of ``pods`` when ``pod`` is not given."""
    if pods.is_empty():
        return _placeholder("Pod start")
    name = pod or pods["pod"][0]
    meta = pods.filter(pl.col("pod") == name).row(0, named=True)
    s = series.filter(pl.col("pod") == name).sort("ts")
    created = meta["created"]

    def secs(t: object) -> float | None:
        return None if t is None else (t - created).total_seconds()  # type: ignore[operator]

    marks = [("Pending", secs(created), secs(meta["running"])), ("Running", secs(meta["running"]), secs(meta["stable"])),
             ("Stable Running", secs(meta["stable"]), s["since_created_s"].max() if s.height else None)]  # fmt: skip
    phases = [(n, a, b) for n, a, b in marks if a is not None and b is not None and b > a]
    plots = []
    for col, unit, scale, req, lim in (("cpu_cores", "cores", 1.0, "cpu_request", "cpu_limit"),
                                       ("memory_bytes", "MiB", 1 / 2**20, "memory_request", "memory_limit")):  # fmt: skip
        d = s.select(pl.col("since_created_s").alias("seconds"), (pl.col(col) * scale).alias(unit)).drop_nulls()
        parts: list = [*_spans(phases), hv.Curve(d.to_pandas(), "seconds", unit, label=unit).opts(color="#1565c0", line_width=2)]
        top = d[unit].max() or 0.0
        for key, dash in ((req, "dotted"), (lim, "dashed")):
            if meta[key]:
                parts.append(hv.HLine(meta[key] * scale, label=key.split("_")[1]).opts(color="#c62828", line_dash=dash))
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
        hv.Curve(series.filter(pl.col("pod") == n).select(pl.col("since_created_s").alias("seconds"),
                                                          pl.col("cpu_cores").alias("cores")).drop_nulls().to_pandas(),
                 "seconds", "cores", label=n)  # fmt: skip
        for n in names
    ]
    return hv.Overlay(curves).opts(title=f"{workload}: CPU of each start", responsive=True, height=280, min_width=360,
                                   xlabel="seconds after creation", legend_position="top_right", show_grid=True)  # fmt: skip
