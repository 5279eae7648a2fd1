"""Charts of anomaly detection (HoloViews, bokeh; no widgets).

>>> from workbench.analyses import anomalies as an
>>> from workbench.viz import anomalies as an_viz
>>> scored = an.score(series, keys=["pod"])                                         # doctest: +SKIP
>>> an_viz.overlay(scored, intervals=an.intervals(scored, keys=["pod"]),
...                changes=an.change_points(series, keys=["pod"]), where={"pod": "cart-0"})  # doctest: +SKIP

An overlay shows one series: its values, the expected band (baseline ∓ threshold·scale), the
anomalous intervals shaded and the change points as vertical lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

from workbench.analyses.anomalies import SCORE_COLUMNS

__all__ = ["grid", "overlay"]

VALUE_COLOR = "#1e88e5"
BAND_COLOR = "#90a4ae"
ANOMALY_COLOR = "#e53935"
CHANGE_COLOR = "#6a1b9a"


def _keys(scored: pl.DataFrame) -> list[str]:
    return [c for c in scored.columns if c not in SCORE_COLUMNS]


def _select(frame: pl.DataFrame | None, where: Mapping[str, Any]) -> pl.DataFrame | None:
    if frame is None:
        return None
    for k, v in where.items():
        if k in frame.columns:
            frame = frame.filter(pl.col(k) == v)
    return frame


def overlay(
    scored: pl.DataFrame,
    *,
    intervals: pl.DataFrame | None = None,
    changes: pl.DataFrame | None = None,
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
    ylabel: str = "value",
) -> hv.Overlay:
    """One series of :func:`workbench.analyses.anomalies.score` output with its band, its
    anomalous intervals (``anomalies.intervals``/``detect``) and change points
    (``anomalies.change_points``). ``where`` picks the series by its key columns (the first
    series when omitted)."""
    keys = _keys(scored)
    if where is None and not scored.is_empty() and keys:
        where = scored.select(keys).row(0, named=True)
    where = dict(where or {})
    unknown = [k for k in where if k not in scored.columns]
    if unknown:
        msg = f"where names column(s) {', '.join(unknown)} that the scored frame lacks; its keys are {', '.join(keys)}"
        raise ValueError(msg)
    data = _select(scored, where).sort("ts")  # type: ignore[union-attr]
    name = " / ".join(str(v) for v in where.values()) or "series"
    pdf = data.select("ts", "value", "lower", "upper").to_pandas()
    band = hv.Area(pdf, "ts", ["lower", "upper"], label="expected").opts(
        backend="bokeh", color=BAND_COLOR, alpha=0.3, line_width=0
    )
    line = hv.Curve(pdf, "ts", ("value", ylabel), label=name).opts(
        backend="bokeh", color=VALUE_COLOR, line_width=1.6, tools=["hover"]
    )
    marks = data.filter(pl.col("anomalous")).select("ts", "value", "score").to_pandas()
    points = hv.Scatter(marks, "ts", ["value", "score"], label="anomalous").opts(
        backend="bokeh", color=ANOMALY_COLOR, size=6, tools=["hover"]
    )
    layers: list[hv.Element] = [band, line, points]
    iv = _select(intervals, where)
    if iv is not None and not iv.is_empty():
        layers += [
            hv.VSpan(s, e).opts(backend="bokeh", color=ANOMALY_COLOR, alpha=0.15)
            for s, e in iv.select("start", "end").iter_rows()
        ]
    cp = _select(changes, where)
    if cp is not None and not cp.is_empty():
        layers += [
            hv.VLine(t).opts(backend="bokeh", color=CHANGE_COLOR, line_dash="dashed", line_width=1.5)
            for t in cp["ts"].to_list()
        ]
    return hv.Overlay(layers).opts(
        backend="bokeh",
        title=title or name,
        legend_position="right",
        xlabel="time (UTC)",
        ylabel=ylabel,
        responsive=True,
        min_width=300,
        height=240,
        show_grid=True,
    )


def grid(
    scored: pl.DataFrame,
    intervals: pl.DataFrame,
    *,
    changes: pl.DataFrame | None = None,
    top: int = 6,
    cols: int = 2,
    keys: Sequence[str] | None = None,
) -> hv.Layout:
    """Overlays of the ``top`` series with the strongest anomalies (highest peak score)."""
    keys = list(keys) if keys is not None else _keys(scored)
    if intervals.is_empty() or not keys:
        return hv.Layout([overlay(scored, changes=changes)]).cols(cols)
    worst = (
        intervals.group_by(keys).agg(pl.col("peak_score").max()).sort("peak_score", descending=True).head(top)
    )
    plots = [
        overlay(scored, intervals=intervals, changes=changes, where=row)
        for row in worst.select(keys).iter_rows(named=True)
    ]
    return hv.Layout(plots).cols(cols)
