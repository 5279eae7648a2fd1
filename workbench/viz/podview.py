"""Charts for the pod view and the resource browser's Performance tab (HoloViews, bokeh).

>>> from workbench.analyses import podview
>>> from workbench.viz import podview as vv
>>> vv.pod_cards(podview.pods(ds, group_by="node"))                    # doctest: +SKIP
>>> vv.performance_chart(browser.detail(ds, "Pod", "shop", "cart-0").performance)   # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["HEALTH_COLORS", "group_bars", "health", "performance_chart", "pod_cards"]

HEALTH_COLORS = {"ok": "#43a047", "problem": "#e53935", "done": "#b0bec5"}
_DONE = ("Completed", "Succeeded")
_COMMON = {"responsive": True, "min_width": 320, "toolbar": None, "default_tools": []}


def _empty(title: str) -> hv.Text:
    return hv.Text(0.5, 0.5, f"{title}: nothing to show").opts(
        backend="bokeh", xaxis=None, yaxis=None, height=120, responsive=True, toolbar=None, title=title
    )


def health() -> pl.Expr:
    """``problem`` for problem pods, ``done`` for completed ones, else ``ok``."""
    return (
        pl.when(pl.col("is_problem")).then(pl.lit("problem"))
        .when(pl.col("status").is_in(list(_DONE))).then(pl.lit("done"))
        .otherwise(pl.lit("ok"))
    )  # fmt: skip


def pod_cards(cards: pl.DataFrame, *, per_row: int = 12, title: str = "Pods") -> hv.Element:
    """Pods as tiles, one band per group (problem pods first, red), with the group's counts on
    the axis; hover shows the pod, its status, READY and each container's state."""
    if cards.is_empty():
        return _empty(title)
    groups = (
        cards.group_by("cluster", "group").agg(pl.len().alias("n"), pl.col("is_problem").sum().alias("bad"))
        .sort(["bad", "n", "cluster", "group"], descending=[True, True, False, False])
    )  # fmt: skip
    multi = cards["cluster"].n_unique() > 1
    rows, ticks, y = [], [], 0.0
    for g in groups.iter_rows(named=True):
        members = cards.filter(pl.col("cluster") == g["cluster"], pl.col("group") == g["group"]).sort(
            ["is_problem", "name"], descending=[True, False])  # fmt: skip
        lines = max(1, -(-members.height // per_row))
        label = f"{g['cluster'] + ': ' if multi else ''}{g['group']} ({g['n']} pods, {g['bad']} problem)"
        ticks.append((y + lines / 2, label))
        for i, m in enumerate(members.iter_rows(named=True)):
            col, line = i % per_row, i // per_row
            states = ", ".join(
                f"{c}={s}" for c, s in zip(m["containers"] or [], m["states"] or [], strict=False)
            )
            rows.append({"x0": col + 0.06, "y0": y + line + 0.08, "x1": col + 0.94, "y1": y + line + 0.92,
                         "pod": m["name"], "namespace": m["namespace"], "status": m["status"], "ready": m["ready"],
                         "restarts": m["restarts"], "containers": states or "-", "problem": m["problem"] or "-",
                         "health": "problem" if m["is_problem"] else ("done" if m["status"] in _DONE else "ok")})  # fmt: skip
        y += lines + 0.6
    data = pl.DataFrame(rows).with_columns(pl.col("health").replace_strict(HEALTH_COLORS).alias("color"))
    rects = hv.Rectangles(data.to_pandas(), kdims=["x0", "y0", "x1", "y1"],
                          vdims=["pod", "namespace", "status", "ready", "restarts", "containers", "problem", "health", "color"],
                          label=title)  # fmt: skip
    return rects.opts(
        backend="bokeh", color="color", line_color="white", tools=["hover"], title=title, xaxis=None, ylabel="",
        yticks=ticks, invert_yaxis=True, height=max(200, int(40 * y) + 80), xlim=(0, per_row),
        hover_tooltips=[("pod", "@pod"), ("namespace", "@namespace"), ("status", "@status"), ("ready", "@ready"),
                        ("restarts", "@restarts"), ("containers", "@containers"), ("problem", "@problem")], **_COMMON,
    )  # fmt: skip


def group_bars(groups: pl.DataFrame, *, top: int = 20, title: str = "Pods per group") -> hv.Element:
    """Stacked bars per group (the ``top`` groups of :func:`~workbench.analyses.podview.groups`):
    healthy and problem pods."""
    if groups.is_empty():
        return _empty(title)
    data = groups.head(top).with_columns(pl.format("{}", "group").alias("g"))
    long = pl.concat([
        data.select("g", pl.lit("problem").alias("health"), pl.col("problem_pods").alias("pods")),
        data.select("g", pl.lit("ok").alias("health"), (pl.col("pods") - pl.col("problem_pods")).alias("pods")),
    ])  # fmt: skip
    bars = hv.Bars(long.to_pandas(), kdims=["g", "health"], vdims=["pods"], label=title)
    return bars.opts(
        backend="bokeh", stacked=True, invert_axes=True, cmap={"ok": HEALTH_COLORS["ok"], "problem": HEALTH_COLORS["problem"]},
        tools=["hover"], title=title, xlabel="", ylabel="pods", height=max(180, 60 + 24 * data.height),
        legend_position="bottom_right", show_grid=True, **_COMMON,
    )  # fmt: skip


def performance_chart(
    performance: pl.DataFrame, *, title: str = "Usage vs request and limit"
) -> hv.Layout | hv.Element:
    """CPU (cores) and memory (MiB) usage over time, with the request (dashed) and limit
    (dotted) lines, from a :class:`~workbench.analyses.browser.Detail`'s ``performance``."""
    if performance.is_empty():
        return _empty(title)
    charts = []
    for resource, unit, scale in (("cpu", "cores", 1.0), ("memory", "MiB", 1 / 2**20)):
        d = performance.filter(pl.col("resource") == resource).with_columns(
            (pl.col("usage") * scale).alias("usage"), (pl.col("request") * scale).alias("request"),
            (pl.col("limit") * scale).alias("limit"))  # fmt: skip
        if d.is_empty():
            continue
        pdf = d.to_pandas()
        # an overlay even of usage alone (no request or limit): a lone Curve has no legend options
        overlay = hv.Overlay([hv.Curve(pdf, "ts", "usage", label="usage").opts(
            backend="bokeh", color="#1565c0", line_width=2, tools=["hover"]
        )])  # fmt: skip
        if d["request"].drop_nulls().len():
            overlay = overlay * hv.Curve(pdf, "ts", "request", label="request").opts(
                backend="bokeh", color="#2e7d32", line_dash="dashed"
            )
        if d["limit"].drop_nulls().len():
            overlay = overlay * hv.Curve(pdf, "ts", "limit", label="limit").opts(
                backend="bokeh", color="#c62828", line_dash="dotted"
            )
        charts.append(overlay.opts(backend="bokeh", title=f"{resource.upper() if resource == 'cpu' else 'Memory'} ({unit})",
                                   xlabel="time (UTC)", ylabel=unit, height=240, responsive=True, min_width=320,
                                   show_grid=True, legend_position="top_left", toolbar=None))  # fmt: skip
    if not charts:
        return _empty(title)
    return hv.Layout(charts).cols(1).opts(shared_axes=False, toolbar=None) if len(charts) > 1 else charts[0]
