"""The pod start and pending pods pages, refreshed scope after scope as a served page is: each
shows its analysis of the scope (the pod start page takes each scope from its analysis of the
whole snapshot), with its charts redrawn in place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holoviews as hv
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.analyses import pending, podstart
from workbench.ui.common import table_frame
from workbench.ui.pending import PendingPods, pending_view
from workbench.ui.podstart import PodStartPage, starts_view


@pytest.fixture(scope="module")
def ds(demo_snapshot: Path) -> wb.Dataset:
    hv.extension("bokeh")
    return wb.open(demo_snapshot)


def _scopes(ds: wb.Dataset) -> list[dict[str, str]]:
    pods = ds.pods()
    busiest = pods.group_by("namespace").len().sort("len", descending=True)["namespace"][0]
    lo, hi = ds.window
    third = (hi - lo) / 3
    return [
        {"namespace": busiest}, {"namespace": "kube-system"}, {"namespace": ""},
        {"cluster": ds.clusters[0]}, {"start": (lo + third).isoformat(), "end": (lo + 2 * third).isoformat()},
        {"cluster": "", "start": "", "end": ""}, {"namespace": busiest},
    ]  # fmt: skip


def test_pod_start_page_shows_each_scopes_own_analysis(ds: wb.Dataset) -> None:
    page = PodStartPage(ds)
    page.start()
    figures = (page._timeline.figure, *page._curves.figures, page._compare.figure)
    for scope in _scopes(ds):
        page.scope.param.update(**scope)
        want = podstart.analyse(ds, page.params())
        for name in ("pods", "phases", "series", "workloads", "advice", "peaks"):
            assert_frame_equal(getattr(page.result, name), getattr(want, name))
        multi = want.pods["cluster"].n_unique() > 1
        shown = table_frame(starts_view(want.pods, clusters=multi)).to_pandas()
        assert page._list.value.equals(shown), scope
        ran = want.pods.filter(pl.col("running").is_not_null())
        if ran.height <= 40:  # the timeline's bars: every pod that ran (the 40 slowest of more)
            assert set(page._timeline.figure.y_range.factors) == set(ran["pod"])
        found = page.selected()
        if found is not None:  # the selected pod's charts: its name in their titles
            assert all(found[1] in f.title.text for f in page._curves.figures)
    # the figures shown are the ones built first: redrawn, never replaced
    assert (page._timeline.figure, *page._curves.figures, page._compare.figure) == figures
    # a scope where no pod ran: the selected pod's tables show no rows and keep their columns
    shown = {t: list(t.value.columns) for t in (page._phases, page._advice, page._compare_table)}
    created = set(ds.pods()["created"].drop_nulls().dt.truncate("1m").to_list())
    quiet = next(
        t for t in (ds.window[0] + dt.timedelta(minutes=m) for m in range(1, 360)) if t not in created
    )
    end = quiet + dt.timedelta(seconds=30)  # no pod created in it
    page.scope.param.update(cluster="", namespace="", start=quiet.isoformat(), end=end.isoformat())
    assert page.selected() is None and page.result is not None and page.result.pods.is_empty()
    for table, columns in shown.items():
        assert len(table.value) == 0 and list(table.value.columns) == columns


def test_pending_page_shows_each_scopes_pending_pods(ds: wb.Dataset) -> None:
    page = PendingPods(ds)
    columns = list(page._fit.value.columns)
    for scope in _scopes(ds):
        page.scope.param.update(**scope)
        s = page.scope
        want = pending.pending_pods(ds, cluster=s.cluster or None, namespace=s.namespace or None,
                                    start=s.start or None, end=s.end or None)  # fmt: skip
        assert_frame_equal(page.rows, want)
        shown = table_frame(pending_view(want, clusters=want["cluster"].n_unique() > 1)).to_pandas()
        assert page._list.value.equals(shown)
        words = [v for v in (s.cluster, s.namespace) if v] or ["any namespace"]
        assert all(w in page._note.object for w in words)  # the note names the scope
        # the fit table keeps its columns when no pod is selected (no new models)
        assert list(page._fit.value.columns) == columns
        by_qos = pending.summary(want, by="qos_class")["qos_class"].fill_null("(unknown)")
        assert page._qos_chart._source.data["qos_class"] == by_qos.to_list()
