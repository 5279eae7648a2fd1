"""The anomalies page, served by ``panel serve`` and driven in Chromium: the ground truth's
CPU-throttled pod is among the anomalies, picking it draws its series, and a saved link
restores the pick."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import REPO, PanelServer, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = ".wb-anomalies .tabulator-row"


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(ROWS).first.wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle")


def test_the_throttled_pod_is_among_the_anomalies(
    signals_page: Any,
    signals_server: PanelServer,
    signals_snapshot: Path,
    find_incident: Any,
    read_table: Any,
) -> None:
    throttled = find_incident(signals_snapshot, "cpu_throttling")
    pod = throttled["pods"][0]
    page = signals_page
    _open(page, f"{signals_server.url}/anomalies")
    wait_for_text(page, ".wb-anomaly-note", r"anomalous intervals")
    rows = read_table(page, ".wb-anomalies", ["kind", "series", "pod", "direction"])
    mine = [r for r in rows if r["pod"] == pod]
    assert mine, f"{pod} (throttled, ground truth) is not listed: {[r['series'] for r in rows]}"
    assert {r["kind"] for r in mine} == {"metric"}
    assert any("throttled" in r["series"] or "cpu_usage" in r["series"] for r in mine)
    assert page.console_errors == [], signals_server.log()
    assert page.outside_requests == []


def test_picking_an_anomaly_draws_its_series_and_a_link_restores_it(
    signals_page: Any, browser: Any, signals_server: PanelServer, signals_snapshot: Path, find_incident: Any
) -> None:
    pod = find_incident(signals_snapshot, "cpu_throttling")["pods"][0]
    page = signals_page
    _open(page, f"{signals_server.url}/anomalies?kind=metric")
    cell = page.locator(f"{ROWS} .tabulator-cell[tabulator-field='series']", has_text=pod).first
    series = cell.inner_text().strip()
    cell.click()
    wait_for_text(page, ".wb-chart-note", re.escape(series))
    deadline = time.monotonic() + 30
    while "series=" not in page.evaluate("window.location.search") and time.monotonic() < deadline:
        time.sleep(0.25)
    url = page.evaluate("window.location.href")
    assert "kind=metric" in url and "series=" in url

    again = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        _open(again, url)
        wait_for_text(again, ".wb-chart-note", re.escape(series))
        kinds = {
            t.strip()
            for t in again.locator(f"{ROWS} .tabulator-cell[tabulator-field='kind']").all_inner_texts()
        }
        assert kinds == {"metric"}
    finally:
        again.close()
    assert page.console_errors == [], signals_server.log()


def test_screenshot_for_the_docs(
    signals_docs_page: Any, signals_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """docs/img/page-anomalies.png: the demo's anomalies, the throttled pod's CPU picked."""
    pod = find_incident(demo_snapshot, "cpu_throttling")["pods"][0]
    page = signals_docs_page
    _open(page, f"{signals_docs_server.url}/anomalies")
    page.locator(f"{ROWS} .tabulator-cell[tabulator-field='series']", has_text=pod).first.click()
    wait_for_text(page, ".wb-chart-note", re.escape(pod))
    page.wait_for_timeout(2000)
    height = page.evaluate("document.getElementById('main').scrollHeight")
    page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 6000)})
    page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-anomalies.png"
    page.screenshot(path=str(out))
    assert page.console_errors == [], signals_docs_server.log()
    assert out.stat().st_size > 50_000
