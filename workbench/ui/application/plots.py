"""The application page's plots, redrawn in place.

Each plot is a HoloViews ``DynamicMap`` fed by a stream: a new scope or service sends an event
and HoloViews updates the existing Bokeh models (data, ranges, colour scale) instead of building
new figures, which costs several times less. The plots are drawn from what the page keeps
(:class:`~workbench.ui.application.data.ScopeResults`); nothing is computed here.

- :class:`Charts`: TPS, response time, errors and active transactions (one curve per service).
- :class:`ServiceBands`: the hitmap of every service in one plot, a band per service; a tap on
  a band picks that service.
- :class:`LargeHitmap`: one service's (or all services') hitmap, where a box selects
  transactions (its ``bounds`` stream) and the selected box is drawn.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import holoviews as hv
import panel as pn
import polars as pl
from panel.io.document import hold

from workbench.analyses import apm
from workbench.analyses.hitmap import Hitmap, hitmap
from workbench.schema import empty
from workbench.ui.application.box import BoxMarker
from workbench.viz import apm as apm_viz
from workbench.viz.hitmap import Bands, band_hitmap, bands, hitmap_element

__all__ = ["BANDS_TITLE", "Charts", "LargeHitmap", "ServiceBands", "held"]

#: The title of the per-service hitmap.
BANDS_TITLE = "Hitmap per service (busiest on top): click a band to open its service"

log = logging.getLogger(__name__)

_Redraw = hv.streams.Stream.define("Redraw", version=0)


@contextlib.contextmanager
def held(pane: pn.viewable.Viewable) -> Iterator[None]:
    """Hold the Bokeh documents ``pane`` is shown in while the block changes the page: the model
    graph is recomputed and the browser told once at the end, not once per plot (the slowest
    part of a redraw otherwise)."""
    docs = {model.document for model, _ in pane._models.values() if model.document is not None}
    with contextlib.ExitStack() as stack:
        for doc in docs:
            stack.enter_context(hold(doc, freeze=True))
        yield


def _dynamic(draw: Callable[[], Any], stream: hv.streams.Stream, *linked: hv.streams.Stream) -> hv.DynamicMap:
    """A DynamicMap of ``draw()``, redrawn on every event of ``stream`` (one frame kept). Its
    elements must be ``framewise`` for the axes to follow each frame's data.

    ``linked`` streams (a box drawn, a tap) are among the map's streams so that HoloViews links
    them to the plot (a stream whose source is a DynamicMap of overlays is not linked); their
    events redraw the same frame, which ``draw`` is not asked for again."""
    last: dict[str, Any] = {}

    def frame(version: int, **_: Any) -> Any:
        if last.get("version") != version:
            last.update(version=version, frame=draw())
        return last["frame"]

    return hv.DynamicMap(frame, streams=[stream, *linked], cache_size=1)


@functools.cache
def _nothing() -> Hitmap:
    """The hitmap of no transactions (what the large hitmap shows before anything is read)."""
    return hitmap(empty("spans"), by=("service",))


def _bump(stream: hv.streams.Stream) -> None:
    stream.event(version=stream.version + 1)


class Charts:
    """TPS, response time (the chosen percentile), errors and active transactions over time.

    The plots are built on the first :meth:`show` (from data: an empty first frame would give
    them a numeric time axis), then redrawn in place."""

    def __init__(self) -> None:
        self.series = pl.DataFrame(schema={"service": pl.String(), **apm.SERIES_COLUMNS})
        self.active = pl.DataFrame(schema={"service": pl.String(), **apm.ACTIVE_SERIES_COLUMNS})
        self.stat = "rt_p90_ms"
        self.layout: hv.Layout | None = None
        self._streams = [_Redraw() for _ in range(4)]

    def _build(self) -> hv.Layout:
        draws = [
            lambda: apm_viz.tps_curve(self.series),
            lambda: apm_viz.rt_curve(self.series, stat=self.stat),
            lambda: apm_viz.error_curve(self.series),
            lambda: apm_viz.active_curve(self.active, mean=True, title="Active transactions (mean over each bucket)"),
        ]
        maps = [_dynamic(lambda d=d: d().opts(hv.opts.Curve(framewise=True)), s)
                for d, s in zip(draws, self._streams, strict=True)]  # fmt: skip
        # (shared_axes=False would stop the axes following the data: the time axes are shared)
        return hv.Layout(maps).cols(2)

    def show(self, series: pl.DataFrame, active: pl.DataFrame, stat: str) -> hv.Layout | None:
        """Draw these series (``apm.series`` / ``apm.active_series`` frames). Returns the plots
        to put on the page the first time, else None (the plots shown were redrawn)."""
        self.series, self.active, self.stat = series, active, stat
        if self.layout is None:
            self.layout = self._build()
            return self.layout
        for s in self._streams:
            _bump(s)
        return None

    def show_stat(self, stat: str) -> None:
        """Redraw the response-time chart only, for another percentile column."""
        self.stat = stat
        _bump(self._streams[1])


class LargeHitmap:
    """One hitmap, large, with box select: ``bounds`` is the BoundsXY stream of the drawn box.

    Its two layers (counts, errors) are two DynamicMaps overlaid: the box stream is linked to
    the counts layer without being one of its streams, so a box drawn redraws nothing."""

    def __init__(self, marker: BoxMarker, *, height: int = 380) -> None:
        self.hm: Hitmap | None = None
        self.group: tuple[Any, ...] | None = None
        self.title = "Hitmap"
        self.height = height
        self.marker = marker
        self._stream = _Redraw()
        self._frame: dict[str, Any] = {}
        counts = hv.DynamicMap(lambda version: self._layer(version, 0), streams=[self._stream], cache_size=1)
        errors = hv.DynamicMap(lambda version: self._layer(version, 1), streams=[self._stream], cache_size=1)
        self.bounds = hv.streams.BoundsXY(source=counts)
        self.dmap = (counts * errors).opts(active_tools=["box_select"])

    def _layer(self, version: int, n: int) -> hv.Image:
        if self._frame.get("version") != version:
            hm = self.hm if self.hm is not None else _nothing()
            el = hitmap_element(hm, group=self.group, title=self.title, height=self.height)
            self._frame.update(version=version, layers=(el.get(0).opts(hooks=[self.marker.hook], title=self.title),
                                                        el.get(1)))  # fmt: skip
        return self._frame["layers"][n].opts(framewise=True)

    def show(self, hm: Hitmap, group: tuple[Any, ...] | None, title: str) -> None:
        """Draw ``hm`` (the one ``group``; all groups summed when None)."""
        self.hm, self.group, self.title = hm, group, title
        _bump(self._stream)


class ServiceBands:
    """Every service's hitmap as a band of one plot; ``on_pick(service)`` is called when a band
    is tapped. The plot is built on the first :meth:`show`, as high as that many bands (at
    least ``min_bands``); later scopes redraw it in place, their bands sharing that height."""

    def __init__(self, on_pick: Callable[[str], None], *, max_groups: int = 24, min_bands: int = 4) -> None:
        self.on_pick = on_pick
        self.max_groups = max_groups
        self.min_bands = min_bands
        self.hm: Hitmap | None = None
        self.layout: Bands | None = None
        self.dmap: hv.DynamicMap | None = None
        self._stream = _Redraw()
        self._tap: hv.streams.Tap | None = None
        self._height = 0

    def _draw(self) -> hv.Overlay:
        assert self.hm is not None and self.layout is not None
        el = band_hitmap(self.hm, self.layout, title=BANDS_TITLE)
        return el.opts(hv.opts.Image(height=self._height, framewise=True))

    def _tapped(self, x: Any = None, y: Any = None) -> None:
        group = self.layout.group_at(y) if self.layout is not None and y is not None else None
        if group:
            self.on_pick(str(group[0]))

    def show(self, hm: Hitmap) -> hv.DynamicMap | None:
        """Draw ``hm`` (grouped by service). Returns the plot to put on the page the first time,
        else None (the plot shown was redrawn)."""
        # the response times the bands span are those of the first scope shown (the broadest,
        # usually), kept for the plot's life: its hover reads them
        span = (self.layout.first, self.layout.first + self.layout.rows * self.layout.merge - 1) if self.layout else None
        self.hm, self.layout = hm, bands(hm, max_groups=self.max_groups, span=span)
        if self.dmap is not None:
            _bump(self._stream)
            return None
        self._height = 70 + 44 * max(self.min_bands, len(self.layout.groups))
        self._tap = hv.streams.Tap(x=None, y=None)
        self._tap.add_subscriber(self._tapped)
        self.dmap = _dynamic(self._draw, self._stream, self._tap)
        return self.dmap
