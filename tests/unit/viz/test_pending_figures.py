"""The pending pods page's charts (Bokeh figures redrawn in place) draw the same bars and
segments as the notebooks' HoloViews charts of the same rows."""

from __future__ import annotations

from pathlib import Path

import holoviews as hv
import numpy as np
import polars as pl
import pytest

import workbench as wb
from workbench.analyses import pending
from workbench.viz import pending as vp


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    hv.extension("bokeh")
    return wb.open(demo_snapshot)


@pytest.fixture(scope="module")
def scopes(ds: wb.Dataset) -> list[pl.DataFrame]:
    """The pending pods of the whole demo, of each cluster and of nothing."""
    rows = pending.pending_pods(ds)
    return [rows, *(rows.filter(pl.col("cluster") == c) for c in ds.clusters), rows.head(0)]


def test_qos_and_reason_bars_draw_the_notebook_bars(scopes: list[pl.DataFrame]) -> None:
    qos, why = vp.QosBars(), vp.ReasonBars()
    for rows in scopes:
        by_qos = pending.summary(rows, by="qos_class")
        qos.draw(by_qos)
        want = vp.qos_bars(by_qos)
        data = qos._source.data
        if rows.is_empty():
            assert isinstance(want, hv.Text) and not data["pods"]
            assert qos.figure.title.text.endswith("nothing to show")
        else:
            d = want.dframe()
            assert list(data["qos_class"]) == list(d["qos_class"]) == list(qos.figure.x_range.factors)
            assert list(data["pods"]) == list(d["pods"]) and list(data["color"]) == list(d["color"])
            assert qos.figure.y_range.end > max(data["pods"])
        reasons = pending.reasons(rows)
        why.draw(reasons)
        want = vp.reason_bars(reasons)
        data = why._source.data
        if rows.is_empty():
            assert isinstance(want, hv.Text) and not data["pods"]
        else:
            d = want.dframe()
            assert list(data["category"]) == list(d["category"]) == list(why.figure.y_range.factors)
            assert list(data["pods"]) == list(d["pods"]) and list(data["color"]) == list(d["color"])
            assert why.figure.height == want.opts.get().kwargs["height"]


def test_timeline_draws_the_notebook_segments(scopes: list[pl.DataFrame]) -> None:
    chart = vp.PendingTimeline()
    for rows in scopes:
        chart.draw(rows)
        want = vp.pending_timeline(rows)
        data = chart._source.data
        if rows.is_empty():
            assert isinstance(want, hv.Text) and len(data["label"]) == 0
            continue
        d = want.dframe()
        for x, col in (("x0", "pending_since"), ("x1", "pending_until")):  # ms since the epoch, UTC
            np.testing.assert_allclose(data[x], [t.timestamp() * 1000 for t in d[col]])
        for col in ("label", "primary", "qos_class", "state", "minutes", "color"):
            assert list(data[col]) == list(d[col]), col
        assert list(chart.figure.y_range.factors) == list(dict.fromkeys(d["label"]))
        assert chart.figure.height == want.opts.get().kwargs["height"]


def test_headroom_bars_stack_requested_and_free_per_node(ds: wb.Dataset) -> None:
    chart = vp.HeadroomBars()
    for cluster in [None, *ds.clusters]:
        room = pending.headroom(ds, cluster=cluster)
        chart.draw(room)
        want = vp.headroom_bars(room)
        for fig, source, bars in zip(chart.figures, chart._sources, want, strict=True):
            d = bars.dframe()
            unit = bars.vdims[0].name
            data = source.data
            got = {(w, p): (lo, hi) for w, p, lo, hi in zip(data["where"], data["part"], data["left"], data["right"],
                                                             strict=True)}  # fmt: skip
            assert {k: hi - lo for k, (lo, hi) in got.items()} == pytest.approx(
                {(w, p): v for w, p, v in zip(d["where"], d["part"], d[unit], strict=True)}
            )
            # free stacked on requested
            assert all(got[(w, "free")][0] == got[(w, "requested")][1] for w, _ in got)
            assert list(fig.y_range.factors) == list(dict.fromkeys(d["where"]))
            assert fig.title.text == bars.opts.get().kwargs["title"]
            assert fig.height == bars.opts.get().kwargs["height"]
