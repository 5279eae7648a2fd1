"""The pod start page, served by ``panel serve`` and driven in Chromium: the demo's slow-start pod
is listed, and a saved link selecting it shows its Pending → Running → Stable Running phases as
:func:`workbench.analyses.podstart.analyse` measures them."""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import podstart

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-starts .tabulator-row").first.wait_for()
    page.wait_for_load_state("networkidle")


def test_the_slow_start_pod_is_listed_with_its_times(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    slow = find_incident(app_snapshot, "slow_start")
    pod = slow["pods"][0]
    _open(insight_page, f"{insight_server.url}/pod_start")
    rows = read_table(insight_page, ".wb-starts", ["pod", "QoS", "to Ready (s)", "CPU request / limit"])
    want = podstart.analyse(wb.open(app_snapshot)).pods
    assert sorted(r["pod"] for r in rows) == sorted(want["pod"].to_list())  # every pod created in the window
    mine = next(r for r in rows if r["pod"] == pod)
    # the ground truth: ready ~236 s after creation (Kubernetes keeps whole seconds), CPU request 500m, limit 2 cores
    assert abs(float(mine["to Ready (s)"]) - slow["details"]["ready_after_s"]) < 1.5
    assert (
        mine["CPU request / limit"]
        == f"{slow['details']['cpu_request'] * 1000:.0f}m / {slow['details']['cpu_limit']:g} cores"
    )
    assert insight_page.console_errors == [], insight_server.log()
    assert insight_page.outside_requests == []


def test_saved_link_selects_the_pod_and_shows_its_phases(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    slow = find_incident(app_snapshot, "slow_start")
    pod = slow["pods"][0]
    query = urllib.parse.urlencode({"namespace": slow["namespace"], "pod": pod})
    _open(insight_page, f"{insight_server.url}/pod_start?{query}")
    title = insight_page.locator(".wb-selected-pod")
    title.get_by_text(f"{slow['namespace']}/{pod}", exact=False).wait_for()
    ready = re.search(r"Ready after (\d+) s", title.locator("pre").inner_text())
    assert ready is not None and abs(int(ready.group(1)) - slow["details"]["ready_after_s"]) < 1.5

    phases = read_table(insight_page, ".wb-phases", ["phase", "duration (s)", "CPU max"])
    want = podstart.analyse(wb.open(app_snapshot), namespace=slow["namespace"]).phases.filter(
        pl.col("pod") == pod
    )
    assert [p["phase"] for p in phases] == ["Pending", "Running", "Stable Running"]
    assert [float(p["duration (s)"]) for p in phases] == [round(d, 1) for d in want["duration_s"].to_list()]
    advice = read_table(insight_page, ".wb-start-advice", ["issue"])
    assert "cpu at limit" in {a["issue"] for a in advice}  # the slow start ran at its CPU limit
    assert urllib.parse.parse_qs(urllib.parse.urlparse(insight_page.url).query)["pod"] == [pod]
    assert insight_page.console_errors == [], insight_server.log()


def test_clicking_a_pod_selects_it(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, find_incident: Any
) -> None:
    slow = find_incident(app_snapshot, "slow_start")
    _open(insight_page, f"{insight_server.url}/pod_start?namespace={slow['namespace']}")
    other = podstart.analyse(wb.open(app_snapshot), namespace=slow["namespace"]).pods
    other = other.filter(pl.col("pod") != slow["pods"][0], pl.col("running").is_not_null())["pod"][0]
    insight_page.locator(".wb-starts .tabulator-cell[tabulator-field='pod']", has_text=other).first.click()
    insight_page.wait_for_function("p => window.location.search.includes('pod=' + p)", arg=other)
    insight_page.locator(".wb-selected-pod").get_by_text(other, exact=False).wait_for()
    assert insight_page.console_errors == [], insight_server.log()


def test_screenshot_for_the_docs(
    insight_docs_page: Any, insight_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """With ``WORKBENCH_UPDATE_SCREENSHOTS=1``: docs/img/page-pod_start.png from the default demo."""
    assert os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    slow = find_incident(demo_snapshot, "slow_start")
    query = urllib.parse.urlencode(
        {"cluster": slow["cluster"], "namespace": slow["namespace"], "pod": slow["pods"][0]}
    )
    _open(insight_docs_page, f"{insight_docs_server.url}/pod_start?{query}")
    insight_docs_page.locator(".wb-phases .tabulator-row").first.wait_for()
    height = insight_docs_page.evaluate("document.getElementById('main').scrollHeight")
    insight_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 4000)})
    insight_docs_page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-pod_start.png"
    insight_docs_page.screenshot(path=str(out))
    assert insight_docs_page.console_errors == [], insight_docs_server.log()
    assert out.stat().st_size > 50_000
