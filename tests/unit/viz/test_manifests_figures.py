"""The manifest history page's charts (Bokeh figures redrawn in place) draw the same points, rows,
colours, markers, ranges and line as the notebooks' HoloViews charts of the same frames."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import holoviews as hv
import numpy as np
import polars as pl
import pytest

from workbench.analyses.manifests import CHANGE_COLUMNS, TIMELINE_COLUMNS
from workbench.viz import manifests as vm

hv.extension("bokeh", logo=False)

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def _timeline(revisions: int, events: int, *, objects: int = 2, seed: int = 0) -> pl.DataFrame:
    """A made-up :func:`~workbench.analyses.manifests.timeline`: ``revisions`` revisions and
    ``events`` Warning or Normal events about ``objects`` objects, in time order."""
    rnd = random.Random(seed)
    rows = [{"time": T0 + rnd.randint(0, 7200) * S, "source": "revision", "object": "Deployment/shop/checkout",
             "type": None, "reason": rnd.choice(["created", "image", "status", None]),
             "detail": rnd.choice(["first revision", "x" * 300, None]), "count": 1} for _ in range(revisions)]  # fmt: skip
    rows += [{"time": T0 + rnd.randint(0, 7200) * S, "source": "event", "object": f"Pod/shop/checkout-{rnd.randrange(objects)}",
              "type": rnd.choice(["Warning", "Normal"]), "reason": "BackOff", "detail": "back-off restarting",
              "count": rnd.randint(1, 9)} for _ in range(events)]  # fmt: skip
    frame = pl.DataFrame(rows, schema={k: v for k, v in TIMELINE_COLUMNS.items() if k != "end"}, orient="row")
    return frame.with_columns(pl.col("time").alias("end")).select(list(TIMELINE_COLUMNS)).sort("time")


def _changes(n: int, *, seed: int = 0) -> pl.DataFrame:
    """A made-up :func:`~workbench.analyses.manifests.what_changed` of ``n`` changes, by rank."""
    rnd = random.Random(seed)
    cats = [*vm.CHANGE_COLORS, "other"]
    rows = [{"rank": i + 1, "time": T0 + rnd.randint(0, 20_000) * S, "distance": dt.timedelta(0), "cluster": "c1",
             "kind": rnd.choice(["Deployment", "Node"]), "namespace": rnd.choice(["shop", None]), "name": f"o{i}",
             "category": rnd.choice(cats), "path": rnd.choice(["spec.replicas", None]),
             "old": rnd.choice(["2", None, "y" * 200]), "new": rnd.choice(["3", None])} for i in range(n)]  # fmt: skip
    return pl.DataFrame(rows, schema=CHANGE_COLUMNS, orient="row")


def _glyph(fig: Any) -> Any:
    return next(r for r in fig.renderers if hasattr(r, "glyph"))


def _ms(values: Any) -> list[float]:
    return (np.asarray(values).astype("datetime64[us]").astype(np.int64) / 1000.0).tolist()


def _rows(data: dict[str, Any], cols: list[str]) -> list[tuple[Any, ...]]:
    """The rows of a data source's ``cols`` (times as ms), in order."""
    values = [_ms(data[c]) if c == "time" else [str(v) for v in data[c]] for c in cols]
    return list(zip(*values, strict=True))


def _same_picture(chart: Any, want: Any, cols: list[str]) -> None:
    """``chart`` (a figure class, drawn) shows what the rendered HoloViews chart ``want`` shows."""
    got_src, want_src = dict(chart.source.data), dict(_glyph(want).data_source.data)
    got_src["time"] = np.asarray(got_src["time"]).astype("datetime64[ms]")
    assert _rows(got_src, cols) == _rows(want_src, cols)
    assert list(chart.figure.y_range.factors) == [str(f) for f in want.y_range.factors]
    assert chart.figure.x_range.start == pytest.approx(_ms([want.x_range.start])[0])
    assert chart.figure.x_range.end == pytest.approx(_ms([want.x_range.end])[0])
    assert chart.figure.height == want.height and chart.figure.title.text == want.title.text
    assert [a.axis_label for a in chart.figure.axis] == [a.axis_label for a in want.axis]
    hover = next(t for t in chart.figure.tools if type(t).__name__ == "HoverTool")
    want_hover = next(t for t in want.tools if type(t).__name__ == "HoverTool")
    assert [(k, v.replace("{", "").replace("}", "")) for k, v in hover.tooltips] == [
        (k, v.replace("{", "").replace("}", "")) for k, v in want_hover.tooltips
    ]
    assert (
        chart.figure.toolbar_location == want.toolbar_location
        and chart.figure.output_backend == want.output_backend
    )
    assert chart.has_data and chart.figure.visible and not chart.placeholder.visible


@pytest.mark.parametrize(("revisions", "events", "objects"), [(1, 0, 1), (5, 3, 1), (12, 20, 4)])
def test_history_chart_draws_the_notebook_points(revisions: int, events: int, objects: int) -> None:
    timeline = _timeline(revisions, events, objects=objects, seed=revisions)
    chart = vm.HistoryChart()
    chart.draw(timeline)
    want = hv.render(vm.history_timeline(timeline))
    _same_picture(
        chart, want, ["time", "row", "source", "object", "reason", "detail", "count", "color", "marker"]
    )
    glyph = _glyph(want).glyph
    size = glyph.size.value if hasattr(glyph.size, "value") else glyph.size
    assert _glyph(chart.figure).glyph.size == size == 11
    assert [type(t).__name__ for t in chart.figure.tools] == ["HoverTool"]  # no zoom, as HoloViews draws it


@pytest.mark.parametrize(("n", "around"), [(1, None), (7, T0), (40, T0 + 3 * dt.timedelta(hours=1))])
def test_changes_chart_draws_the_notebook_points_and_line(n: int, around: dt.datetime | None) -> None:
    changes = _changes(n, seed=n)
    chart = vm.ChangesChart()
    chart.draw(changes, around=around)
    want = hv.render(vm.changes_chart(changes, around=around))
    _same_picture(
        chart, want, ["time", "category", "object", "namespace", "path", "old", "new", "rank", "color"]
    )
    spans = [r for r in want.renderers if type(r).__name__ == "Span"]
    shown = [chart.around] if chart.around.visible else []
    assert len(shown) == len(spans) == (around is not None)
    for got, exp in zip(shown, spans, strict=True):
        assert got.location == pytest.approx(exp.location)
        assert (got.line_color, got.line_width, got.line_dash) == (
            exp.line_color,
            exp.line_width,
            exp.line_dash,
        )


def test_charts_are_redrawn_in_place_and_say_when_there_is_nothing_to_show() -> None:
    history, changes = vm.HistoryChart(), vm.ChangesChart()
    history.draw(_timeline(8, 10, objects=3))
    changes.draw(_changes(30), around=T0)
    models = (history.figure, history.source, changes.figure, changes.source)
    history.draw(_timeline(2, 0))
    changes.draw(_changes(3, seed=5))
    assert (history.figure, history.source, changes.figure, changes.source) == models
    assert list(history.figure.y_range.factors) == ["revisions"] and history.figure.height == 160
    assert len(changes.source.data["rank"]) == 3 and not changes.around.visible
    history.draw(_timeline(0, 0))
    changes.draw(_changes(0), around=T0)
    for chart, title in ((history, "Revisions and events"), (changes, "What changed")):
        assert not chart.has_data and not chart.figure.visible and chart.placeholder.visible
        want = hv.render(
            vm.history_timeline(_timeline(0, 0)) if chart is history else vm.changes_chart(_changes(0))
        )
        assert chart.placeholder.title.text == want.title.text == title
        assert _glyph(chart.placeholder).data_source.data["text"] == list(
            _glyph(want).data_source.data["text"]
        )
    history.hide()
    assert not history.figure.visible and not history.placeholder.visible
    history.draw(_timeline(3, 1))
    assert history.figure.visible and not history.placeholder.visible
