"""The shared dashboard scope: filters for analyses, URL query, choices that follow each other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs

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


def test_a_link_naming_what_the_snapshot_lacks_shows_it_in_the_sidebar(demo_snapshot: Path) -> None:
    """A cluster, namespace or workload from the URL that the snapshot does not have (another
    snapshot's link, an object deleted since) is the menu's choice, labelled as having no pods,
    rather than a menu showing "All …" while the page filters on it; a cluster change drops it."""
    ds = wb.open(demo_snapshot)
    scope = Scope(ds, namespace="no-such-namespace", workload="Deployment/no-such-workload")
    cluster, namespace, workload = scope.widgets()[:3]
    assert namespace.value == "no-such-namespace" and workload.value == "Deployment/no-such-workload"
    assert namespace.options["no-such-namespace (0)"] == "no-such-namespace"
    assert workload.options["Deployment/no-such-workload (0)"] == "Deployment/no-such-workload"
    assert set(namespace.options.values()) - {"no-such-namespace"} == set(scope.namespace_options().values())
    assert scope.filters() == {"namespace": "no-such-namespace", "workload": "Deployment/no-such-workload"}
    scope.cluster = "no-such-cluster"  # as a URL applied after the widgets were built
    assert cluster.value == "no-such-cluster"
    assert cluster.options["no-such-cluster (not in this snapshot)"] == "no-such-cluster"
    assert scope.namespace == "" and namespace.value == ""  # not a namespace of that cluster
    scope.cluster = ds.clusters[0]
    namespace.value = "shop"  # a known one: the menu is the scope's as before
    assert scope.namespace == "shop" and "no-such-namespace" not in namespace.options.values()


def test_links_of_a_page_in_the_dark_theme_keep_it(demo_snapshot: Path) -> None:
    """A served page opened with ``?theme=dark`` (the header's switch) links to the other pages
    with ``theme=dark`` last, so the theme stays from page to page; the light theme adds nothing."""
    import weakref

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from workbench.ui import serving

    ds = wb.open(demo_snapshot)
    scope = Scope(ds, namespace="shop")
    catalog = serving.SnapshotCatalog(demo_snapshot, demo_snapshot.parent)
    for theme, served, want in (
        (b"dark", serving.Served("other", "other", catalog), "?snapshot=other&namespace=shop&theme=dark"),
        (b"dark", serving.Served("", demo_snapshot.name, catalog), "?namespace=shop&theme=dark"),
        (b"default", serving.Served("", demo_snapshot.name, catalog), "?namespace=shop"),
    ):
        request = type("Request", (), {"arguments": {"theme": [theme]}})()
        session, doc = type("Session", (), {"request": request})(), Document()  # as Bokeh's server gives
        doc._session_context = weakref.ref(session)  # type: ignore[assignment]
        serving._SESSIONS[doc] = served
        with set_curdoc(doc):
            assert serving.session_theme() == ("dark" if theme == b"dark" else "")
            assert scope.query() == want
            assert (
                "./cluster" + want.replace("&", "&amp;") in nav(scope, current="overview", pages=PAGES).object
            )
            assert scope.query(theme="") == want.replace("&theme=dark", "")  # an override wins
    assert scope.query() == "?namespace=shop"  # outside a served page (JupyterLab): no theme


def test_the_traced_only_flag_is_written_true_in_the_url(demo_snapshot: Path) -> None:
    """Synced to the URL, "only pods with traces" reads ``traced_only=true`` (as the docs say)
    after later changes of other filters too (Panel rewrites the query reading ``true`` back as
    ``True``); both spellings are read."""
    import weakref

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    class Session:  # what Bokeh's server gives a served document
        request = None

    ds = wb.open(demo_snapshot)
    session, doc = Session(), Document()
    doc._session_context = weakref.ref(session)  # type: ignore[assignment]
    with set_curdoc(doc):
        scope = Scope(ds)
        assert scope.sync()
        location = pn.state.location
        scope.traced_only = True
        assert parse_qs(location.search[1:]) == {"traced_only": ["true"]}
        scope.namespace = "shop"  # Panel re-reads the query: traced_only=True unless fixed
        scope.workload = "Deployment/cart"
        assert parse_qs(location.search[1:]) == {
            "traced_only": ["true"], "namespace": ["shop"], "workload": ["Deployment/cart"]
        }  # fmt: skip
        scope.traced_only = False
        assert parse_qs(location.search[1:])["traced_only"] == ["false"]
        for spelling in ("True", "true"):
            location.search = f"?namespace=shop&traced_only={spelling}"
            assert scope.traced_only is True
            assert parse_qs(location.search[1:])["traced_only"] == ["true"]
            scope.traced_only = False
