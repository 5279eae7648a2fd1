"""The log explorer, served by ``panel serve`` and driven in Chromium: a search for the bad
rollout's new error finds lines of that rollout's pods only, a ``<script>`` in a log line stays
text, and a saved link restores the query."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, wait_for_text
from tests.support.snapshots import XSS
from workbench.analyses import logs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = ".wb-log-lines .tabulator-row .tabulator-cell[tabulator-field='{field}']"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-log-lines .tabulator-row").first.wait_for(timeout=90_000)
    page.wait_for_load_state("networkidle")


def _search(page: Any, text: str) -> None:
    box = page.locator("input[placeholder='text…']")
    box.fill(text)
    box.press("Enter")


def _column(page: Any, field: str) -> list[str]:
    return [t.strip() for t in page.locator(CELL.format(field=field)).all_inner_texts()]


def test_searching_the_rollouts_new_error_finds_only_its_pods(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    rollout = find_incident(signals_snapshot, "bad_rollout")
    message = rollout["details"]["error_message"]
    want = logs.search(wb.open(signals_snapshot), text=message, limit=100_000)
    assert want.height > 0 and set(want["pod"].to_list()) <= set(rollout["pods"])
    page = signals_page
    _open(page, f"{signals_server.url}/logs")
    _search(page, message)
    wait_for_text(page, ".wb-logs-note", rf"^{want.height} matching log lines")
    page.wait_for_timeout(500)
    pods = set(_column(page, "pod"))
    assert pods and pods <= set(rollout["pods"])
    assert set(_column(page, "level")) == set(want["level"].to_list())
    assert page.console_errors == [], signals_server.log()
    assert page.outside_requests == []


def test_a_script_in_a_log_line_is_shown_as_text(
    signals_page: Any, signals_server: PanelServer, signals_snapshot: Path
) -> None:
    assert logs.search(wb.open(signals_snapshot), text="__xss").height == 1
    page = signals_page
    _open(page, f"{signals_server.url}/logs?q=__xss")
    wait_for_text(page, ".wb-logs-note", r"^1 matching log lines")
    page.wait_for_timeout(500)
    (preview,) = _column(page, "preview")
    assert XSS in preview  # the characters are on screen
    page.locator(".wb-log-lines .tabulator-row").first.locator(".tabulator-cell", has_text="►").click()
    page.locator(".wb-log-message pre").first.wait_for()
    expanded = page.locator(".wb-log-message pre").first.inner_text()
    assert expanded.startswith(preview) and '"<b>bold</b>"' in expanded
    assert page.evaluate("typeof window.__xss") == "undefined"  # and nothing ran
    assert page.locator(".wb-log-lines script, .wb-log-message script").count() == 0


def test_a_saved_link_restores_the_query(
    signals_page: Any, browser: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    rollout = find_incident(signals_snapshot, "bad_rollout")
    pod = rollout["pods"][0]
    page = signals_page
    _open(page, f"{signals_server.url}/logs")
    _search(page, "promotion")
    want = logs.search(wb.open(signals_snapshot), text="promotion", pod=pod, levels=["ERROR"], limit=100_000)
    assert want.height > 0
    wait_for_text(page, ".wb-logs-note", r"matching log lines")
    page.locator(".wb-facet-pod .tabulator-cell[tabulator-field='value']", has_text=pod).first.click()
    page.locator(".wb-facet-level .tabulator-cell[tabulator-field='value']", has_text="ERROR").first.click()
    wait_for_text(page, ".wb-logs-note", rf"^{want.height} matching log lines")
    deadline = time.monotonic() + 30
    query: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        query = urllib.parse.parse_qs(page.evaluate("window.location.search").lstrip("?"))
        if {"q", "pod", "levels"} <= set(query):
            break
        time.sleep(0.25)
    assert query == {"q": ["promotion"], "pod": [pod], "levels": ["ERROR"]}

    again = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        _open(again, page.evaluate("window.location.href"))
        wait_for_text(again, ".wb-logs-note", rf"^{want.height} matching log lines")
        assert again.locator("input[placeholder='text…']").input_value() == "promotion"
        assert set(_column(again, "pod")) == {pod}
        assert set(_column(again, "level")) == {"ERROR"}
    finally:
        again.close()
    assert page.console_errors == [], signals_server.log()


def test_screenshot_for_the_docs(
    signals_docs_page: Any, signals_docs_server: PanelServer, demo_snapshot: Path
) -> None:
    """docs/img/page-logs.png: the demo's errors, one row expanded."""
    page = signals_docs_page
    _open(page, f"{signals_docs_server.url}/logs?levels=ERROR")
    page.locator(".wb-log-lines .tabulator-row").first.locator(".tabulator-cell", has_text="►").click()
    page.locator(".wb-log-message pre").first.wait_for()
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 6000)})
    page.wait_for_timeout(2500)
    out = REPO / "docs" / "img" / "page-logs.png"
    page.screenshot(path=str(out))
    assert page.console_errors == [], signals_docs_server.log()
    assert out.stat().st_size > 50_000
