"""The shared dashboard scope: filters for analyses, URL query, choices that follow each other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import panel as pn

import workbench as wb
from workbench.ui.scope import PAGES, Scope, nav


def test_scope_filters_and_query(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    scope = Scope(ds)
    assert scope.filters() == {}
    assert scope.window() == ds.window and scope.query() == ""
    scope.param.update(
        cluster=ds.clusters[0], namespace="shop", workload="Deployment/checkout", traced_only=True
    )
    assert scope.filters() == {
        "cluster": ds.clusters[0],
        "namespace": "shop",
        "workload": "Deployment/checkout",
    }
    assert (
        scope.query()
        == f"?cluster={ds.clusters[0]}&namespace=shop&workload=Deployment%2Fcheckout&traced_only=true"
    )
    pods = scope.pods()
    assert pods.height > 0 and set(pods["workload_name"]) == {"checkout"}


def test_choices_follow_the_cluster_and_traced_only_keeps_instrumented_pods(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    scope = Scope(ds, cluster=ds.clusters[0])
    namespaces = set(scope.namespace_options().values()) - {""}
    assert namespaces == set(ds.pods(cluster=ds.clusters[0])["namespace"].unique())
    traced = scope.traced_pods()
    scope.traced_only = True
    pods = scope.pods()
    assert set(pods["name"]) == set(traced["pod"]) & set(ds.pods(cluster=ds.clusters[0])["name"])
    assert "kube-system" not in set(pods["namespace"]), "system pods have no spans"


def test_widgets_drive_the_scope_and_nav_carries_it(demo_snapshot: Path) -> None:
    ds = wb.open(demo_snapshot)
    scope = Scope(ds)
    column = scope.widgets()
    cluster, namespace = column[0], column[1]
    cluster.value = ds.clusters[1]
    assert scope.cluster == ds.clusters[1]
    namespace.value = "shop"
    assert scope.namespace == "shop"
    picker = column[3]
    lo, hi = ds.window
    picker.value = (lo.replace(tzinfo=None) + dt.timedelta(hours=1), hi.replace(tzinfo=None))
    assert scope.start == (lo + dt.timedelta(hours=1)).isoformat() and scope.end == hi.isoformat()
    links = nav(scope, current="overview", pages=PAGES)
    assert f"./cluster?cluster={ds.clusters[1]}&amp;namespace=shop" in links.object
    assert "<b>Overview</b>" in links.object and len(PAGES) >= 10
    assert isinstance(links, pn.pane.HTML)


def test_links_of_a_session_opened_on_another_snapshot_carry_it(demo_snapshot: Path) -> None:
    """A page opened with ``?snapshot=NAME`` links to the other pages with ``snapshot=NAME``
    first; a page on the default snapshot (or in JupyterLab) adds nothing."""
    import weakref

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from workbench.ui import serving
    from workbench.ui.scope import scope_query

    ds = wb.open(demo_snapshot)
    scope = Scope(ds, namespace="shop")
    assert scope.query() == "?namespace=shop"

    class Request:
        arguments: dict[str, list[bytes]] = {"snapshot": [b"other"]}

    class Session:  # what Bokeh's server gives a served document
        request = Request()

    session, doc = Session(), Document()
    doc._session_context = weakref.ref(session)  # type: ignore[assignment]
    catalog = serving.SnapshotCatalog(demo_snapshot, demo_snapshot.parent)
    serving._SESSIONS[doc] = serving.Served("other", "other", catalog)
    with set_curdoc(doc):
        assert serving.session_snapshot() == "other"
        assert scope.query() == "?snapshot=other&namespace=shop"
        assert scope_query(None) == "?snapshot=other"
        assert scope.query(snapshot="") == "?namespace=shop"
        links = nav(scope, current="overview", pages=PAGES)
        assert "./cluster?snapshot=other&amp;namespace=shop" in links.object
    serving._SESSIONS[doc] = serving.Served("", demo_snapshot.name, catalog)  # opened without ?snapshot=
    with set_curdoc(doc):
        assert scope.query() == "?namespace=shop"
