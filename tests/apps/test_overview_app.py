"""The overview page, served by ``panel serve`` and driven in Chromium: what a user sees."""

from __future__ import annotations

import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, ServedSnapshot
from tests.support.snapshots import XSS
from workbench.analyses import overview

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = ".tabulator-row .tabulator-cell[tabulator-field='{field}']"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".tabulator-row").first.wait_for()
    page.wait_for_load_state("networkidle")


def _column(page: Any, field: str) -> list[str]:
    """The texts of one column of the problem-pod table, every page of it."""
    table = page.locator(".wb-problem-pods")
    texts: list[str] = []
    while True:
        texts += [t.strip() for t in table.locator(CELL.format(field=field)).all_inner_texts()]
        nxt = table.locator(".tabulator-page[data-page='next']")
        if nxt.count() == 0 or nxt.is_disabled():
            return texts
        nxt.click()


def _wait_for_names(page: Any, want: list[str], *, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    got: list[str] = []
    while time.monotonic() < deadline:
        got = _column(page, "name")
        if sorted(got) == sorted(want):
            return got
        time.sleep(0.25)
    return got


def _busiest_namespace(ds: wb.Dataset) -> str:
    """A namespace holding some but not all problem pods."""
    counts = (
        overview.problem_pods(ds)
        .group_by("namespace")
        .len()
        .sort(["len", "namespace"], descending=[True, False])
    )
    assert counts.height > 1, "the snapshot should have problem pods in more than one namespace"
    return str(counts["namespace"][0])


def test_page_loads_without_errors_or_outside_requests(page: Any, server: PanelServer) -> None:
    _open(page, f"{server.url}/overview")
    assert page.console_errors == [], server.log()
    assert page.outside_requests == []  # everything is served locally: no CDN, no web fonts
    assert "workbench · Overview" in page.title() or page.get_by_text("workbench · Overview").count()


def test_problem_table_lists_exactly_the_problem_pods(
    page: Any, server: PanelServer, app_snapshot: Path
) -> None:
    want = overview.problem_pods(wb.open(app_snapshot))
    assert want.height > 0
    _open(page, f"{server.url}/overview")
    names = _wait_for_names(page, want["name"].to_list())
    assert sorted(names) == sorted(want["name"].to_list())
    statuses = dict(zip(names, _column(page, "status"), strict=True))
    assert statuses == dict(want.select("name", "status").iter_rows())  # kubectl's STATUS text
    ready = dict(zip(names, _column(page, "ready"), strict=True))
    assert ready == dict(want.select("name", "ready").iter_rows())


def test_namespace_selection_updates_table_and_url_and_the_url_restores_it(
    page: Any, browser: Any, server: PanelServer, app_snapshot: Path
) -> None:
    ds = wb.open(app_snapshot)
    namespace = _busiest_namespace(ds)
    want = sorted(overview.problem_pods(ds, namespace=namespace)["name"].to_list())
    _open(page, f"{server.url}/overview")
    page.locator("select").nth(1).select_option(label=namespace)
    assert sorted(_wait_for_names(page, want)) == want
    page.wait_for_function("ns => window.location.search.includes('namespace=' + ns)", arg=namespace)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["namespace"] == [namespace]

    again = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        _open(again, page.url)
        assert sorted(_wait_for_names(again, want)) == want
        assert again.locator("select").nth(1).input_value() == namespace
    finally:
        again.close()


def test_a_link_naming_a_namespace_the_snapshot_lacks_shows_it_chosen_and_no_pods(
    page: Any, server: PanelServer
) -> None:
    """As on the other pages: the sidebar shows the link's namespace as "name (0)" and the page
    filters on it (no pods), rather than every namespace under a URL that still names it."""
    page.goto(f"{server.url}/overview?namespace=no-such-namespace")
    page.get_by_text("0 problem pod(s) in no-such-namespace").wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    chosen = page.locator("select").nth(1).evaluate("e => e.options[e.selectedIndex].text").strip()
    assert chosen == "no-such-namespace (0)"
    assert page.locator(".wb-problem-pods .tabulator-row").count() == 0
    assert urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["namespace"] == ["no-such-namespace"]
    assert page.console_errors == [], server.log()


def test_cluster_text_is_shown_as_text_never_run_as_html(
    page: Any, server: PanelServer, app_snapshot: Path
) -> None:
    problems = overview.problem_pods(wb.open(app_snapshot))
    carrier = problems.filter(problems["last_warning"].str.contains(XSS, literal=True))
    assert carrier.height == 1, (
        "the test snapshot must hold one problem pod whose last warning has a <script>"
    )
    _open(page, f"{server.url}/overview")
    _wait_for_names(page, problems["name"].to_list())
    warnings = _column(page, "last_warning")
    assert any(XSS in w for w in warnings)  # the characters are on screen
    assert page.evaluate("typeof window.__xss") == "undefined"  # and nothing ran


def test_screenshot_for_the_docs(
    page: Any, docs_server: ServedSnapshot, demo_snapshot: Path, tmp_path: Path
) -> None:
    """Serves the default demo (``data/demo``, what ``./run serve`` shows) and takes a full-page
    screenshot; with ``WORKBENCH_UPDATE_SCREENSHOTS=1`` it replaces docs/img/overview.png (look at
    it whenever the page changes)."""
    want = overview.problem_pods(wb.open(demo_snapshot))["name"].to_list()
    _open(page, docs_server.link(f"{docs_server.url}/overview"))
    assert sorted(_wait_for_names(page, want)) == sorted(want)
    # the template scrolls inside #main: make the window as tall as its content
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1920, "height": min(int(height) + 80, 4000)})
    page.wait_for_timeout(1000)
    # the docs' copy is remade only on request, so that test runs leave the tree clean
    update = os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    out = REPO / "docs" / "img" / "overview.png" if update else tmp_path / "overview.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out))
    assert page.console_errors == [], docs_server.log()
    assert out.stat().st_size > 50_000  # a blank page compresses to almost nothing


def test_a_missing_snapshot_shows_what_to_do(page: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-snapshot"
    with PanelServer(
        [REPO / "apps" / "overview.py"], args=["--snapshot", str(missing)], log_path=tmp_path / "panel.log"
    ) as srv:
        page.goto(f"{srv.url}/overview")
        page.get_by_text("This snapshot cannot be shown").wait_for()
        assert page.get_by_text(f"no snapshot at {missing}").count() == 1
        assert page.get_by_text("workbench demo --out data/demo").count() == 1
        assert page.console_errors == [], srv.log()
