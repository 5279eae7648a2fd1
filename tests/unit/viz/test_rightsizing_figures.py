"""The right-sizing page's bar charts (Bokeh figures redrawn in place) draw the bars of the
notebooks' HoloViews charts of the same advice and totals."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench as wb
from tests.support.resources import write_empty_snapshot, write_resource_snapshot
from workbench.analyses import rightsizing
from workbench.viz import rightsizing as rv


@pytest.fixture(scope="module")
def rs(tmp_path_factory: pytest.TempPathFactory) -> rightsizing.RightSizing:
    return rightsizing.analyse(wb.open(write_resource_snapshot(tmp_path_factory.mktemp("res") / "snap")))


def test_advised_bars_draw_the_notebook_bars(rs: rightsizing.RightSizing) -> None:
    for resource, kind, limit in (("cpu", "request", 20), ("memory", "request", 20), ("memory", "limit", 2)):
        chart = rv.AdvisedBars(resource=resource, kind=kind, limit=limit)
        chart.draw(rs.advice)
        want = rv.current_vs_advised(rs.advice, resource=resource, kind=kind, limit=limit)
        frame = want.dframe()
        col, unit = frame.columns[0], want.vdims[0].name
        bars = {(c, v): x for c, v, x in zip(frame[col], frame["value"], frame[unit], strict=True)}
        data = chart.source.data
        got = {
            (c, v): x for v in ("current", "advised") for c, x in zip(data["container"], data[v], strict=True)
        }
        assert got == pytest.approx(bars)
        assert list(chart.figure.y_range.factors) == list(
            dict.fromkeys(frame[col])
        )  # the largest change on top
        assert 0 < len(chart.figure.y_range.factors) <= limit
        opts = want.opts.get().kwargs
        assert chart.figure.title.text == opts["title"] and chart.figure.height == opts["height"]
        assert chart.figure.x_range.start == 0 and chart.figure.x_range.end > max(bars.values())


def test_totals_bars_draw_the_notebook_bars(rs: rightsizing.RightSizing) -> None:
    chart = rv.TotalsBars()
    chart.draw(rs.totals)
    want = rv.totals_bars(rs.totals)
    for fig, source, panel in zip(chart.figures, chart.sources, want, strict=True):
        frame = panel.dframe()
        label = panel.vdims[0].name
        bars = {(c, w): v for c, w, v in zip(frame["cluster"], frame["what"], frame[label], strict=True)}
        got = dict(zip(source.data["x"], source.data["value"], strict=True))
        assert got == pytest.approx(bars)
        assert [w for _, w in source.data["x"]] == ["request current", "request advised", "limit current",
                                                    "limit advised"]  # fmt: skip
        assert fig.title.text == panel.opts.get().kwargs["title"]


def test_bars_are_redrawn_in_place_and_say_when_there_is_no_advice(
    rs: rightsizing.RightSizing, tmp_path: Path
) -> None:
    bars, totals = rv.AdvisedBars(), rv.TotalsBars()
    bars.draw(rs.advice)
    totals.draw(rs.totals)
    figure, source, shown = bars.figure, bars.source, list(bars.source.data["container"])
    empty = rightsizing.analyse(wb.open(write_empty_snapshot(tmp_path / "e")))
    bars.draw(empty.advice)
    totals.draw(empty.totals)
    assert bars.figure is figure and bars.source is source
    assert (
        bars.figure.title.text == "cpu request: current vs advised: no advice"
        and not bars.source.data["container"]
    )
    assert all(f.title.text.endswith("no advice") and not s.data["x"] for f, s in zip(totals.figures, totals.sources,
                                                                                      strict=True))  # fmt: skip
    bars.draw(rs.advice)
    assert (
        list(bars.source.data["container"]) == shown
        and bars.figure.title.text == "cpu request: current vs advised"
    )
