"""One server, several snapshots: ``?snapshot=NAME`` picks the snapshot a page shows, links and
copied URLs keep it, the sidebar's menu switches it, and nothing but a served snapshot's name
opens anything.

The second snapshot is the real minikube cluster of ``realdata/k8s/nri_kubernetes_k8s_1_35``
(read off its ``pods.yaml`` and ``nodes.yaml``: 25 pods, 16 in namespace ``scraper`` and 9 in
``kube-system``, one node ``datagen-1-35``); the first is the demo-based ``app`` snapshot.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import ServedSnapshot, page_query, recording_page, table_rows
from tests.support.snapshots import XSS
from workbench.analyses import overview

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Facts read by hand off realdata/k8s/nri_kubernetes_k8s_1_35 (pods.yaml, nodes.yaml).
MINIKUBE_PODS = 25
MINIKUBE_NAMESPACES = ["kube-system", "scraper"]
MINIKUBE_NODE = "datagen-1-35"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-problem-pods .tabulator-row").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")


def _shown(locator: Any, *, timeout: float = 30) -> str:
    """The text of ``locator`` once it shows some: panes are filled (and stat cards updated in
    place) after the page's first render, and a pane's text is briefly empty while it is
    redrawn, most of all in the first session of a freshly started server."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text().strip()
        if text:
            return text
        time.sleep(0.2)
    return text


def _header(page: Any) -> str:
    return _shown(page.locator(".wb-snapshot-name"))


def _card(page: Any, label: str) -> str:
    card = page.locator(".wb-stat", has=page.locator(".wb-stat-label", has_text=re.compile(f"^{label}$")))
    return _shown(card.locator(".wb-stat-value"))


def _problem_names(page: Any) -> list[str]:
    return sorted(r["name"] for r in table_rows(page, ".wb-problem-pods", ["name"]))


def test_a_page_opened_with_another_snapshot_shows_that_snapshot(
    page: Any, browser: Any, server: ServedSnapshot, minikube_server: ServedSnapshot, app_snapshot: Path
) -> None:
    mini = recording_page(browser, minikube_server)
    try:
        _open(mini, f"{minikube_server.url}/overview")
        assert page_query(mini)["snapshot"] == ["minikube"]
        assert _header(mini) == "snapshot: minikube"
        assert _card(mini, "Pods") == str(MINIKUBE_PODS)
        assert _card(mini, "Clusters") == "1"
        namespaces = mini.locator("select").nth(1).locator("option").all_inner_texts()
        assert namespaces == ["All namespaces", *MINIKUBE_NAMESPACES]
        want = sorted(overview.problem_pods(wb.open(minikube_server.path))["name"].to_list())
        assert want and _problem_names(mini) == want

        # the same server shows the other snapshot to another session at the same time
        _open(page, f"{server.url}/overview")
        assert _header(page) == "snapshot: app"
        assert _problem_names(page) == sorted(overview.problem_pods(wb.open(app_snapshot))["name"].to_list())

        # the navigation carries the snapshot: the cluster page shows minikube's one node
        link = mini.locator("a", has_text="Cluster").first
        assert link.get_attribute("href") == "./cluster?snapshot=minikube"
        link.click()
        mini.wait_for_url("**/cluster?snapshot=minikube*")
        nodes = table_rows(mini, ".wb-node-matrix", ["node"])
        assert [n["node"] for n in nodes] == [MINIKUBE_NODE]
        assert _header(mini) == "snapshot: minikube"
        assert mini.console_errors == [], minikube_server.log()
        assert page.console_errors == [] and mini.outside_requests == []
    finally:
        mini.context.close()


def test_a_copied_link_restores_the_snapshot_and_its_filters(
    browser: Any, minikube_server: ServedSnapshot
) -> None:
    first = recording_page(browser, minikube_server)
    again = recording_page(browser, minikube_server)
    try:
        _open(first, f"{minikube_server.url}/overview")
        first.locator("select").nth(1).select_option(label="scraper")
        first.wait_for_function("() => window.location.search.includes('namespace=scraper')")
        query = page_query(first)
        assert query["snapshot"] == ["minikube"] and query["namespace"] == ["scraper"]

        _open(again, first.evaluate("window.location.href"))
        assert _header(again) == "snapshot: minikube"
        assert again.locator("select").nth(1).input_value() == "scraper"
        ds = wb.open(minikube_server.path)
        want = sorted(overview.problem_pods(ds, namespace="scraper")["name"].to_list())
        assert want and _problem_names(again) == want
        assert first.console_errors == [] and again.console_errors == [], minikube_server.log()
    finally:
        first.context.close()
        again.context.close()


def test_the_snapshot_menu_switches_snapshot_and_drops_the_old_filters(
    page: Any, server: ServedSnapshot, minikube_server: ServedSnapshot, app_snapshot: Path
) -> None:
    _open(page, minikube_server.link(f"{minikube_server.url}/overview?namespace=scraper"))
    menu = page.locator(".wb-snapshot-menu")
    assert menu.locator("button").first.inner_text().strip() == "Snapshot: minikube"
    menu.locator("button").first.click()
    items = [t.strip() for t in menu.locator(".bk-item .bk-label").all_inner_texts()]
    assert "app" in items and "● minikube" in items  # every served snapshot, the current one marked
    menu.locator(".bk-item .bk-label", has_text=re.compile("^app$")).click()
    page.locator(".wb-snapshot-name", has_text="snapshot: app").wait_for(timeout=60_000)  # reloaded
    page.locator(".wb-problem-pods .tabulator-row").first.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert page_query(page) == {"snapshot": ["app"]}  # minikube's namespace filter is gone
    assert _header(page) == "snapshot: app"
    assert _problem_names(page) == sorted(overview.problem_pods(wb.open(app_snapshot))["name"].to_list())
    assert page.console_errors == [], server.log()


def test_only_the_name_of_a_served_snapshot_opens_anything(
    page: Any, server: ServedSnapshot, minikube_server: ServedSnapshot, app_snapshot: Path
) -> None:
    """``..``, a path (even of a real snapshot), an unknown name or HTML get the error page,
    which lists the served snapshots as text."""
    for name in ("..", "../served", str(app_snapshot.resolve()), "minikube/../app", "nope", XSS):
        page.goto(f"{server.url}/overview?{urllib.parse.urlencode({'snapshot': name})}")
        page.get_by_text("This snapshot cannot be shown").wait_for()
        message = page.get_by_text("no snapshot named").inner_text()
        assert "available snapshots:" in message and "app" in message and "minikube" in message, message
        assert page.locator(".wb-problem-pods").count() == 0
        assert page.evaluate("typeof window.__xss") == "undefined"
    assert XSS in page.get_by_text("no snapshot named").inner_text()  # shown as characters
    assert page.console_errors == [], server.log()
