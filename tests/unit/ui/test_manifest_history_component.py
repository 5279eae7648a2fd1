"""The manifest history page (``workbench.ui.manifests``): after scope and object changes its
charts, redrawn in place, show what the charts of a page opened on that state show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from bokeh.document import Document
from panel.io.state import set_curdoc

import workbench as wb
from workbench.ui.manifests import ManifestHistory
from workbench.ui.scope import SCOPE_PARAMS


def _shown(chart: Any) -> dict[str, Any]:
    """What a chart shows: the figure or its placeholder, and the figure's data, rows, range,
    height and (the changes chart) its line."""
    fig = chart.figure
    out: dict[str, Any] = {"figure": fig.visible, "placeholder": chart.placeholder.visible}
    if fig.visible:
        out |= {"data": {k: list(v) for k, v in chart.source.data.items()}, "rows": list(fig.y_range.factors),
                "x": (fig.x_range.start, fig.x_range.end), "height": fig.height}  # fmt: skip
    around = getattr(chart, "around", None)
    if around is not None and around.visible:
        out["around"] = around.location
    return out


def test_charts_redrawn_in_place_show_what_a_page_opened_on_that_state_shows(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    page = ManifestHistory(ds)
    doc = Document()
    page.page().server_doc(doc)  # rendered, as in a served page
    figures = (page._timeline.figure, page._changes_chart.figure)
    lo, hi = ds.window
    changes: list[dict[str, Any]] = [
        {"namespace": "shop"},
        {"start": (lo + (hi - lo) / 3).isoformat(), "end": (lo + (hi - lo) / 2).isoformat()},
        {"kind": "Node"},
        {"cluster": sorted(ds.clusters)[0], "start": "", "end": ""},
        {"namespace": "kube-system", "kind": "Deployment", "selected": "no-such/object"},
        # nothing changed in this short window: the changes chart's placeholder
        {
            "namespace": "monitoring",
            "start": (lo + (hi - lo) / 20).isoformat(),
            "end": (lo + (hi - lo) / 10).isoformat(),
        },
        {"namespace": "", "cluster": "", "selected": ""},
    ]
    for change in changes:
        with set_curdoc(doc):
            page.scope.param.update(**{k: v for k, v in change.items() if k in SCOPE_PARAMS})
            page.param.update(**{k: v for k, v in change.items() if k not in SCOPE_PARAMS})
        state = {k: getattr(page.scope, k) for k in SCOPE_PARAMS} | {
            "kind": page.kind,
            "selected": page.selected,
        }
        fresh = ManifestHistory(ds, **state)
        for mine, theirs in ((page._timeline, fresh._timeline), (page._changes_chart, fresh._changes_chart)):
            got, want = _shown(mine), _shown(theirs)
            assert got.keys() == want.keys(), change
            for key in got:
                if key == "data":
                    assert got[key].keys() == want[key].keys()
                    for col in got[key]:
                        np.testing.assert_array_equal(got[key][col], want[key][col], err_msg=str(change))
                else:
                    assert got[key] == want[key], (change, key)
    assert (page._timeline.figure, page._changes_chart.figure) == figures
