"""The resource browser, served by ``panel serve`` and driven in Chromium: the Pod table, the
detail's tabs restored from a saved link, links between objects, and cluster text as text."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, table_rows, unescaped_text_columns
from tests.support.snapshots import XSS
from workbench.analyses import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = ".tabulator-row .tabulator-cell[tabulator-field='{field}']"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _pod(snapshot: Path, oom: dict[str, Any]) -> dict[str, Any]:
    pods = wb.open(snapshot).pods(cluster=oom["cluster"], namespace=oom["namespace"], pod=oom["pods"][0])
    assert pods.height == 1
    return pods.row(0, named=True)


def test_pod_table_lists_the_oom_killed_pod_as_kubectl_prints_it(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path, oom_pod: dict[str, Any]
) -> None:
    want = _pod(browse_snapshot, oom_pod)
    _open(browse_page, f"{browse_server.url}/resources")
    rows = table_rows(browse_page, ".wb-browser-table", ["name", "namespace", "status", "restarts", "ready"])
    assert (
        len(rows) == browser.table(wb.open(browse_snapshot), "Pod").height
    )  # every pod, over all table pages
    mine = [r for r in rows if r["name"] == oom_pod["pods"][0]]
    assert len(mine) == 1, [r["name"] for r in rows]
    assert mine[0]["namespace"] == oom_pod["namespace"]
    assert mine[0]["status"] == want["status"]  # kubectl's STATUS as the snapshot's pods table has it
    assert int(mine[0]["restarts"]) == oom_pod["details"]["restarts"]  # the ground truth's two OOM kills
    assert mine[0]["ready"] == f"{want['containers_ready']}/{want['containers_total']}"
    assert browse_page.console_errors == [], browse_server.log()
    assert browse_page.outside_requests == []


def test_saved_link_opens_the_event_tab_and_the_node_link_opens_the_node(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path, oom_pod: dict[str, Any]
) -> None:
    pod = _pod(browse_snapshot, oom_pod)
    query = urllib.parse.urlencode(
        {"kind": "Pod", "name": f"{oom_pod['namespace']}/{pod['name']}", "tab": "events"}
    )
    _open(browse_page, f"{browse_server.url}/resources?{query}")
    active = browse_page.locator(".wb-detail-tabs .bk-tab.bk-active")
    assert active.inner_text().strip() == "Event"
    events = table_rows(browse_page, ".wb-events", ["type", "reason", "object"])
    warnings = {e["reason"] for e in events if e["type"] == "Warning"}
    assert warnings & {"BackOff", "OOMKilling"}, events  # the kill shows up as a warning
    assert all(e["object"].endswith(pod["name"]) for e in events)

    browse_page.locator(".wb-detail-tabs .bk-tab", has_text="Detail").click()
    browse_page.locator(".wb-link button", has_text=pod["node"]).click()
    browse_page.wait_for_function("() => window.location.search.includes('kind=Node')")
    query_now = urllib.parse.parse_qs(urllib.parse.urlparse(browse_page.url).query)
    assert query_now["kind"] == ["Node"]
    assert query_now["name"] == [pod["node"]]
    browse_page.get_by_text(f"Node {pod['node']}", exact=True).wait_for()
    info = table_rows(browse_page, ".wb-info", ["field", "value"])
    assert {"field": "Kind", "value": "Node"} in info
    assert browse_page.console_errors == [], browse_server.log()


def test_a_row_opens_its_detail_and_the_pod_list_leads_to_the_pod(
    browse_page: Any, browse_server: PanelServer, oom_pod: dict[str, Any]
) -> None:
    ns, deployment, pod = oom_pod["namespace"], oom_pod["object"]["name"], oom_pod["pods"][0]
    query = urllib.parse.urlencode({"kind": "Deployment", "cluster": oom_pod["cluster"], "namespace": ns})
    _open(browse_page, f"{browse_server.url}/resources?{query}")
    assert browse_page.locator(".wb-kinds .bk-btn.bk-active").inner_text().strip() == "Deployment"
    table = browse_page.locator(".wb-browser-table")
    table.locator(CELL.format(field="name"), has_text=deployment).first.wait_for()
    table.locator(CELL.format(field="name")).filter(has_text=deployment).first.click()
    browse_page.wait_for_function(
        "n => window.location.search.includes(n)", arg=urllib.parse.urlencode({"name": f"{ns}/{deployment}"})
    )
    browse_page.get_by_text(f"Deployment {ns}/{deployment}", exact=True).wait_for()
    pods = browse_page.locator(".wb-detail-pods")
    pods.locator(CELL.format(field="name"), has_text=pod).first.click()
    browse_page.get_by_text(f"Pod {ns}/{pod}", exact=True).wait_for()
    query_now = urllib.parse.parse_qs(urllib.parse.urlparse(browse_page.url).query)
    assert (query_now["kind"], query_now["name"], query_now["namespace"]) == (["Pod"], [f"{ns}/{pod}"], [ns])
    assert browse_page.console_errors == []


def test_yaml_tab_shows_the_manifest_as_of_a_moment_and_a_script_in_it_as_text(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path, oom_pod: dict[str, Any]
) -> None:
    pod = _pod(browse_snapshot, oom_pod)
    name = f"{oom_pod['namespace']}/{pod['name']}"
    _open(
        browse_page,
        f"{browse_server.url}/resources?"
        + urllib.parse.urlencode({"kind": "Pod", "name": name, "tab": "yaml"}),
    )
    yaml = browse_page.locator(".wb-yaml")
    yaml.get_by_text("kind: Pod").first.wait_for()
    text = yaml.locator("pre").first.inner_text()
    assert f"name: {pod['name']}" in text
    assert XSS in text  # the annotation's characters are on screen…
    assert browse_page.evaluate("typeof window.__xss") == "undefined"  # …and nothing ran

    # the first revision (the pod's creation in the window) has no such annotation yet
    first = (
        wb.open(browse_snapshot)
        .objects(cluster=oom_pod["cluster"], namespace=oom_pod["namespace"])
        .filter(pl.col("kind") == "Pod", pl.col("name") == pod["name"])["observed_at"]
        .min()
    )
    at = first.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
    again = urllib.parse.urlencode({"kind": "Pod", "name": name, "tab": "yaml", "at": at})
    _open(browse_page, f"{browse_server.url}/resources?{again}")
    browse_page.locator(".wb-yaml").get_by_text("kind: Pod").first.wait_for()
    old = browse_page.locator(".wb-yaml pre").first.inner_text()
    assert f"name: {pod['name']}" in old
    assert XSS not in old
    assert browse_page.console_errors == [], browse_server.log()


def test_every_text_cell_of_the_page_is_escaped(browse_snapshot: Path, oom_pod: dict[str, Any]) -> None:
    """Cluster text reaches the browser only through escaping formatters, whatever is selected."""
    from workbench.ui.resources import ResourceBrowser

    ds = wb.open(browse_snapshot)
    for kind, name in (("Pod", f"{oom_pod['namespace']}/{oom_pod['pods'][0]}"), ("Service", f"{oom_pod['namespace']}/"
                       f"{oom_pod['object']['name']}"), ("Node", _pod(browse_snapshot, oom_pod)["node"])):  # fmt: skip
        view = ResourceBrowser(ds, kind=kind, selected=name, in_cluster=oom_pod["cluster"])
        assert view.detail is not None, (kind, name)
        assert unescaped_text_columns(view) == [], kind


def test_screenshot_for_the_docs(
    browse_docs_page: Any, browse_docs_server: PanelServer, demo_snapshot: Path
) -> None:
    """docs/img/page-resources.png: the OOM-killed pod's detail on the default demo."""
    oom = next(i for i in wb.open(demo_snapshot).ground_truth["incidents"] if i["kind"] == "oom_killed")  # type: ignore[index]
    query = urllib.parse.urlencode(
        {"kind": "Pod", "name": f"{oom['namespace']}/{oom['pods'][0]}", "tab": "detail"}
    )
    _open(browse_docs_page, f"{browse_docs_server.url}/resources?{query}")
    browse_docs_page.locator(".wb-info .tabulator-row").first.wait_for()
    _save(browse_docs_page, REPO / "docs" / "img" / "page-resources.png")
    assert browse_docs_page.console_errors == [], browse_docs_server.log()


def _save(page: Any, out: Path) -> None:
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 3000)})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out))
    assert out.stat().st_size > 50_000  # a blank page compresses to almost nothing
