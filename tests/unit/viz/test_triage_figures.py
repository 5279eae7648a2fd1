"""The triage page's charts (Bokeh figures redrawn in place) draw the same bars, points, colours,
ranges and shading as the notebooks' HoloViews charts of the same result."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import holoviews as hv
import numpy as np
import polars as pl
import pytest

from workbench.analyses.triage import (
    EVIDENCE_COLUMNS,
    SUSPECT_COLUMNS,
    TIMELINE_COLUMNS,
    WEIGHTS,
    TriageResult,
)
from workbench.viz import triage as vt

hv.extension("bokeh", logo=False)

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
SIGNALS = [
    "errors_caused",
    "manifest_change",
    "metric_anomaly",
    "restarts",
    "pending_pods",
    "latency_inherited",
]


def _result(suspects: int, *, seed: int = 0, baseline: bool = True, others: int = 3) -> TriageResult:
    """A made-up result: ``suspects`` suspects, each with evidence of a few signals (some twice),
    and ``others`` objects in the timeline that are not suspects."""
    rnd = random.Random(seed)
    sus, ev, tl = [], [], []
    for rank in range(1, suspects + 1):
        obj = f"Deployment/app-{rank}"
        for signal in rnd.sample(SIGNALS, rnd.randint(1, 4)):
            for _ in range(rnd.randint(1, 2)):
                t, score = T0 + rnd.randint(0, 90) * M, round(rnd.random(), 3)
                ev.append({"rank": rank, "cluster": "c1", "namespace": "shop", "kind": "Workload", "name": f"app-{rank}",
                           "object": obj, "signal": signal, "time": t, "score": score, "weight": WEIGHTS[signal],
                           "subject": obj, "detail": f"{signal} of {obj}", "how_to_see": "ds.pods()"})  # fmt: skip
                tl.append({"time": t, "signal": signal, "object": obj, "detail": f"{signal} of {obj}", "score": score,
                           "suspect": obj})  # fmt: skip
        sus.append({"rank": rank, "score": 10.0 / rank, "cluster": "c1", "namespace": "shop", "kind": "Workload",
                    "name": f"app-{rank}", "object": obj, "summary": "", "signals": [], "first_seen": T0, "pods": []})  # fmt: skip
    for i in range(others):
        tl.append({"time": T0 + rnd.randint(0, 90) * M, "signal": "warning_events", "object": f"ConfigMap/c{i}",
                   "detail": "changed", "score": rnd.random(), "suspect": None})  # fmt: skip
    window = (T0 + 60 * M, T0 + 90 * M)
    base = (T0 + 30 * M, T0 + 60 * M) if baseline else (T0 + 60 * M, T0 + 60 * M)
    return TriageResult(pl.DataFrame(sus, schema=SUSPECT_COLUMNS), pl.DataFrame(ev, schema=EVIDENCE_COLUMNS),
                        pl.DataFrame(tl, schema=TIMELINE_COLUMNS), window=window, baseline=base)  # fmt: skip


def _glyph(fig: Any) -> Any:
    return next(r for r in fig.renderers if hasattr(r, "glyph"))


def _rows(data: dict[str, Any], cols: list[str]) -> list[tuple[Any, ...]]:
    """The rows of a data source's ``cols``, numbers rounded, sorted (their order is not drawn)."""
    out = []
    for row in zip(*(list(data[c]) for c in cols), strict=True):
        out.append(tuple(round(float(v), 9) if isinstance(v, float | np.floating) else str(v) for v in row))
    return sorted(out)


def _ms(values: Any) -> list[float]:
    return (np.asarray(values).astype("datetime64[us]").astype(np.int64) / 1000.0).tolist()


@pytest.mark.parametrize("suspects", [1, 4, 9])
def test_score_chart_draws_the_notebook_bars(suspects: int) -> None:
    result = _result(suspects, seed=suspects)
    chart = vt.ScoreChart()
    chart.draw(result)
    want = hv.render(vt.score_bars(result))
    got_src, want_src = chart.source.data, _glyph(want).data_source.data
    cols = ["suspect", "signal", "bottom", "top", "points", "score", "color"]
    assert _rows(got_src, cols) == _rows(want_src, cols)
    assert list(chart.figure.y_range.factors) == [str(f) for f in want.y_range.factors]
    got_map, want_map = chart.mapper, _glyph(want).glyph.fill_color.transform
    assert dict(zip(got_map.factors, got_map.palette, strict=True)) == dict(
        zip(want_map.factors, want_map.palette, strict=True)
    )
    assert (chart.figure.x_range.start, chart.figure.x_range.end) == pytest.approx(
        (want.x_range.start, want.x_range.end)
    )
    assert chart.figure.height == want.height and chart.figure.title.text == want.title.text
    assert chart.figure.xaxis[0].axis_label == want.xaxis[0].axis_label == "score"
    assert chart.figure.output_backend == want.output_backend
    assert chart.has_data and chart.figure.visible and not chart.placeholder.visible


@pytest.mark.parametrize(("suspects", "baseline"), [(1, True), (5, False), (12, True)])
def test_timeline_chart_draws_the_notebook_points_and_shading(suspects: int, *, baseline: bool) -> None:
    result = _result(suspects, seed=10 + suspects, baseline=baseline, others=suspects)
    chart = vt.TimelineChart()
    chart.draw(result)
    want = hv.render(vt.timeline(result))
    want_src = dict(_glyph(want).data_source.data)
    want_src["time"] = _ms(want_src["time"])
    cols = ["time", "object", "signal", "score", "detail", "suspect", "size", "color"]
    assert _rows(chart.source.data, cols) == _rows(want_src, cols)
    assert list(chart.figure.y_range.factors) == [str(f) for f in want.y_range.factors]
    got_map, want_map = chart.mapper, _glyph(want).glyph.fill_color.transform
    assert list(got_map.factors) == list(want_map.factors) and list(got_map.palette) == list(want_map.palette)
    assert chart.figure.height == want.height and chart.figure.title.text == want.title.text
    assert chart.figure.x_range.start == pytest.approx(_ms([want.x_range.start])[0])
    assert chart.figure.x_range.end == pytest.approx(_ms([want.x_range.end])[0])
    spans = [r for r in want.renderers if type(r).__name__ == "BoxAnnotation"]
    kinds = [type(r).__name__ for r in chart.figure.renderers]  # the shading under the points, as drawn there
    assert kinds == ["BoxAnnotation", "BoxAnnotation", "GlyphRenderer"] and want.renderers[-1] is _glyph(want)
    shown = [s for s in chart.spans if s.visible]
    assert len(shown) == len(spans) == (2 if baseline else 1)
    for got, exp in zip(shown, spans, strict=True):
        assert (got.left, got.right) == (exp.left.timestamp() * 1000, exp.right.timestamp() * 1000)
        assert (got.fill_color, got.fill_alpha) == (exp.fill_color, exp.fill_alpha)


def test_charts_are_redrawn_in_place_and_say_when_nothing_was_found() -> None:
    bars, points = vt.ScoreChart(), vt.TimelineChart()
    bars.draw(_result(6))
    points.draw(_result(6))
    figures = (bars.figure, bars.source, points.figure, points.source)
    smaller = _result(2, seed=3, baseline=False, others=0)
    bars.draw(smaller)
    points.draw(smaller)
    assert (bars.figure, bars.source, points.figure, points.source) == figures
    assert list(bars.figure.y_range.factors) == ["#2 Deployment/app-2", "#1 Deployment/app-1"]
    assert set(points.figure.y_range.factors) == {"Deployment/app-1", "Deployment/app-2"}
    assert [s.visible for s in points.spans] == [False, True]  # no baseline: only the window is shaded
    empty = _result(0, others=0)
    bars.draw(empty)
    points.draw(empty)
    for chart in (bars, points):  # the placeholder is shown instead
        assert not chart.has_data and not chart.figure.visible and chart.placeholder.visible
    assert bars.placeholder.title.text == "Suspects: what each signal adds to the score"
    bars.hide()
    assert not bars.figure.visible and not bars.placeholder.visible
    bars.draw(_result(3))
    assert bars.figure.visible and not bars.placeholder.visible


def test_equal_parts_of_a_suspect_are_stacked_by_signal_name_every_time() -> None:
    """Two signals that add as much to a suspect are stacked (and listed in the legend) in the
    order of their names, not in the order a group-by happened to give them."""
    rows = [("latency_caused", 1.0), ("errors_caused", 1.0), ("restarts", 0.5)]
    ev = pl.DataFrame(
        [{"rank": 1, "cluster": "c1", "namespace": "shop", "kind": "Workload", "name": "a", "object": "Deployment/a",
          "signal": s, "time": T0, "score": score, "weight": 3.0, "subject": "Deployment/a", "detail": "",
          "how_to_see": ""} for s, score in rows],
        schema=EVIDENCE_COLUMNS,
    )  # fmt: skip
    sus = pl.DataFrame(
        [{"rank": 1, "score": 7.5, "cluster": "c1", "namespace": "shop", "kind": "Workload", "name": "a",
          "object": "Deployment/a", "summary": "", "signals": [], "first_seen": T0, "pods": []}],
        schema=SUSPECT_COLUMNS,
    )  # fmt: skip
    for _ in range(5):
        chart = vt.ScoreChart()
        chart.draw((sus, ev))
        assert list(chart.source.data["signal"]) == ["errors_caused", "latency_caused", "restarts"]
        assert list(chart.source.data["bottom"]) == [0.0, 3.0, 6.0]
