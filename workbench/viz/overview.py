"""Charts for the snapshot overview (HoloViews; no widgets).

>>> from workbench.analyses import overview
>>> from workbench.viz.overview import status_bars
>>> status_bars(overview.pods_by_status(ds))          # doctest: +SKIP
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the bokeh options used below)
import polars as pl

__all__ = ["OK_COLOR", "PROBLEM_COLOR", "status_bars"]

OK_COLOR = "#2e7d32"
PROBLEM_COLOR = "#c62828"


def status_bars(by_status: pl.DataFrame, *, title: str = "Pods by status") -> hv.Bars:
    """Horizontal bars: how many pods show each kubectl STATUS (summed over clusters), most
    common on top, problem statuses in red.

    ``by_status`` is :func:`workbench.analyses.overview.pods_by_status` output (columns
    status, pods, ok; extra columns are ignored).
    """
    if by_status.is_empty():
        data = pl.DataFrame({"status": ["(no pods)"], "pods": [0], "ok": [True]})
    else:
        data = (
            by_status.group_by("status")
            .agg(pl.col("pods").sum(), pl.col("ok").all())
            .sort(["pods", "status"], descending=[False, True])
        )
    data = data.with_columns(
        pl.when(pl.col("ok")).then(pl.lit(OK_COLOR)).otherwise(pl.lit(PROBLEM_COLOR)).alias("color"),
        pl.when(pl.col("ok")).then(pl.lit("ok")).otherwise(pl.lit("problem")).alias("health"),
    )
    bars = hv.Bars(data.to_pandas(), kdims=["status"], vdims=["pods", "health", "color"], label=title)
    height = max(160, 60 + 28 * data.height)
    return bars.opts(
        backend="bokeh",
        invert_axes=True,
        color="color",
        tools=["hover"],
        hover_tooltips=[("status", "@status"), ("pods", "@pods"), ("health", "@health")],
        xlabel="",
        ylabel="pods",
        title=title,
        height=height,
        responsive=True,
        min_width=280,
        show_grid=True,
        toolbar=None,
        default_tools=[],
    )
