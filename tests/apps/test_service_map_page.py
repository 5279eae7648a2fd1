"""The service map page, served by ``panel serve`` and driven in Chromium: the edges it lists are
the analysis' edges for the window, a picked service links to its application page, and a
saved link restores the window and the service."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import servicemap

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-edges .tabulator-row").first.wait_for(timeout=90_000)
    page.wait_for_load_state("networkidle")


def _second_half(snapshot: Path) -> dict[str, str]:
    """The window's second half, so the baseline (the first half) is inside the snapshot."""
    start, end = wb.open(snapshot).window
    assert start is not None and end is not None
    return {"start": (start + (end - start) / 2).isoformat()}


def _edges(page: Any, read_table: Any) -> set[tuple[str, str, int]]:
    rows = read_table(page, ".wb-edges", ["caller", "callee", "calls"])
    return {(r["caller"], r["callee"], int(r["calls"].replace(",", ""))) for r in rows if r["calls"] != "0"}


def _search(page: Any) -> dict[str, str]:
    search = page.evaluate("window.location.search")
    return {k: v[0] for k, v in urllib.parse.parse_qs(search.lstrip("?")).items()}


def test_the_edges_shown_are_the_edges_of_the_window(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path, read_table: Any
) -> None:
    window = _second_half(signals_snapshot)
    _open(signals_page, f"{signals_server.url}/service_map?{urllib.parse.urlencode(window)}")
    ds = wb.open(signals_snapshot)
    want = servicemap.service_map(ds, start=window["start"], end=ds.window[1]).edges
    assert want.height > 0
    assert _edges(signals_page, read_table) == set(want.select("caller", "callee", "calls").iter_rows())
    assert signals_page.console_errors == [], signals_server.log()
    assert signals_page.outside_requests == []


def test_picking_a_service_links_to_its_application_page_and_the_link_restores_it(
    signals_page: Any, browser: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any,
    read_table: Any,
) -> None:  # fmt: skip
    service = find_incident(signals_snapshot, "bad_rollout")["object"]["name"]
    window = _second_half(signals_snapshot)
    page = signals_page
    _open(page, f"{signals_server.url}/service_map?{urllib.parse.urlencode(window)}")
    cell = ".wb-map-services .tabulator-row .tabulator-cell[tabulator-field='service']"
    page.locator(cell, has_text=service).first.click()
    deadline = time.monotonic() + 30
    while _search(page).get("service") != service and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _search(page)["service"] == service
    href = page.locator(".wb-app-link a").get_attribute("href")
    link = urllib.parse.urlparse(href)
    assert link.path == "./application"
    assert urllib.parse.parse_qs(link.query) == {"start": [window["start"]], "service": [service]}
    ds = wb.open(signals_snapshot)
    around = servicemap.service_map(ds, start=window["start"], end=ds.window[1], service=service).edges
    assert _edges(page, read_table) == set(around.select("caller", "callee", "calls").iter_rows())

    again = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        _open(again, page.evaluate("window.location.href"))
        assert again.locator("select").filter(has_text="None").input_value() == service
        assert _edges(again, read_table) == set(around.select("caller", "callee", "calls").iter_rows())
    finally:
        again.close()
    assert page.console_errors == [], signals_server.log()


def test_screenshot_for_the_docs(
    signals_docs_page: Any, signals_docs_server: PanelServer, demo_snapshot: Path
) -> None:
    """docs/img/page-service_map.png: the second half of the demo against its first half."""
    page = signals_docs_page
    _open(
        page, f"{signals_docs_server.url}/service_map?{urllib.parse.urlencode(_second_half(demo_snapshot))}"
    )
    page.wait_for_timeout(2000)
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 6000)})
    page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-service_map.png"
    page.screenshot(path=str(out))
    assert page.console_errors == [], signals_docs_server.log()
    assert out.stat().st_size > 50_000
