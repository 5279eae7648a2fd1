"""Drawing a new frame on the Bokeh figures HoloViews drew, in place.

A served page that shows a HoloViews plot and then redraws it for a new scope pays, through
HoloViews, tens of milliseconds per plot (options looked up, ranges computed for every element,
new models when an overlay changes) and the document's model graph walked again. The data of a
frame is most of what changes: here a page draws it on the figures HoloViews made the first
time, setting data sources, colour ranges, axis ranges, ticks and titles as HoloViews would set
them for that frame, and adds no model (the graph need not be walked again).

- :func:`dynamic`, :data:`Redraw`: a DynamicMap of a page's current frame, told of a new frame
  without an event (:meth:`PlotFigures.draw`), so a view rendered later draws it too.
- :class:`PlotFigures`: the figures a plot was drawn on (its hook remembers them), where a new
  frame is drawn. (Not :class:`workbench.viz._figures.Shown`: a chart showing its figure or
  its placeholder.)
- :func:`redraw_lines`, :func:`redraw_images`, :func:`redraw_graph`: one frame of
  :func:`workbench.viz.apm.metric_curves`, of ``hv.Image`` overlays (the hitmaps) and of
  :func:`workbench.viz.servicemap.service_graph`. Each returns False, changing nothing, when
  the figure cannot take the frame in place (then the page lets HoloViews draw it).

The unit tests compare figures redrawn here with figures HoloViews draws afresh from the same
frame (``tests/unit/ui/test_inplace.py``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import holoviews as hv
import numpy as np
from bokeh.core.properties import value
from bokeh.models import (
    ColumnDataSource,
    DatetimeAxis,
    FixedTicker,
    GlyphRenderer,
    GraphRenderer,
    HoverTool,
    Image,
    Legend,
    LegendItem,
    Line,
    Text,
)
from holoviews.core.util import dimension_sanitizer

from workbench.viz.apm import Lines

__all__ = [
    "Redraw",
    "PlotFigures",
    "bump",
    "dynamic",
    "redraw_graph",
    "redraw_images",
    "redraw_lines",
    "set_time_range",
]

#: The stream of a page's plot: a new ``version`` is a new frame.
Redraw = hv.streams.Stream.define("Redraw", version=0)


def bump(stream: hv.streams.Stream) -> None:
    """A new frame, drawn by HoloViews on every plot of ``stream``'s DynamicMaps (an event)."""
    stream.event(version=stream.version + 1)


def dynamic(draw: Callable[[], Any], stream: hv.streams.Stream, *linked: hv.streams.Stream) -> hv.DynamicMap:
    """A DynamicMap of ``draw()``, drawn again for each new ``version`` of ``stream`` (one
    frame kept). Its elements must be ``framewise`` for the axes to follow each frame's data.

    ``linked`` streams (a box drawn, a tap) are among the map's streams so that HoloViews links
    them to the plot (a stream whose source is a DynamicMap of overlays is not linked); their
    events redraw the same frame, which ``draw`` is not asked for again."""
    last: dict[str, Any] = {}

    def frame(version: int, **_: Any) -> Any:
        if last.get("version") != version:
            last.update(version=version, frame=draw())
        return last["frame"]

    return hv.DynamicMap(frame, streams=[stream, *linked], cache_size=1)


class PlotFigures:
    """The Bokeh figures a plot was drawn on: pass :meth:`hook` to its ``hooks`` option (a view
    that goes away takes its figure with it)."""

    def __init__(self) -> None:
        self.figures: weakref.WeakSet[Any] = weakref.WeakSet()

    def hook(self, plot: Any, element: Any) -> None:
        """HoloViews hook: remember the figure."""
        del element
        self.figures.add(plot.state)

    def draw(
        self, stream: hv.streams.Stream, frame: Callable[[], Any], redraw: Callable[[Any, Any], bool]
    ) -> bool:
        """Draw ``frame()`` with ``redraw(figure, frame)`` on every figure shown, then give
        ``stream`` a new version without an event (a view rendered later draws the frame from
        the DynamicMap). False when a figure could not take it: the caller has it drawn
        another way (the version is left alone)."""
        figures = list(self.figures)
        if figures:
            drawn = frame()
            if not all(redraw(fig, drawn) for fig in figures):
                return False
        stream.update(version=stream.version + 1)
        return True


def _field(spec: Any) -> str:
    return str(getattr(spec, "field", spec))


def _set_range(axis: Any, lo: Any, hi: Any) -> None:
    """Set a Bokeh ``Range1d`` to ``lo``–``hi`` as HoloViews does for a frame (``reset`` too);
    a range of one value is widened (by half a second, a tenth of it, or 0.5)."""
    if lo == hi:
        if isinstance(lo, np.datetime64):
            lo, hi = lo - np.timedelta64(500, "ms"), hi + np.timedelta64(500, "ms")
        else:
            pad = abs(lo * 0.1) if lo else 0.5
            lo, hi = lo - pad, hi + pad
    axis.update(start=lo, end=hi, reset_start=lo, reset_end=hi)


def set_time_range(figures: list[Any], drawn: list[Lines]) -> None:
    """The shared time axis of ``figures``: the span of every line of ``drawn`` (unchanged when
    there is none)."""
    stamps = [ts for d in drawn for _, ts, _ in d.lines if ts.size]
    if stamps:
        lo, hi = min(ts.min() for ts in stamps), max(ts.max() for ts in stamps)
        for fig in figures:
            _set_range(fig.x_range, lo, hi)


def redraw_lines(fig: Any, drawn: Lines) -> bool:
    """Draw ``drawn`` on ``fig``, a figure HoloViews drew from
    :func:`~workbench.viz.apm.metric_curves`, as HoloViews draws it afresh: line ``i`` (colour
    ``i`` of the cycle) gets the ``i``-th group's data and legend label, lines beyond the groups
    are hidden with their legend items, lines are added when there are more groups than lines
    (models added); title, y label and the y range (the data's, padded by a tenth of it each
    side) follow. The time range is the caller's (:func:`set_time_range`: it is shared). False
    when ``fig`` has no legend or no time axis (HoloViews drew it from an empty frame)."""
    lines = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Line)]
    if not lines or not fig.legend or not any(isinstance(a, DatetimeAxis) for a in fig.xaxis):
        return False
    legend = fig.legend[0]
    items = {id(r): item for item in legend.items for r in item.renderers}
    hovers = [t for t in fig.tools if isinstance(t, HoverTool)]
    while len(lines) < len(drawn.lines):
        lines.append(_add_line(fig, lines[0], hv.Cycle().values, len(lines), legend, hovers))
        items[id(lines[-1])] = legend.items[-1]
    for i, r in enumerate(lines):
        x, y = _field(r.glyph.x), _field(r.glyph.y)
        shown = i < len(drawn.lines)
        if shown:
            name, ts, values = drawn.lines[i]
            r.data_source.data = {x: ts, y: values}
        elif len(r.data_source.data.get(x, ())):
            r.data_source.data = {x: np.array([], "datetime64[us]"), y: np.array([], float)}
        r.visible = shown
        item = items.get(id(r))
        if item is not None:
            item.update(visible=shown, **({"label": value(name)} if shown else {}))
    fig.title.text = drawn.title
    for axis in fig.yaxis:
        axis.axis_label = drawn.label
    y = _field(lines[0].glyph.y)
    for tool in hovers:
        tool.tooltips = [
            (drawn.label if f"@{{{y}}}" in spec else label, spec) for label, spec in tool.tooltips
        ]
    values = np.concatenate([v for _, _, v in drawn.lines]) if drawn.lines else np.array([])
    values = values[np.isfinite(values)]
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = 0.1 * (hi - lo)
        _set_range(fig.y_range, lo - pad, hi + pad)
    return True


def _add_line(fig: Any, proto: GlyphRenderer, colors: list[str], i: int, legend: Legend,
              hovers: list[HoverTool]) -> GlyphRenderer:  # fmt: skip
    """A line like ``proto`` in colour ``i`` of ``colors``, empty, added to ``fig``, its legend
    and hover tools."""
    color = colors[i % len(colors)]
    glyphs = {
        k: g.clone(line_color=color)
        for k in ("glyph", "selection_glyph", "nonselection_glyph", "muted_glyph", "hover_glyph")
        if isinstance(g := getattr(proto, k), Line)
    }
    source = ColumnDataSource({k: np.asarray(v)[:0] for k, v in proto.data_source.data.items()})
    line = GlyphRenderer(data_source=source, **glyphs)
    fig.renderers = [*fig.renderers, line]
    legend.items = [*legend.items, LegendItem(label=value(""), renderers=[line])]
    for tool in hovers:
        if isinstance(tool.renderers, list):
            tool.renderers = [*tool.renderers, line]
    return line


def _plot_opt(element: Any, name: str) -> Any:
    return element.opts.get("plot").kwargs.get(name)


def redraw_images(fig: Any, overlay: hv.Overlay, *, title: str | None = None) -> bool:
    """Draw ``overlay``'s ``hv.Image`` layers on ``fig``, a figure HoloViews drew from an
    overlay of as many images, as HoloViews draws a frame: each image's data, bounds and colour
    range (its ``clim``), the ranges (the first image's bounds), the y ticks (its ``yticks``)
    and ``title``. False when the figure has another number of images."""
    images = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Image)]
    layers = [el for el in overlay.values() if isinstance(el, hv.Image)]
    if not layers or len(images) != len(layers):
        return False
    for r, layer in zip(images, layers, strict=True):
        left, bottom, right, top = layer.bounds.lbrt()
        r.data_source.data = {"image": [layer.dimension_values(2, flat=False)], "x": [left], "y": [bottom],
                              "dw": [right - left], "dh": [top - bottom]}  # fmt: skip
        clim = _plot_opt(layer, "clim")
        if clim is not None:
            r.glyph.color_mapper.update(low=clim[0], high=clim[1])
    left, bottom, right, top = layers[0].bounds.lbrt()
    fig.x_range.update(start=left, end=right, reset_start=left, reset_end=right)
    fig.y_range.update(start=bottom, end=top, reset_start=bottom, reset_end=top)
    _set_ticks(fig, _plot_opt(layers[0], "yticks"))
    if title is not None:
        fig.title.text = title
    return True


def _set_ticks(fig: Any, ticks: list[tuple[float, str]] | None) -> None:
    for axis in fig.yaxis if ticks is not None else []:
        if isinstance(axis.ticker, FixedTicker):
            axis.ticker.ticks = [v for v, _ in ticks]
            axis.major_label_overrides = {v: label for v, label in ticks}


def redraw_graph(fig: Any, overlay: hv.Overlay) -> bool:
    """Draw ``overlay`` — one ``hv.Graph`` with edge paths and ``hv.Labels`` layers, as
    :func:`workbench.viz.servicemap.service_graph` makes — on ``fig``, a figure HoloViews drew
    from such an overlay, as HoloViews draws it afresh: nodes (positions, styled columns), edges
    (ends, paths, hover and styled columns, colour range), each label layer's points and text
    (a layer the figure has beyond the overlay's is emptied), the ranges (``xlim``/``ylim``)
    and the title. False when the figure has no graph, fewer label layers, or columns the
    frame does not give."""
    graphs = [r for r in fig.renderers if isinstance(r, GraphRenderer)]
    texts = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Text)]
    parts = list(overlay.values()) if isinstance(overlay, hv.Overlay) else [overlay]
    graph = [el for el in parts if isinstance(el, hv.Graph)]
    labels = [el for el in parts if isinstance(el, hv.Labels)]
    if len(graphs) != 1 or len(graph) != 1 or len(labels) > len(texts):
        return False
    new = _graph_data(graphs[0], graph[0])
    layers = [_labels_data(r, el) for r, el in zip(texts, labels, strict=False)]
    if new is None or any(d is None for d in layers):
        return False
    nodes, edges, layout, clim = new
    renderer = graphs[0]
    renderer.node_renderer.data_source.data = nodes
    renderer.edge_renderer.data_source.data = edges
    renderer.layout_provider.graph_layout = layout
    mapper = getattr(getattr(renderer.edge_renderer.glyph, "line_color", None), "transform", None)
    if clim is not None and mapper is not None and hasattr(mapper, "low"):
        mapper.update(low=clim[0], high=clim[1])
    for i, r in enumerate(texts):
        r.data_source.data = (
            layers[i] if i < len(layers) else {k: np.asarray(v)[:0] for k, v in r.data_source.data.items()}
        )
    xlim, ylim = _plot_opt(overlay, "xlim"), _plot_opt(overlay, "ylim")
    if xlim is not None:
        _set_range(fig.x_range, *xlim)
    if ylim is not None:
        _set_range(fig.y_range, *ylim)
    title = _plot_opt(overlay, "title")
    if title is not None:
        fig.title.text = title
    return True


def _graph_data(renderer: GraphRenderer, graph: hv.Graph) -> tuple[dict, dict, dict, Any] | None:
    """The node and edge columns, layout and edge colour range HoloViews gives ``graph``'s
    renderer (``GraphPlot.get_data`` for string node names, edge paths and a style that names
    columns), for the columns ``renderer`` has; None when one cannot be given."""
    names = graph.nodes.dimension_values(2)
    at = graph.nodes.array([0, 1])
    index = {n: i for i, n in enumerate(names)}
    style = graph.opts.get("style").kwargs

    def styled(key: str, element: Any) -> Any:  # "node_color" → the column its style option names
        spec = style.get(key)
        return (
            element.dimension_values(spec) if isinstance(spec, str) and element.get_dimension(spec) else None
        )

    nodes: dict[str, Any] = {}
    for col in renderer.node_renderer.data_source.data:
        nodes[col] = np.arange(len(names), dtype=np.int32) if col == "index" else styled(col, graph.nodes)
        if nodes[col] is None:
            return None
        if col != "index":
            nodes[col] = list(nodes[col])
    missing = len(names)
    ends = {k: np.array([index.get(v, missing) for v in graph.dimension_values(i)], dtype=np.int32)
            for i, k in enumerate(("start", "end"))}  # fmt: skip
    paths = _edge_paths(graph)
    if len(paths) != len(graph):
        return None
    dims = {dimension_sanitizer(d.name) + ("_values" if d.name in ("start", "end") else ""): d
            for d in graph.dimensions()}  # fmt: skip
    edges: dict[str, Any] = {}
    for col in renderer.edge_renderer.data_source.data:
        if col in ends:
            edges[col] = ends[col]
        elif col in ("xs", "ys"):
            edges[col] = [p[:, 0 if col == "xs" else 1] for p in paths]
        elif col in dims:
            edges[col] = graph.dimension_values(dims[col])
        else:
            edges[col] = styled(col, graph)
            if edges[col] is None:
                return None
    layout = {index[n]: (x, y) for n, (x, y) in zip(names, at, strict=True)}
    return nodes, edges, layout, _plot_opt(graph, "clim")


def _edge_paths(graph: hv.Graph) -> list[np.ndarray]:
    """Each edge's path as an ``(n, 2)`` array, as HoloViews splits the graph's edge paths
    (read straight from their columns when the graph holds one path per edge)."""
    paths, (x, y) = graph.edgepaths, (d.name for d in graph.edgepaths.kdims)
    if len(paths.data) == len(graph) and all(isinstance(p, dict) and x in p and y in p for p in paths.data):
        return [
            np.column_stack([np.asarray(p[x], dtype=float), np.asarray(p[y], dtype=float)])
            for p in paths.data
        ]
    return graph._split_edgepaths.split(datatype="array", dimensions=paths.kdims)


def _labels_data(renderer: GlyphRenderer, labels: hv.Labels) -> dict[str, Any] | None:
    """A ``Text`` renderer's columns for ``labels`` (points and text), or None when its text
    column is not the labels' text dimension."""
    x, y, text = (_field(getattr(renderer.glyph, k)) for k in ("x", "y", "text"))
    if text != dimension_sanitizer(labels.vdims[0].name):
        return None
    return {
        x: labels.dimension_values(0),
        y: labels.dimension_values(1),
        text: list(labels.dimension_values(2)),
    }
