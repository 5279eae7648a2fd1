"""The right-sizing page, served by ``panel serve`` and driven in Chromium: the demo's OOM-killed
container is flagged under-provisioned, the percentile widget changes the advice exactly as
:func:`workbench.analyses.rightsizing.analyse` does, and the CSV download holds the advice."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import rightsizing
from workbench.ui.common import format_cores

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIELDS = ["workload", "container", "status", "flags", "cpu_request_advised"]  # one cluster: no cluster column


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-advice .tabulator-row").first.wait_for()
    page.wait_for_load_state("networkidle")


def _scope(oom: dict[str, Any]) -> dict[str, str]:
    return {"cluster": oom["cluster"], "namespace": oom["namespace"]}


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return f"{row['workload_kind']}/{row['workload_name']}", row["container"]


def test_the_oom_killed_container_is_flagged_under_provisioned(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    oom = find_incident(app_snapshot, "oom_killed")
    _open(insight_page, f"{insight_server.url}/right_sizing?{urllib.parse.urlencode(_scope(oom))}")
    rows = read_table(insight_page, ".wb-advice", FIELDS[:-1])
    workload = f"{oom['object']['kind']}/{oom['object']['name']}"
    mine = [r for r in rows if r["workload"] == workload and r["container"] == oom["details"]["container"]]
    assert len(mine) == 1, rows
    assert mine[0]["status"] == "under-provisioned"
    assert "oom-killed" in mine[0]["flags"].split(", ")
    want = rightsizing.analyse(wb.open(app_snapshot), **_scope(oom)).advice
    assert len(rows) == want.height
    assert insight_page.console_errors == [], insight_server.log()
    assert insight_page.outside_requests == []


def test_changing_the_percentile_changes_the_advice_as_the_analysis_does(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    oom = find_incident(app_snapshot, "oom_killed")
    ds = wb.open(app_snapshot)
    before = rightsizing.analyse(ds, **_scope(oom)).advice
    after = rightsizing.analyse(ds, **_scope(oom), cpu_request_percentile=60).advice
    joined = before.join(after, on=["workload_kind", "workload_name", "container"], suffix="_60")
    changed = [r for r in joined.iter_rows(named=True) if r["cpu_request_advised"] is not None
               and format_cores(r["cpu_request_advised"]) != format_cores(r["cpu_request_advised_60"])]  # fmt: skip
    assert changed, "a lower percentile must lower some advised CPU request"
    probe = changed[0]

    _open(insight_page, f"{insight_server.url}/right_sizing?{urllib.parse.urlencode(_scope(oom))}")
    shown = {(r["workload"], r["container"]): r for r in read_table(insight_page, ".wb-advice", FIELDS)}
    assert shown[_key(probe)]["cpu_request_advised"] == format_cores(probe["cpu_request_advised"])

    box = insight_page.locator(".wb-setting-cpu_request_percentile input")
    box.fill("60")
    box.press("Enter")
    insight_page.wait_for_function("() => window.location.search.includes('cpu_request_percentile=60')")
    want = format_cores(probe["cpu_request_advised_60"])
    for _ in range(60):  # the analysis re-runs on the server: poll the table
        shown = {(r["workload"], r["container"]): r for r in read_table(insight_page, ".wb-advice", FIELDS)}
        if shown[_key(probe)]["cpu_request_advised"] == want:
            break
        insight_page.wait_for_timeout(500)
    assert shown[_key(probe)]["cpu_request_advised"] == want, probe
    for r in after.iter_rows(named=True):  # every advised request is the analysis' at p60
        assert shown[_key(r)]["cpu_request_advised"] == (format_cores(r["cpu_request_advised"])
                                                         if r["cpu_request_advised"] is not None else "")  # fmt: skip
    assert insight_page.console_errors == [], insight_server.log()


def test_csv_download_holds_the_advice_rows(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, find_incident: Any, tmp_path: Path
) -> None:
    oom = find_incident(app_snapshot, "oom_killed")
    _open(insight_page, f"{insight_server.url}/right_sizing?{urllib.parse.urlencode(_scope(oom))}")
    with insight_page.expect_download() as info:
        insight_page.locator(".wb-download-csv button").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.suffix == ".csv"
    got = rightsizing.read_csv(path)
    want = rightsizing.analyse(wb.open(app_snapshot), **_scope(oom)).advice
    keys = ["cluster", "namespace", "workload_kind", "workload_name", "container"]
    assert got.select(*keys, "status").sort(keys).equals(want.select(*keys, "status").sort(keys))
    oom_row = got.filter(
        pl.col("workload_name") == oom["object"]["name"], pl.col("container") == oom["details"]["container"]
    )
    assert oom_row["status"].to_list() == ["under-provisioned"]
    assert "oom-killed" in oom_row["flags"][0].to_list()
    assert insight_page.console_errors == [], insight_server.log()


def test_screenshot_for_the_docs(
    insight_docs_page: Any, insight_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """With ``WORKBENCH_UPDATE_SCREENSHOTS=1``: docs/img/page-right_sizing.png from the default demo."""
    assert os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    oom = find_incident(demo_snapshot, "oom_killed")
    _open(insight_docs_page, f"{insight_docs_server.url}/right_sizing?{urllib.parse.urlencode(_scope(oom))}")
    height = insight_docs_page.evaluate("document.getElementById('main').scrollHeight")
    insight_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 4000)})
    insight_docs_page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-right_sizing.png"
    insight_docs_page.screenshot(path=str(out))
    assert insight_docs_page.console_errors == [], insight_docs_server.log()
    assert out.stat().st_size > 50_000
