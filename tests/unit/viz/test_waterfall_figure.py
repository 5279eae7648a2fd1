"""The application page's trace waterfall as a Bokeh figure redrawn in place
(:class:`workbench.viz.hitmap.Waterfall`) draws what HoloViews drew for :func:`waterfall`: the
same bars, colours, row labels, height, bar width, title and ranges, checked on real Jaeger and
Zipkin traces one after the other on one figure."""

from __future__ import annotations

import re
from pathlib import Path

import holoviews as hv
import numpy as np
import polars as pl
from bokeh.models import HoverTool

from workbench.analyses import hitmap as H
from workbench.sources.traces import read_traces
from workbench.viz import hitmap as hv_hitmap

TRACES = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata" / "traces"
FILES = [
    ("jaeger_ui_testdata", "testTrace.json"),
    ("zipkin_lens_testdata", "yelp.json"),
    ("zipkin_lens_testdata", "smartthings-mobile-web-install.json"),  # over 60 spans: thinner bars
    ("zipkin_lens_testdata", "skew.json"),
]


def _traces() -> list[pl.DataFrame]:
    out = []
    for folder, name in FILES:
        spans = read_traces(TRACES / folder / name, cluster="c").spans
        out.append(H.trace(spans, spans["trace_id"][0]))
    return out


def _as_holoviews_draws(trace: pl.DataFrame) -> dict[str, object]:
    """What the HoloViews waterfall's plot shows."""
    hv.extension("bokeh")
    fig = hv.renderer("bokeh").get_plot(hv_hitmap.waterfall(trace)).state
    (bars,) = fig.renderers
    data, mapper = bars.data_source.data, bars.glyph.line_color.transform
    colours = [mapper.palette[mapper.factors.index(k)] if k in mapper.factors else mapper.nan_color
               for k in data["colour_key"]]  # fmt: skip
    return {
        "bars": (list(data["offset_ms"]), list(data["end_ms"]), list(data["y"])),
        "colours": colours,
        "labels": fig.yaxis[0].major_label_overrides,
        "ticks": list(fig.yaxis[0].ticker.ticks),
        "height": fig.height,
        "width": bars.glyph.line_width,
        "title": fig.title.text,
        "x": (fig.x_range.start, fig.x_range.end),
        "y": (fig.y_range.start, fig.y_range.end),
        "hover": [(k, re.sub(r"@\{(\w+)\}", r"@\1", v)) for k, v in fig.select_one(HoverTool).tooltips],
    }


def _draws(w: hv_hitmap.Waterfall) -> dict[str, object]:
    data = w.source.data
    (hover,) = [t for t in w.figure.tools if isinstance(t, HoverTool)]
    return {
        "bars": (list(data["offset_ms"]), list(data["end_ms"]), list(data["y"])),
        "colours": list(data["color"]),
        "labels": w.figure.yaxis[0].major_label_overrides,
        "ticks": list(w.figure.yaxis[0].ticker.ticks),
        "height": w.figure.height,
        "width": w._bars.glyph.line_width,
        "title": w.figure.title.text,
        "x": (w.figure.x_range.start, w.figure.x_range.end),
        "y": (w.figure.y_range.start, w.figure.y_range.end),
        "hover": list(hover.tooltips),
    }


def test_waterfall_figure_draws_what_holoviews_drew_trace_after_trace() -> None:
    traces = _traces()
    assert any(t.height >= 60 for t in traces) and any(t.height < 60 for t in traces)
    w = hv_hitmap.Waterfall()
    figure, source = w.figure, w.source
    for trace in [*traces, traces[0].head(1), traces[1]]:
        w.show(trace)
        want, got = _as_holoviews_draws(trace), _draws(w)
        for key in ("x", "y"):
            assert np.allclose(got.pop(key), want.pop(key)), key  # type: ignore[arg-type]
        assert got == want
        assert w.figure is figure and w.source is source  # redrawn, never rebuilt


def test_waterfall_colours_services_and_paints_errors_red() -> None:
    trace = _traces()[0]
    failed = trace.with_columns(error=pl.col("span_id") == "span-3")
    w = hv_hitmap.Waterfall()
    w.show(failed)
    colours = dict(zip(w.source.data["span_id"], w.source.data["color"], strict=True))
    assert colours["span-3"] == hv_hitmap.ERROR_COLOR
    others = failed.filter(pl.col("span_id") != "span-3")
    by_service = {s: {colours[i] for i in g["span_id"]} for (s,), g in others.group_by(["service"])}
    assert all(len(c) == 1 for c in by_service.values())  # one colour per service
    assert len({next(iter(c)) for c in by_service.values()}) == len(by_service)  # and its own
    assert hv_hitmap.ERROR_COLOR not in {next(iter(c)) for c in by_service.values()}
    # rows downwards, labelled service: operation and indented by depth
    assert w.figure.y_range.start > w.figure.y_range.end
    row = failed.filter(pl.col("span_id") == "span-3").row(0, named=True)
    label = w.figure.yaxis[0].major_label_overrides[float(row["row"])]
    assert label == "  " * row["depth"] + f"{row['service']}: {row['operation']}"


def test_an_empty_trace_draws_no_bars() -> None:
    w = hv_hitmap.Waterfall()
    w.show(_traces()[0])
    w.show(_traces()[0].head(0))
    assert len(w.source.data["offset_ms"]) == 0 and w.figure.title.text == "Trace"
