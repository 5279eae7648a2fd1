"""Charts for incident triage (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import triage
>>> from workbench.viz import triage as vt
>>> r = triage.triage(ds, start="2026-11-02T08:37Z", end="2026-11-02T09:12Z")   # doctest: +SKIP
>>> vt.score_bars(r)                                                           # doctest: +SKIP
>>> vt.timeline(r)                                                             # doctest: +SKIP

- :func:`score_bars`: one horizontal bar per suspect, best first, split into what each signal
  contributed (weight × the strongest evidence of that signal): the score, explained.
- :func:`timeline`: every piece of evidence at its time, one row per object it was seen on,
  coloured by signal, larger when stronger; the baseline and the incident window shaded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["SIGNAL_COLORS", "score_bars", "timeline"]

#: One colour per signal (causes warm, symptoms cool, explanations grey).
SIGNAL_COLORS: dict[str, str] = {
    "errors_caused": "#c62828", "latency_caused": "#ef6c00", "oom_killed": "#6a1b9a", "node_not_ready": "#37474f",
    "pending_pods": "#fbc02d", "restarts": "#ad1457", "failing_pods": "#f06292", "manifest_change": "#1565c0",
    "throttling": "#00838f", "metric_anomaly": "#2e7d32", "warning_events": "#8d6e63", "error_burst": "#e53935",
    "new_log_pattern": "#9ccc65", "latency_inherited": "#9e9e9e", "errors_inherited": "#bdbdbd",
}  # fmt: skip
_COMMON: dict[str, Any] = {"responsive": True, "min_width": 320, "show_grid": True, "toolbar": "above"}


def _empty(title: str) -> hv.Text:
    return hv.Text(0.5, 0.5, f"{title}: nothing found").opts(
        backend="bokeh", xaxis=None, yaxis=None, height=120, responsive=True, toolbar=None, title=title
    )


def _frames(result: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(suspects, evidence) of a TriageResult (or a pair of frames)."""
    if isinstance(result, tuple):
        return result  # type: ignore[return-value]
    return result.suspects, result.evidence


def score_bars(result: Any, *, title: str = "Suspects: what each signal adds to the score") -> hv.Element:
    """Stacked horizontal bars: per suspect (best on top), weight × strongest evidence per signal."""
    suspects, evidence = _frames(result)
    if suspects.is_empty():
        return _empty(title)
    parts = (
        evidence.group_by("rank", "object", "signal").agg((pl.col("score").max() * pl.col("weight").first()).alias("points"))
        .join(suspects.select("rank", "score"), on="rank")
        .with_columns(pl.format("#{} {}", pl.col("rank"), pl.col("object")).alias("suspect"))
        .sort("rank", "points", descending=[True, True])
    )  # fmt: skip
    order = parts["signal"].unique(maintain_order=True).to_list()
    bars = hv.Bars(parts.select("suspect", "signal", "points", "score").to_pandas(), kdims=["suspect", "signal"],
                   vdims=["points", "score"], label=title)
    cmap = {s: SIGNAL_COLORS.get(s, "#757575") for s in order}
    return bars.opts(
        backend="bokeh", stacked=True, invert_axes=True, cmap=cmap, color="signal", tools=["hover"], xlabel="",
        ylabel="score", title=title, show_legend=True,
        height=max(180, 70 + 34 * suspects.height), legend_position="bottom_right",
        hover_tooltips=[("suspect", "@suspect"), ("signal", "@signal"), ("adds", "@points{0.00}"), ("score", "@score{0.00}")],
        **_COMMON,
    )  # fmt: skip


def timeline(
    result: Any,
    *,
    window: tuple[dt.datetime, dt.datetime] | None = None,
    baseline: tuple[dt.datetime, dt.datetime] | None = None,
    title: str = "Everything found, in time order",
    max_objects: int = 30,
) -> hv.Element:
    """Evidence over time: x = time, y = the object it was seen on (the suspects' first, by
    rank), colour = signal, size = strength; the baseline (grey) and the window (orange)
    shaded. ``result`` is a TriageResult (its window and baseline are used) or a timeline frame."""
    frame = result if isinstance(result, pl.DataFrame) else result.timeline
    if not isinstance(result, pl.DataFrame):
        window = window or result.window
        baseline = baseline or result.baseline
    frame = frame.filter(pl.col("time").is_not_null())
    if frame.is_empty():
        return _empty(title)
    if not isinstance(result, pl.DataFrame):
        rank = dict(zip(result.suspects["object"].to_list(), result.suspects["rank"].to_list(), strict=True))
    else:
        firsts = frame.filter(pl.col("suspect").is_not_null()).sort("time")["suspect"].unique(maintain_order=True)
        rank = {s: i for i, s in enumerate(firsts.to_list())}
    ranked = (frame.group_by("object").agg(pl.col("score").max().alias("_best"), pl.col("time").min().alias("_first"),
                                          pl.col("suspect").drop_nulls().first())
              .with_columns(pl.col("suspect").replace_strict(rank, default=len(rank) + 1, return_dtype=pl.Int64)
                            .alias("_r"))
              .sort(["_r", "_best", "_first", "object"], descending=[False, True, False, False]).head(max_objects)
              .with_row_index("_top"))
    # bokeh stacks categories bottom-up in order of appearance: the top row must come last
    data = (frame.join(ranked.select("object", "_top"), on="object", how="inner")
            .with_columns((6 + 14 * pl.col("score").clip(0, 1)).alias("size"),
                          pl.col("detail").str.slice(0, 220), pl.col("suspect").fill_null("(not a suspect)"))
            .sort(["_top", "time"], descending=[True, False]))
    cmap = {s: SIGNAL_COLORS.get(s, "#757575") for s in data["signal"].unique().sort().to_list()}
    points = hv.Scatter(data.select("time", "object", "signal", "score", "detail", "suspect", "size").to_pandas(),
                        kdims=["time"], vdims=["object", "signal", "score", "detail", "suspect", "size"])
    points = points.opts(
        backend="bokeh", color="signal", cmap=cmap, size="size", alpha=0.8, tools=["hover"], xlabel="", ylabel="",
        legend_position="right", show_legend=True,
        height=max(220, 80 + 24 * ranked.height), title=title, line_color="white",
        hover_tooltips=[("time", "@time{%F %T}"), ("object", "@object"), ("signal", "@signal"),
                        ("strength", "@score{0.00}"), ("suspect", "@suspect"), ("", "@detail")],
        hover_formatters={"@time": "datetime"}, **_COMMON,
    )  # fmt: skip
    layers: list[hv.Element] = []
    if baseline is not None and baseline[1] > baseline[0]:
        layers.append(hv.VSpan(baseline[0], baseline[1]).opts(backend="bokeh", color="#eeeeee", alpha=0.6))
    if window is not None:
        layers.append(hv.VSpan(window[0], window[1]).opts(backend="bokeh", color="#ffe0b2", alpha=0.35))
    return hv.Overlay([*layers, points]).opts(title=title)
