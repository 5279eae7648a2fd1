"""The application page's plots, drawn once by HoloViews and then redrawn in place.

Each plot is a HoloViews ``DynamicMap`` of what the page keeps
(:class:`~workbench.ui.application.data.ScopeResults`; nothing is computed here). A new scope or
service is drawn on the Bokeh figures shown (:mod:`workbench.ui._inplace`): data, ranges,
colour scales, titles, without HoloViews and without new models, which costs milliseconds where
a HoloViews redraw costs tens of them per plot; the DynamicMaps are told of the new frame so a
view rendered later draws it too.

- :class:`Charts`: TPS, response time, errors and active transactions (one curve per service).
- :class:`ServiceBands`: the hitmap of every service in one plot, a band per service; a tap on
  a band picks that service.
- :class:`LargeHitmap`: one service's (or all services') hitmap, where a box selects
  transactions (its ``bounds`` stream) and the selected box is drawn.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import holoviews as hv
import polars as pl

from workbench.analyses import apm
from workbench.analyses.hitmap import Hitmap, hitmap
from workbench.schema import empty
from workbench.ui._inplace import (
    PlotFigures,
    Redraw,
    bump,
    dynamic,
    redraw_images,
    redraw_lines,
    set_time_range,
)
from workbench.ui.application.box import BoxMarker
from workbench.viz import apm as apm_viz
from workbench.viz.hitmap import Bands, band_hitmap, bands, hitmap_element

__all__ = ["BANDS_TITLE", "Charts", "LargeHitmap", "ServiceBands"]

#: The title of the per-service hitmap.
BANDS_TITLE = "Hitmap per service (busiest on top): click a band to open its service"

log = logging.getLogger(__name__)


@functools.cache
def _nothing() -> Hitmap:
    """The hitmap of no transactions (what the large hitmap shows before anything is read)."""
    return hitmap(empty("spans"), by=("service",))


class Charts:
    """TPS, response time (the chosen percentile), errors and active transactions over time.

    HoloViews draws the charts the first time (:func:`workbench.viz.apm.metric_curves`, from
    data: an empty first frame would give them a numeric time axis); later frames are drawn in
    place (:func:`~workbench.ui._inplace.redraw_lines`), and the plots are built again only
    when a figure cannot take them (drawn from an empty frame)."""

    def __init__(self) -> None:
        self.series = pl.DataFrame(schema={"service": pl.String(), **apm.SERIES_COLUMNS})
        self.active = pl.DataFrame(schema={"service": pl.String(), **apm.ACTIVE_SERIES_COLUMNS})
        self.stat = "rt_p90_ms"
        self.layout: hv.Layout | None = None
        self._streams = [Redraw() for _ in range(4)]
        self._shown = [PlotFigures() for _ in range(4)]

    def lines(self, chart: int) -> apm_viz.Lines:
        """What chart ``chart`` (0 TPS, 1 response time, 2 error rate, 3 active) shows now."""
        frame, metric, title = [
            (self.series, "tps", "TPS"),
            (self.series, self.stat, apm_viz.METRICS.get(self.stat, self.stat)),
            (self.series, "error_rate", "Error rate"),
            (self.active, "active_mean", "Active transactions (mean over each bucket)"),
        ][chart]
        return apm_viz.metric_lines(frame, metric, title=title)

    def _draw(self, chart: int) -> hv.Overlay:
        drawn = self.lines(chart)
        frame = self.series if chart < 3 else self.active
        plot = apm_viz.metric_curves(frame, drawn.metric, title=drawn.title)
        return plot.opts(hooks=[self._shown[chart].hook], backend="bokeh")

    def _build(self) -> hv.Layout:
        self._shown = [PlotFigures() for _ in range(4)]
        maps = [dynamic(functools.partial(self._draw, i), s) for i, s in enumerate(self._streams)]
        # (shared_axes=False would stop the axes following the data: the time axes are shared)
        return hv.Layout(maps).cols(2)

    def _redraw(self, charts: list[int]) -> bool:
        """Draw the current frame of ``charts`` on every figure shown; False when a figure could
        not take it."""
        drawn: dict[int, apm_viz.Lines] = {}
        for i in charts:
            if not self._shown[i].draw(
                self._streams[i], lambda i=i: drawn.setdefault(i, self.lines(i)), redraw_lines
            ):
                return False
        if len(charts) == len(self._streams):  # the charts share their time axis
            set_time_range([f for shown in self._shown for f in shown.figures], list(drawn.values()))
        return True

    def show(self, series: pl.DataFrame, active: pl.DataFrame, stat: str) -> hv.Layout | None:
        """Draw these series (``apm.series`` / ``apm.active_series`` frames). Returns the plots
        to put on the page when they were built (the first time, or after an empty first
        frame), else None (the plots shown were redrawn in place)."""
        self.series, self.active, self.stat = series, active, stat
        if self.layout is None or not self._redraw([0, 1, 2, 3]):
            self.layout = self._build()
            return self.layout
        return None

    def show_stat(self, stat: str) -> hv.Layout | None:
        """Redraw the response-time chart only, for another percentile column (returns what
        :meth:`show` does)."""
        self.stat = stat
        if self.layout is None or self._redraw([1]):
            return None
        self.layout = self._build()
        return self.layout


class LargeHitmap:
    """One hitmap, large, with box select: ``bounds`` is the BoundsXY stream of the drawn box.

    Its two layers (counts, errors) are two DynamicMaps overlaid: the box stream is linked to
    the counts layer without being one of its streams, so a box drawn redraws nothing. A new
    hitmap is drawn in place (:func:`~workbench.ui._inplace.redraw_images`)."""

    def __init__(self, marker: BoxMarker, *, height: int = 380) -> None:
        self.hm: Hitmap | None = None
        self.group: tuple[Any, ...] | None = None
        self.title = "Hitmap"
        self.height = height
        self.marker = marker
        self._stream = Redraw()
        self._frame: dict[str, Any] = {}
        self._shown = PlotFigures()
        counts = hv.DynamicMap(lambda version: self._layer(version, 0), streams=[self._stream], cache_size=1)
        errors = hv.DynamicMap(lambda version: self._layer(version, 1), streams=[self._stream], cache_size=1)
        self.bounds = hv.streams.BoundsXY(source=counts)
        self.dmap = (counts * errors).opts(active_tools=["box_select"])

    def _element(self) -> hv.Overlay:
        hm = self.hm if self.hm is not None else _nothing()
        return hitmap_element(hm, group=self.group, title=self.title, height=self.height)

    def _layer(self, version: int, n: int) -> hv.Image:
        if self._frame.get("version") != version:
            el = self._element()
            counts = el.get(0).opts(hooks=[self.marker.hook, self._shown.hook], title=self.title)
            self._frame.update(version=version, layers=(counts, el.get(1)))
        return self._frame["layers"][n].opts(framewise=True)

    def show(self, hm: Hitmap, group: tuple[Any, ...] | None, title: str) -> None:
        """Draw ``hm`` (the one ``group``; all groups summed when None)."""
        self.hm, self.group, self.title = hm, group, title
        if not self._shown.draw(self._stream, self._element, functools.partial(redraw_images, title=title)):
            bump(self._stream)


class ServiceBands:
    """Every service's hitmap as a band of one plot; ``on_pick(service)`` is called when a band
    is tapped. The plot is built on the first :meth:`show`, as high as that many bands (at
    least ``min_bands``); later scopes are drawn in place
    (:func:`~workbench.ui._inplace.redraw_images`), their bands sharing that height."""

    def __init__(self, on_pick: Callable[[str], None], *, max_groups: int = 24, min_bands: int = 4) -> None:
        self.on_pick = on_pick
        self.max_groups = max_groups
        self.min_bands = min_bands
        self.hm: Hitmap | None = None
        self.layout: Bands | None = None
        self.dmap: hv.DynamicMap | None = None
        self._stream = Redraw()
        self._tap: hv.streams.Tap | None = None
        self._height = 0
        self._shown = PlotFigures()

    def _element(self) -> hv.Overlay:
        assert self.hm is not None and self.layout is not None
        return band_hitmap(self.hm, self.layout, title=BANDS_TITLE)

    def _draw(self) -> hv.Overlay:
        el = self._element().map(
            lambda img: img.opts(height=self._height, framewise=True, backend="bokeh"), hv.Image
        )
        return el.opts(hooks=[self._shown.hook], backend="bokeh")

    def _tapped(self, x: Any = None, y: Any = None) -> None:
        group = self.layout.group_at(y) if self.layout is not None and y is not None else None
        if group:
            self.on_pick(str(group[0]))

    def show(self, hm: Hitmap) -> hv.DynamicMap | None:
        """Draw ``hm`` (grouped by service). Returns the plot to put on the page the first time,
        else None (the plot shown was redrawn)."""
        # the response times the bands span are those of the first scope shown (the broadest,
        # usually), kept for the plot's life: its hover reads them
        span = (
            (self.layout.first, self.layout.first + self.layout.rows * self.layout.merge - 1)
            if self.layout
            else None
        )
        self.hm, self.layout = hm, bands(hm, max_groups=self.max_groups, span=span)
        if self.dmap is not None:
            if not self._shown.draw(self._stream, self._element, redraw_images):
                bump(self._stream)
            return None
        self._height = 70 + 44 * max(self.min_bands, len(self.layout.groups))
        self._tap = hv.streams.Tap(x=None, y=None)
        self._tap.add_subscriber(self._tapped)
        self.dmap = dynamic(self._draw, self._stream, self._tap)
        return self.dmap
