"""The log explorer page (``workbench.ui.logs``): what a page shows after scope changes — its
chart redrawn in place, with the masks of earlier refreshes kept — is what a page opened on that
scope shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import holoviews as hv
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import GlyphRenderer, Legend, Plot
from polars.testing import assert_frame_equal

import workbench as wb
from workbench.ui.logs import LogsPage
from workbench.ui.scope import SCOPE_PARAMS


@pytest.fixture(scope="module", autouse=True)
def _bokeh() -> None:
    hv.extension("bokeh", logo=False)


def _shown(root: Any) -> list[dict[str, Any]]:
    """What the chart area shows: per visible figure its title, axis ranges, the data of its
    visible glyphs and its legend's visible entries."""

    def visible(model: Any) -> list[Any]:
        if not getattr(model, "visible", True):
            return []
        if isinstance(model, Plot):
            return [model]
        children = [c[0] if isinstance(c, tuple) else c for c in getattr(model, "children", [])]
        return [p for c in children for p in visible(c)]

    out = []
    for p in visible(root):
        glyphs = [r for r in p.renderers if isinstance(r, GlyphRenderer) and r.visible]
        out.append({
            "title": p.title.text,
            "x": (p.x_range.start, p.x_range.end),
            "y": (p.y_range.start, p.y_range.end),
            "data": [{k: list(v) for k, v in r.data_source.data.items()} for r in glyphs],
            "legend": [str(i.label) for leg in p.select({"type": Legend}) if leg.visible for i in leg.items
                       if i.visible and any(r.visible for r in i.renderers)],
        })  # fmt: skip
    return out


def _tables(page: LogsPage) -> dict[str, Any]:
    tables = {"lines": page._table, "bursts": page._bursts, "new": page._new, **page._facet_tables}
    return {name: t.value.reset_index(drop=True) for name, t in tables.items()}


def test_scope_changes_show_what_a_page_opened_on_that_scope_shows(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    page = LogsPage(ds)
    root = page._chart_pane.get_root(Document())  # the chart rendered, as in a served page
    figure = page._chart.figure
    pods = ds.pods()
    top = pods.group_by("namespace").len().sort("len", descending=True)["namespace"].to_list()
    workload = pods.filter(pod_ns := (pods["namespace"] == top[0])).filter(
        pods.filter(pod_ns)["workload_kind"] == "Deployment")  # fmt: skip
    kind, name = workload.row(0, named=True)["workload_kind"], workload.row(0, named=True)["workload_name"]
    lo, hi = ds.window
    hour = (lo + (hi - lo) / 3).isoformat(), (lo + (hi - lo) / 2).isoformat()
    changes = [
        {"namespace": top[0]},
        {"workload": f"{kind}/{name}"},
        {"start": hour[0], "end": hour[1]},
        {"cluster": sorted(ds.clusters)[0]},
        {"namespace": top[-1], "workload": ""},  # a namespace without logs: the empty chart
        {"namespace": "", "start": "", "end": ""},
        {"cluster": ""},
    ]
    drawn = set()
    for change in changes:
        page.scope.param.update(**change)
        fresh = LogsPage(ds, **{k: getattr(page.scope, k) for k in SCOPE_PARAMS})
        assert_frame_equal(page.results, fresh.results)
        assert_frame_equal(page.facets, fresh.facets)
        assert page._note.object == fresh._note.object
        for name, table in _tables(page).items():
            assert table.equals(_tables(fresh)[name]), (change, name)
        want = _shown(fresh._chart_pane.get_root(Document()))
        assert _shown(root) == want, change
        drawn.add(tuple(tuple(f["legend"]) for f in want))
    assert len(drawn) >= 3  # charts of several level sets (and the empty one) were drawn in place
    assert page._chart_pane.object is page._chart.figure is figure  # into one figure
    assert pn.state.curdoc is None


def test_a_served_page_shows_its_chart_busy_and_redraws_it_in_place(demo_snapshot: Path) -> None:
    """A served page's refresh shows the loading indicator around its chart (not on the Bokeh
    pane itself, which Panel cannot mark busy once rendered) and draws into the figure shown."""
    from panel.io.state import set_curdoc

    ds = wb.open(demo_snapshot)
    page = LogsPage(ds)
    doc = Document()
    page.page().server_doc(doc)
    figure = page._chart.figure
    namespace = ds.pods()["namespace"].value_counts(sort=True)["namespace"][0]
    with set_curdoc(doc):
        page.scope.namespace = namespace
    fresh = LogsPage(ds, namespace=namespace)
    assert page._chart.figure is figure
    assert _shown(page._chart_pane.get_root(Document())) == _shown(fresh._chart_pane.get_root(Document()))
    assert any(a.visible for a in page._chart.areas.values())
