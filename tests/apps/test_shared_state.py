"""The shared filters in the browser: a link carrying every one of them (snapshot, cluster,
namespace, workload, time window, "only pods with traces") reopens the page with all of them set
in the sidebar and applied; two browser sessions on one server keep their own state; a link
naming a namespace the snapshot lacks shows it in the sidebar rather than "All namespaces"; the
pod view's grouping is in its link."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import ServedSnapshot, page_query, recording_page, table_rows
from workbench.analyses import overview
from workbench.ui.application import ApplicationPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _select(page: Any, label: str) -> Any:
    return page.locator(f".bk-input-group:has(label:text-is('{label}')) select").first


def _chosen(page: Any, label: str) -> str:
    """The text of the option the sidebar's ``label`` menu shows."""
    return _select(page, label).evaluate("e => e.options[e.selectedIndex].text").strip()


def _text(page: Any, css: str, *, timeout: float = 60) -> str:
    """The text of the pane ``css`` once it shows some (panes are filled after the first render)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = " ".join(page.locator(f"{css} pre").all_inner_texts()).strip()
        if text:
            return text
        time.sleep(0.25)
    return text


def test_a_link_with_every_shared_filter_restores_them_all(
    browser: Any, server: ServedSnapshot, app_snapshot: Path, find_incident: Any
) -> None:
    rollout = find_incident(app_snapshot, "bad_rollout")
    ds = wb.open(app_snapshot)
    lo, _ = ds.window
    assert lo is not None
    start, end = lo + dt.timedelta(minutes=10), lo + dt.timedelta(minutes=40)
    scope = {"cluster": rollout["cluster"], "namespace": rollout["namespace"],
             "workload": f"Deployment/{rollout['object']['name']}", "start": start.isoformat(),
             "end": end.isoformat(), "traced_only": "true"}  # fmt: skip
    page = recording_page(browser, server)
    try:
        page.goto(f"{server.url}/application?{urllib.parse.urlencode(scope)}")
        page.locator(".wb-services .tabulator-row").first.wait_for(timeout=90_000)
        page.wait_for_load_state("networkidle")
        query = page_query(page)
        assert query["snapshot"] == [server.name]
        for name in ("cluster", "namespace", "workload", "start", "end"):
            assert query[name] == [scope[name]], name
        assert query["traced_only"][0].lower() == "true"
        assert _chosen(page, "Cluster") == scope["cluster"]
        assert _chosen(page, "Namespace").startswith(f"{scope['namespace']} (")
        assert _chosen(page, "Workload").startswith(f"{scope['workload']} (")
        window = page.locator(".bk-input-group:has(label:text-is('Window (UTC)')) input")
        assert window.first.input_value() == f"{start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}"
        assert page.locator("input[type=checkbox]").first.is_checked()
        # …and applied: the page says what the same component computes for that scope in process
        want = ApplicationPage(ds, **{**scope, "traced_only": True})._scope_note.object
        assert scope["workload"] in want and "10–" in want  # names the workload and the window
        assert _text(page, ".wb-scope-note") == want
        assert page.console_errors == [], server.log()
    finally:
        page.context.close()


def test_two_sessions_keep_their_own_state(browser: Any, server: ServedSnapshot, app_snapshot: Path) -> None:
    ds = wb.open(app_snapshot)
    names = {
        ns: sorted(overview.problem_pods(ds, namespace=ns or None)["name"].to_list()) for ns in ("", "shop")
    }
    assert names["shop"] and names["shop"] != names[""]
    one, two = recording_page(browser, server), recording_page(browser, server)
    try:
        for page in (one, two):
            page.goto(f"{server.url}/overview")
            page.locator(".wb-problem-pods .tabulator-row").first.wait_for(timeout=90_000)
        _select(one, "Namespace").select_option(label=next(
            o.strip() for o in _select(one, "Namespace").locator("option").all_inner_texts() if o.startswith("shop")
        ))  # fmt: skip
        one.wait_for_function("() => window.location.search.includes('namespace=shop')")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            shown = sorted(r["name"] for r in table_rows(one, ".wb-problem-pods", ["name"]))
            if shown == names["shop"]:
                break
            time.sleep(0.25)
        assert shown == names["shop"]
        # the other session saw none of it: its menu, its address and its table are as they were
        two.wait_for_timeout(1000)
        assert _chosen(two, "Namespace") == "All namespaces"
        assert "namespace" not in page_query(two)
        assert sorted(r["name"] for r in table_rows(two, ".wb-problem-pods", ["name"])) == names[""]
        assert one.console_errors == [] and two.console_errors == [], server.log()
    finally:
        one.context.close()
        two.context.close()


def test_a_link_naming_a_namespace_the_snapshot_lacks_says_so_in_the_sidebar(
    browser: Any, server: ServedSnapshot
) -> None:
    page = recording_page(browser, server)
    try:
        page.goto(f"{server.url}/pod_start?namespace=no-such-namespace")
        page.locator(".wb-starts").first.wait_for(timeout=90_000)
        page.wait_for_load_state("networkidle")
        assert _chosen(page, "Namespace") == "no-such-namespace (0)"
        assert page.locator(".wb-starts .tabulator-row").count() == 0  # the page filters on it: no pods
        assert page_query(page)["namespace"] == ["no-such-namespace"]
        assert page.console_errors == [], server.log()
    finally:
        page.context.close()


def test_the_pod_view_grouping_is_in_its_link(browser: Any, server: ServedSnapshot) -> None:
    page = recording_page(browser, server)
    again = recording_page(browser, server)
    try:
        page.goto(f"{server.url}/pod_view")
        page.locator(".wb-group-by .bk-btn").first.wait_for(timeout=90_000)
        page.locator(".wb-group-by .bk-btn", has_text="Service").click()
        page.wait_for_function("() => window.location.search.includes('group_by=service')")
        again.goto(page.evaluate("window.location.href"))
        again.locator(".wb-group-by .bk-btn.bk-active").first.wait_for(timeout=90_000)
        assert again.locator(".wb-group-by .bk-btn.bk-active").inner_text().strip() == "Service"
        assert page.console_errors == [] and again.console_errors == [], server.log()
    finally:
        page.context.close()
        again.context.close()


def test_the_dark_theme_follows_the_navigation(browser: Any, server: ServedSnapshot) -> None:
    """A page shown dark (``?theme=dark``, what the header's switch reloads with) links to the
    others with the theme, and the next page is dark too; a light page links without it."""
    background = "() => getComputedStyle(document.body).backgroundColor"
    page = recording_page(browser, server)
    try:
        page.goto(f"{server.url}/overview")
        page.locator(".wb-problem-pods .tabulator-row").first.wait_for(timeout=90_000)
        light = page.evaluate(background)
        assert "theme" not in page.locator("a", has_text="Cluster").first.get_attribute("href")
        page.goto(f"{server.url}/overview?theme=dark")
        page.locator(".wb-problem-pods .tabulator-row").first.wait_for(timeout=90_000)
        link = page.locator("a", has_text="Cluster").first
        assert link.get_attribute("href") == f"./cluster?snapshot={server.name}&theme=dark"
        link.click()
        page.wait_for_url("**/cluster?*")
        page.locator(".wb-node-matrix .tabulator-row").first.wait_for(timeout=90_000)
        assert page_query(page)["theme"] == ["dark"]
        assert page.evaluate(background) != light
        assert page.console_errors == [], server.log()
    finally:
        page.context.close()
