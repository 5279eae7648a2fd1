"""The log explorer's volume chart (a Bokeh figure redrawn in place) draws the same stacked
areas, colours, legend, shading and ranges as the notebooks' HoloViews chart of the same volume."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import holoviews as hv
import numpy as np
import polars as pl
import pytest

from workbench.viz import logs as V

hv.extension("bokeh", logo=False)

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
TS = pl.Datetime("us", "UTC")


def _volume(levels: list[str], buckets: int, *, seed: int = 0) -> pl.DataFrame:
    """A made-up :func:`~workbench.analyses.logs.volume`: lines per minute of ``levels``, some
    buckets without lines of some levels."""
    rnd = random.Random(seed)
    rows = [
        (T0 + i * M, lv, rnd.randint(1, 500)) for i in range(buckets) for lv in levels if rnd.random() < 0.8
    ]
    if levels and not rows:
        rows = [(T0, levels[0], 3)]
    return pl.DataFrame(rows, schema={"ts": TS, "level": pl.String(), "count": pl.Int64()}, orient="row")


def _bursts(n: int) -> pl.DataFrame:
    spans = [(T0 + (7 * i + 1) * M, T0 + (7 * i + 4) * M) for i in range(n)]
    return pl.DataFrame(spans, schema={"start": TS, "end": TS}, orient="row")


def _ms(values: Any) -> np.ndarray:
    return np.asarray(values).astype("datetime64[us]").astype(np.int64) / 1000.0


def _polygons(fig: Any) -> list[tuple[str, list[float], list[float]]]:
    """The filled areas of a rendered HoloViews chart, as the colour and the polygon's x and y."""
    out = []
    for r in fig.renderers:
        if type(getattr(r, "glyph", None)).__name__ == "Patch":
            data = r.data_source.data
            out.append(
                (r.glyph.fill_color, _ms(data["x"]).tolist(), np.asarray(data["y"], dtype=float).tolist())
            )
    return out


def _drawn(chart: V.VolumeChart) -> list[tuple[str, list[float], list[float]]]:
    """The visible areas of ``chart`` as polygons (the tops forwards, the bottoms backwards), as
    HoloViews draws an area."""
    out = []
    for lv, area in chart.areas.items():
        if area.visible:
            d = chart.sources[lv].data
            x, lo, hi = (np.asarray(d[k], dtype=float) for k in ("ts", "bottom", "top"))
            out.append((area.glyph.fill_color, [*x, *x[::-1]], [*lo, *hi[::-1]]))
    return out


def _legend(fig: Any) -> list[str]:
    return [
        str(getattr(i.label, "value", i.label))
        for leg in fig.legend
        if leg.visible
        for i in leg.items
        if i.visible
    ]


@pytest.mark.parametrize(
    ("levels", "buckets", "bursts"),
    [(["INFO", "ERROR"], 30, 2), (["DEBUG", "INFO", "WARN", "ERROR", "FATAL"], 60, 0), (["ERROR"], 12, 1),
     (["WARN"], 1, 0), (["TRACE", "UNKNOWN", "ERROR"], 45, 5)],
)  # fmt: skip
def test_volume_chart_draws_the_notebook_areas(levels: list[str], buckets: int, bursts: int) -> None:
    volume, spans = _volume(levels, buckets, seed=buckets), _bursts(bursts)
    chart = V.VolumeChart()
    chart.draw(volume, bursts=spans)
    want = hv.render(V.volume_chart(volume, bursts=spans))
    got_areas, want_areas = _drawn(chart), _polygons(want)
    assert [c for c, _, _ in got_areas] == [c for c, _, _ in want_areas]
    for (_, gx, gy), (_, wx, wy) in zip(got_areas, want_areas, strict=True):
        assert gx == pytest.approx(wx) and gy == pytest.approx(wy)
    assert _legend(chart.figure) == _legend(want)  # no legend for a single level, as HoloViews draws it
    boxes = [r for r in want.renderers if type(r).__name__ == "BoxAnnotation"]
    strips = chart.bursts.data
    assert list(zip(strips["start"], strips["end"], strict=True)) == [
        (b.left.timestamp() * 1000, b.right.timestamp() * 1000) for b in boxes
    ]
    strip = next(r for r in chart.figure.renderers if getattr(r, "data_source", None) is chart.bursts).glyph
    for b in boxes:
        assert (strip.fill_color, strip.fill_alpha, strip.line_alpha) == (
            b.fill_color,
            b.fill_alpha,
            b.line_alpha,
        )
    assert (chart.figure.x_range.start, chart.figure.x_range.end) == pytest.approx(
        tuple(_ms([want.x_range.start, want.x_range.end]))
    )
    assert (chart.figure.y_range.start, chart.figure.y_range.end) == pytest.approx(
        (want.y_range.start, want.y_range.end)
    )
    assert chart.figure.title.text == want.title.text and chart.figure.height == want.height
    assert [a.axis_label for a in chart.figure.axis] == [a.axis_label for a in want.axis]
    assert chart.figure.output_backend == want.output_backend


def test_volume_chart_is_redrawn_in_place_and_hides_levels_without_lines() -> None:
    chart = V.VolumeChart()
    chart.draw(_volume(["INFO", "WARN", "ERROR"], 20), bursts=_bursts(2))
    models = (chart.figure, *chart.sources.values(), *chart.areas.values(), chart.bursts)
    shown = {lv for lv, a in chart.areas.items() if a.visible}
    assert shown == {"INFO", "WARN", "ERROR"} and _legend(chart.figure) == ["INFO", "WARN", "ERROR"]
    chart.draw(_volume(["DEBUG", "FATAL"], 10, seed=3))
    assert (chart.figure, *chart.sources.values(), *chart.areas.values(), chart.bursts) == models
    assert {lv for lv, a in chart.areas.items() if a.visible} == {"DEBUG", "FATAL"}
    assert _legend(chart.figure) == ["DEBUG", "FATAL"] and not len(chart.bursts.data["start"])
    assert not len(chart.sources["INFO"].data["ts"])  # a hidden level keeps no data
    empty = _volume([], 0)
    chart.draw(empty, bursts=_bursts(1))
    want = hv.render(V.volume_chart(empty, bursts=_bursts(1)))
    assert not any(a.visible for a in chart.areas.values()) and _legend(chart.figure) == _legend(want) == []
    assert (chart.figure.x_range.start, chart.figure.x_range.end) == (want.x_range.start, want.x_range.end)
    assert (chart.figure.y_range.start, chart.figure.y_range.end) == (want.y_range.start, want.y_range.end)
    assert len(chart.bursts.data["start"]) == 1
