"""The cluster page (``workbench.ui.cluster``): each scope shows its own analysis, whichever
scopes came before it (node views reused, narrowed or put together from single clusters)."""

from __future__ import annotations

import datetime as dt

import holoviews as hv
import pytest
from polars.testing import assert_frame_equal

import workbench as wb
from tests.support.snapshots import T0, write_small_snapshot
from workbench.analyses import cluster
from workbench.ui.cluster import ClusterPage, matrix_view, problem_view
from workbench.ui.common import table_frame


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> wb.Dataset:
    hv.extension("bokeh")
    return wb.open(write_small_snapshot(tmp_path_factory.mktemp("small") / "snap"))


def test_each_scope_shows_its_own_analysis(ds: wb.Dataset) -> None:
    a, b = ds.clusters
    minutes = dt.timedelta(minutes=1)
    hour = {"start": T0.isoformat(), "end": (T0 + 60 * minutes).isoformat()}
    every = {"start": "", "end": ""}
    # one cluster over a new window, then every cluster: the other one computed, put together
    half = {"start": (T0 + 30 * minutes).isoformat(), "end": (T0 + 90 * minutes).isoformat()}
    scopes = [
        {"namespace": "shop"}, hour, {"cluster": a}, {"cluster": b}, {"cluster": ""}, {"namespace": ""}, every,
        {"cluster": b}, hour, {"cluster": a}, {"cluster": ""}, {"cluster": b, **every},
        {"cluster": "", "namespace": "batch"}, {"cluster": b, "namespace": "", **half}, {"cluster": ""},
    ]  # fmt: skip
    page = ClusterPage(ds)
    page.start()
    columns = {}
    for scope in scopes:
        page.scope.param.update(**scope)
        want = cluster.analyse(ds, page.params())  # computed afresh
        assert page.view is not None
        for name in ("nodes", "pods_by_status", "problem_pods", "matrix", "cluster_matrix", "node_resources",
                     "cluster_resources"):  # fmt: skip
            assert_frame_equal(getattr(page.view, name), getattr(want, name), abs_tol=1e-9)
        assert page.view.findings == want.findings
        multi = want.matrix["cluster"].n_unique() > 1
        # the tables keep a cluster column, hidden when one cluster is shown
        shown = table_frame(matrix_view(want.matrix, want.nodes, clusters=True)).to_pandas()
        assert page._matrix.value.equals(shown), scope
        assert page._problems.value.equals(
            table_frame(problem_view(want.problem_pods, clusters=True)).to_pandas()
        )
        for table in (page._matrix, page._problems):
            assert table.hidden_columns == ([] if multi else ["cluster"])
            columns.setdefault(id(table), list(table.value.columns))
            assert list(table.value.columns) == columns[id(table)]  # the same columns for every scope
        # a card per cluster of the snapshot, those out of scope hidden
        cards = {c.object.split('wb-stat-label">')[1].split("<")[0]: c.visible for c in page._cards.objects}
        assert {k: v for k, v in cards.items() if k in ds.clusters} == {
            c: c in want.cluster_matrix["cluster"].to_list() for c in ds.clusters
        }
