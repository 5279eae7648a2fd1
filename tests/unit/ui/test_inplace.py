"""Plots redrawn in place (``workbench.ui._inplace`` and the application page's plots): after
each new frame, the figures a page shows must show what HoloViews draws afresh from that frame
(data, legend, colours, ranges, ticks, titles), and a batch of such updates must not walk the
document's model graph unless a model was added."""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import polars as pl
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, GlyphRenderer, GraphRenderer, HoverTool, Image, Line, Text
from bokeh.plotting import figure
from panel.io.state import set_curdoc

from workbench.analyses import apm, hitmap
from workbench.schema import conform
from workbench.ui._refresh import batched
from workbench.ui.application.box import BoxMarker
from workbench.ui.application.plots import BANDS_TITLE, Charts, LargeHitmap, ServiceBands
from workbench.viz import apm as apm_viz
from workbench.viz.hitmap import band_hitmap, hitmap_element

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)


def _spans(services: int = 5, seed: int = 3, minutes: int = 120) -> pl.DataFrame:
    """SERVER spans of ``services`` services (the first ones busier), some failed."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(services):
        for i in range(int(400 / (k + 1))):
            start = T0 + US * int(rng.integers(0, minutes * 60_000_000))
            dur = int(rng.lognormal(np.log(20_000 * (k + 1)), 0.8)) + 1
            rows.append({"cluster": "c1", "trace_id": f"{k:04x}{i:028x}", "span_id": f"{k:04x}{i:012x}",
                         "service": f"svc-{k}", "kind": "SERVER", "start": start, "end": start + US * dur,
                         "duration_us": dur, "error": bool(rng.random() < 0.05), "operation": "GET /"})  # fmt: skip
    return conform("spans", rows)


@pytest.fixture(scope="module")
def spans() -> pl.DataFrame:
    return _spans()


@pytest.fixture(autouse=True, scope="module")
def _bokeh() -> None:
    hv.Store.set_current_backend("bokeh")  # as a served page has it (hv.extension("bokeh"))


def _served(obj: Any) -> Document:
    """``obj`` rendered into a Bokeh document, as a served page renders it."""
    doc = Document()
    pn.Column(pn.pane.HoloViews(obj, linked_axes=False)).server_doc(doc)
    return doc


def _field(spec: Any) -> str:
    return str(getattr(spec, "field", spec))


def _lines(fig: Any) -> list[tuple[Any, str, np.ndarray, np.ndarray]]:
    """The lines a figure shows with data: legend label, colour, x and y values."""
    items = {id(r): it for it in (fig.legend[0].items if fig.legend else []) for r in it.renderers}
    out = []
    for r in fig.renderers:
        if not (isinstance(r, GlyphRenderer) and isinstance(r.glyph, Line) and r.visible):
            continue
        d = r.data_source.data
        x, y = np.asarray(d[_field(r.glyph.x)]), np.asarray(d[_field(r.glyph.y)], float)
        if not len(x):
            continue
        item = items.get(id(r))
        label = item.label.value if item is not None and item.visible else None
        out.append((label, r.glyph.line_color, x.astype("datetime64[us]"), y))
    return out


def _t(value: Any) -> float:
    """A range end as a number (datetimes as µs since the epoch)."""
    if isinstance(value, np.datetime64 | dt.datetime):
        return float(np.datetime64(value, "us").astype(np.int64))
    return float(value)


def _same_lines(got: Any, want: Any, *, ranges: bool = True) -> None:
    assert got.title.text == want.title.text
    assert got.yaxis[0].axis_label == want.yaxis[0].axis_label
    g, w = _lines(got), _lines(want)
    assert [(label, color) for label, color, _, _ in g] == [(label, color) for label, color, _, _ in w]
    for (_, _, gx, gy), (_, _, wx, wy) in zip(g, w, strict=True):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    tips = [[label for label, _ in t.tooltips] for t in (got.tools + want.tools) if isinstance(t, HoverTool)]
    assert all(t == tips[0] for t in tips)
    if ranges:
        for axis in ("x_range", "y_range"):
            a, b = getattr(got, axis), getattr(want, axis)
            assert _t(a.start) == pytest.approx(_t(b.start), rel=1e-9, abs=1e-9), axis
            assert _t(a.end) == pytest.approx(_t(b.end), rel=1e-9, abs=1e-9), axis


def _fresh_charts(charts: Charts) -> dict[str, Any]:
    """The four charts of ``charts``' current frame drawn afresh by HoloViews (as DynamicMaps,
    as the page shows them: a lone line keeps its legend), by title."""
    frames = [charts.series, charts.series, charts.series, charts.active]
    drawn = [charts.lines(i) for i in range(4)]
    plots = [apm_viz.metric_curves(f, d.metric, title=d.title) for f, d in zip(frames, drawn, strict=True)]
    grid = hv.render(hv.Layout([hv.DynamicMap(lambda p=p: p) for p in plots]).cols(2), backend="bokeh")
    return {fig.title.text: fig for fig, *_ in grid.children}


def test_charts_redrawn_in_place_show_what_holoviews_draws(spans: pl.DataFrame) -> None:
    window = {"start": T0, "end": T0 + dt.timedelta(hours=2)}
    late = {"start": T0 + dt.timedelta(minutes=70), "end": T0 + dt.timedelta(minutes=100)}
    series = apm.series(spans, by=("service",), bucket="5m", **window)
    active = apm.active_series(spans, by=("service",), bucket="5m", **window)
    some = pl.col("service").is_in(["svc-1", "svc-3"])
    frames = [
        (series.filter(some), active.filter(some), "rt_p90_ms"),  # two lines first
        (series, active, "rt_p99_ms"),  # more lines than the figures have: lines added
        (series.filter(pl.col("service") == "svc-2"), active.filter(pl.col("service") == "svc-2"), "rt_p50_ms"),
        (apm.series(spans, by=("service",), bucket="1m", **late), apm.active_series(spans, by=("service",),
         bucket="1m", **late), "rt_p90_ms"),  # another window: the time axis follows
        (series.head(0), active.head(0), "rt_p90_ms"),  # nothing: every line hidden
        (series, active, "rt_p90_ms"),
    ]  # fmt: skip
    charts = Charts()
    layout = charts.show(*frames[0])
    assert layout is not None
    doc = _served(layout)
    figures = [next(iter(s.figures)) for s in charts._shown]
    for n, frame in enumerate(frames[1:]):
        with set_curdoc(doc):
            assert charts.show(*frame) is None, "redrawn in place, not built again"
        assert [next(iter(s.figures)) for s in charts._shown] == figures
        fresh = _fresh_charts(charts)
        for fig in figures:
            _same_lines(fig, fresh[fig.title.text], ranges=n != 3)
            if n == 3:
                assert _lines(fig) == [] and all(not it.visible for it in fig.legend[0].items)
    with set_curdoc(doc):
        assert charts.show_stat("rt_p50_ms") is None
    rt = figures[1]
    assert rt.yaxis[0].axis_label == apm_viz.METRICS["rt_p50_ms"]
    _same_lines(rt, _fresh_charts(charts)[rt.title.text])


def test_charts_drawn_first_from_nothing_are_built_again_for_data(spans: pl.DataFrame) -> None:
    """An empty first frame gives HoloViews figures without a legend or a time axis: the next
    frame with data builds the plots again (returned for the page to show)."""
    series = apm.series(spans, by=("service",), bucket="5m")
    active = apm.active_series(spans, by=("service",), bucket="5m")
    charts = Charts()
    _served(charts.show(series.head(0), active.head(0), "rt_p90_ms"))
    again = charts.show(series, active, "rt_p90_ms")
    assert again is not None
    _served(again)
    fresh = _fresh_charts(charts)
    for shown in charts._shown:
        fig = next(iter(shown.figures))
        _same_lines(fig, fresh[fig.title.text])


def _images(fig: Any) -> list[tuple[np.ndarray, list[float], float, float]]:
    out = []
    for r in fig.renderers:
        if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Image):
            d = r.data_source.data
            where = [
                _t(d[k][0]) if k == "x" else float(np.asarray(d[k][0]).astype(np.float64))
                for k in ("x", "y", "dh")
            ]
            where.append(float(np.asarray(d["dw"][0]).astype("timedelta64[us]").astype(np.int64)))
            out.append(
                (np.asarray(d["image"][0]), where, r.glyph.color_mapper.low, r.glyph.color_mapper.high)
            )
    return out


def _same_images(got: Any, want: Any) -> None:
    assert got.title.text == want.title.text
    g, w = _images(got), _images(want)
    assert len(g) == len(w) == 2
    for (gi, gw, glo, ghi), (wi, ww, wlo, whi) in zip(g, w, strict=True):
        np.testing.assert_array_equal(gi, wi)
        assert gw == pytest.approx(ww, rel=1e-12)
        assert (glo, ghi) == (wlo, whi)
    for axis in ("x_range", "y_range"):
        a, b = getattr(got, axis), getattr(want, axis)
        assert (_t(a.start), _t(a.end)) == pytest.approx((_t(b.start), _t(b.end)), rel=1e-12)
    assert list(got.yaxis[0].ticker.ticks) == list(want.yaxis[0].ticker.ticks)
    assert dict(got.yaxis[0].major_label_overrides) == dict(want.yaxis[0].major_label_overrides)


def test_hitmaps_redrawn_in_place_show_what_holoviews_draws(spans: pl.DataFrame) -> None:
    full = hitmap.hitmap(spans, by=("service",))
    late = hitmap.hitmap(
        spans, by=("service",), start=T0 + dt.timedelta(minutes=50), end=T0 + dt.timedelta(minutes=80)
    )
    few = hitmap.hitmap(spans.filter(pl.col("service").is_in(["svc-3", "svc-4"])), by=("service",))
    none = hitmap.hitmap(spans.head(0), by=("service",))
    large, picked = LargeHitmap(BoxMarker()), []
    large.show(full, None, "Hitmap: all services")
    bands = ServiceBands(picked.append)
    doc_large, doc_bands = _served(large.dmap), _served(bands.show(full))
    (big,), (multi,) = list(large._shown.figures), list(bands._shown.figures)
    for hm, group in ((late, ("svc-0",)), (few, None), (none, None), (full, ("svc-4",)), (late, None)):
        title = f"Hitmap: {group[0] if group else 'all services'}"
        with set_curdoc(doc_large):
            large.show(hm, group, title)
        with set_curdoc(doc_bands):
            assert bands.show(hm) is None
        assert list(large._shown.figures) == [big] and list(bands._shown.figures) == [
            multi
        ]  # the same figures
        _same_images(big, hv.render(hitmap_element(hm, group=group, title=title, height=large.height)))
        assert bands.layout is not None
        _same_images(multi, hv.render(band_hitmap(hm, bands.layout, title=BANDS_TITLE)))


def test_a_batch_walks_the_model_graph_only_when_a_model_was_added() -> None:
    fig = figure()
    source = ColumnDataSource({"x": [1, 2], "y": [3, 4]})
    fig.line("x", "y", source=source)
    doc = Document()
    doc.add_root(fig)
    walks: list[int] = []
    recompute = doc.models.recompute
    doc.models.recompute = lambda: (walks.append(1), recompute())[1]  # type: ignore[method-assign]
    with set_curdoc(doc), batched():
        source.data = {"x": [1, 2, 3], "y": [3, 4, 5]}  # new data: the graph is the same
        fig.title.text = "new"
        with batched():  # nested: left to the outer batch
            fig.x_range.start = 0
    assert walks == []
    with set_curdoc(doc), batched():
        added = fig.scatter([1], [2])
        fig.title.text = "newer"
    assert walks == [1]
    assert doc.get_model_by_id(added.id) is added  # the document knows the new model
    with set_curdoc(doc), batched():
        fig.renderers = fig.renderers[:1]  # a model removed
    assert walks == [1, 1]
    assert doc.get_model_by_id(added.id) is None
    assert "invalidate" not in vars(doc.models)  # nothing of the batch is left behind


def _calls(seed: int = 2, traces: int = 300) -> pl.DataFrame:
    """Traces of web → api → (db, cache, pay) with errors, over two hours."""
    rng = np.random.default_rng(seed)
    rows = []

    def span(sid: str, parent: str | None, svc: str, kind: str, a: int, b: int, **kw: Any) -> None:
        rows.append({"cluster": "c1", "trace_id": kw.pop("trace"), "span_id": sid, "parent_id": parent,
                     "service": svc, "kind": kind, "start": T0 + US * a, "end": T0 + US * b,
                     "duration_us": b - a, "error": kw.pop("error", False), "operation": "op", **kw})  # fmt: skip

    for i in range(traces):
        t, tid = int(rng.integers(0, 7_200_000_000)), f"t{i}"
        span(f"{i}r", None, "web", "SERVER", t, t + 90_000, trace=tid)
        span(f"{i}c", f"{i}r", "web", "CLIENT", t + 1000, t + 80_000, trace=tid, peer_service="api")
        span(
            f"{i}s", f"{i}c", "api", "SERVER", t + 2000, t + 79_000, trace=tid, error=bool(rng.random() < 0.2)
        )
        for k, (peer, db) in enumerate((("", "postgresql"), ("cache", None), ("pay", None))):
            if rng.random() < 0.6:
                span(f"{i}d{k}", f"{i}s", "api", "CLIENT", t + 3000, t + 9000, trace=tid, peer_service=peer or None,
                     db_system=db, error=bool(rng.random() < 0.1 * k))  # fmt: skip
    return conform("spans", rows)


def _graph_parts(fig: Any) -> dict[str, Any]:
    (graph,) = [r for r in fig.renderers if isinstance(r, GraphRenderer)]
    texts = [
        r.data_source.data
        for r in fig.renderers
        if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Text)
    ]
    mapper = graph.edge_renderer.glyph.line_color.transform

    def plain(data: Any) -> dict[str, list[Any]]:  # lists, NaN as None (NaN is not equal to itself)
        def values(v: Any) -> list[Any]:
            return [None if isinstance(x, float) and np.isnan(x) else x for x in np.asarray(v).tolist()]

        return {k: [values(v) for v in vs] if k in ("xs", "ys") else values(vs) for k, vs in data.items()}

    return {
        "nodes": plain(graph.node_renderer.data_source.data),
        "edges": plain(graph.edge_renderer.data_source.data),
        "layout": {int(k): tuple(map(float, v)) for k, v in graph.layout_provider.graph_layout.items()},
        "labels": [plain(t) for t in texts if len(next(iter(t.values())))],  # the layers with labels
        "colour range": (mapper.low, mapper.high),
        "ranges": (fig.x_range.start, fig.x_range.end, fig.y_range.start, fig.y_range.end),
        "title": fig.title.text,
    }


def test_graph_redrawn_in_place_shows_what_holoviews_draws() -> None:
    from workbench.analyses import servicemap as SM
    from workbench.ui._inplace import PlotFigures, Redraw, dynamic, redraw_graph
    from workbench.viz.servicemap import service_graph

    spans = _calls()
    full = SM.service_map(spans)
    many = SM.ServiceMap(  # more than 20 edges: no edge labels
        pl.concat([full.edges.with_columns(pl.col("caller") + f"-{i}") for i in range(6)]), full.services
    )
    assert many.edges.height > 20
    maps = [
        (SM.service_map(spans, start=T0, end=T0 + dt.timedelta(minutes=30)), "Service map"),
        (SM.service_map(spans, service="api"), "Service map around api"),  # fewer nodes and edges
        (many, "Service map"),  # the edge labels' layer emptied
        (SM.service_map(spans.filter(pl.col("service") == "api")), "Service map"),  # and filled again
        (full, "Service map"),
    ]
    shown, stream, frame = PlotFigures(), Redraw(), {"map": (full, "Service map")}

    def draw() -> hv.Overlay:
        sm, title = frame["map"]
        return service_graph(sm, title=title).opts(hooks=[shown.hook], backend="bokeh")

    _served(dynamic(draw, stream))
    (fig,) = list(shown.figures)
    assert _graph_parts(fig) == _graph_parts(hv.render(service_graph(full)))
    for sm, title in maps:
        frame["map"] = (sm, title)
        assert shown.draw(stream, lambda sm=sm, title=title: service_graph(sm, title=title), redraw_graph)
        assert list(shown.figures) == [fig]
        assert _graph_parts(fig) == _graph_parts(hv.render(service_graph(sm, title=title)))
    blank = hv.render(service_graph(many))  # drawn without a layer for edge labels
    assert not redraw_graph(blank, service_graph(full))
