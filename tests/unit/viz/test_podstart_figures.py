"""The pod start page's charts (Bokeh figures redrawn in place) draw the same curves, phases,
lines and bars as the notebooks' HoloViews charts of the same pods."""

from __future__ import annotations

from pathlib import Path

import holoviews as hv
import numpy as np
import polars as pl
import pytest

import workbench as wb
from workbench.analyses import podstart
from workbench.viz import podstart as pv


@pytest.fixture(scope="module")
def starts(demo_snapshot: Path) -> podstart.PodStarts:
    hv.extension("bokeh")
    return podstart.analyse(wb.open(demo_snapshot))


def _elements(overlay: hv.Overlay, kind: type) -> list[hv.Element]:
    return [el for el in overlay if isinstance(el, kind)]


def test_start_curves_draw_the_notebook_chart_of_each_pod(starts: podstart.PodStarts) -> None:
    chart = pv.StartCurves()
    ran = starts.pods.filter(pl.col("running").is_not_null())
    # one figure redrawn for pod after pod: settled or not, with and without requests and limits
    picks = [ran.sort("warmup_s", nulls_last=True)["pod"][0], ran.filter(~pl.col("settled"))["pod"][0],
             *ran.filter(pl.col("cpu_limit").is_null())["pod"].head(1), *ran["pod"].head(3)]  # fmt: skip
    for pod in picks:
        chart.draw(starts.series, starts.pods, pod=pod)
        want = pv.start_curves(starts.series, starts.pods, pod=pod)
        for fig, source, spans, lines, overlay in zip(chart.figures, chart._sources, chart._spans, chart._lines,
                                                      want, strict=True):  # fmt: skip
            curve = _elements(overlay, hv.Curve)[0]
            np.testing.assert_allclose(source.data["seconds"], curve.dimension_values(0))
            np.testing.assert_allclose(source.data["value"], curve.dimension_values(1))
            shown = {n: (b.left, b.right) for n, b in spans.items() if b.visible}
            assert shown == {s.label: tuple(s.data) for s in _elements(overlay, hv.VSpan)}, pod
            drawn = [line.location for line in lines if line.visible]
            assert drawn == pytest.approx([h.data for h in _elements(overlay, hv.HLine)]), pod
            opts = overlay.opts.get().kwargs
            assert fig.title.text == opts["title"]
            assert (fig.y_range.start, fig.y_range.end) == pytest.approx(opts["ylim"])


def test_workload_curves_draw_a_line_per_start_in_holoviews_colours(starts: podstart.PodStarts) -> None:
    chart = pv.WorkloadCurves()
    counts = starts.pods.group_by("workload_name").len().sort("len", descending=True)
    for workload in counts["workload_name"].drop_nulls().head(3):
        same = starts.pods.filter(pl.col("workload_name") == workload)
        chart.draw(starts.series, same, workload=workload)
        want = pv.workload_curves(starts.series, same, workload=workload)
        data = chart._source.data
        assert list(data["pod"]) == [c.label for c in want]
        for xs, ys, curve in zip(data["xs"], data["ys"], want, strict=True):
            np.testing.assert_allclose(xs, curve.dimension_values(0))
            np.testing.assert_allclose(ys, curve.dimension_values(1))
        cycle = hv.Cycle().values  # HoloViews' colours in turn, again from the first after the last
        assert list(data["color"]) == [cycle[i % len(cycle)] for i in range(len(want))]
        assert chart.figure.title.text == want.opts.get().kwargs["title"]
        ys_all = np.concatenate(list(data["ys"]))
        assert chart.figure.y_range.start < ys_all.min() and chart.figure.y_range.end > ys_all.max()


def test_timeline_stacks_the_notebook_bars(starts: podstart.PodStarts) -> None:
    chart = pv.Timeline()
    for pods in (starts.pods, starts.pods.filter(pl.col("namespace") == starts.pods["namespace"][0])):
        chart.draw(pods)
        want = pv.timeline(pods)
        d = want.dframe()
        data = chart._source.data
        got = {(p, s): (lo, hi) for p, s, lo, hi in zip(data["pod"], data["segment"], data["left"], data["right"],
                                                           strict=True)}  # fmt: skip
        assert {k: hi - lo for k, (lo, hi) in got.items()} == pytest.approx(
            {(p, s): v for p, s, v in zip(d["pod"], d["segment"], d["seconds"], strict=True)}
        )
        for pod in set(d["pod"]):  # each pod's segments follow one another from 0, in order
            ends = [got[(pod, s)] for s in pv.SEGMENT_COLORS]
            assert ends[0][0] == 0
            assert all(a[1] == pytest.approx(b[0]) for a, b in zip(ends, ends[1:], strict=False))
        assert list(chart.figure.y_range.factors) == list(dict.fromkeys(d["pod"]))  # the slowest on top
        assert chart.figure.height == want.opts.get().kwargs["height"]
    chart.draw(starts.pods.head(0))
    assert len(chart._source.data["pod"]) == 0 and chart.figure.title.text.endswith("no data")
