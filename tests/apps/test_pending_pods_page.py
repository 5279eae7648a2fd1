"""The pending pods page, served by ``panel serve`` and driven in Chromium: every pending pod of
the ground truth with its reason, the counts by QoS class, and the fit advice of a saved link."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, table_rows, unescaped_text_columns
from workbench.analyses import pending

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _incidents(ds: wb.Dataset, kind: str) -> list[dict[str, Any]]:
    found = [i for i in (ds.ground_truth or {}).get("incidents", []) if i["kind"] == kind]
    assert found, f"the demo's ground truth should hold {kind} incidents"
    return found


def test_every_ground_truth_pending_pod_is_listed_with_its_reason_and_qos_counts_match(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    analysis = pending.pending_pods(ds)
    browse_page.goto(f"{browse_server.url}/pending_pods")
    browse_page.wait_for_load_state("networkidle")
    rows = table_rows(
        browse_page, ".wb-pending-list", ["pod", "namespace", "state", "category", "QoS", "scheduler message"]
    )
    by_pod = {r["pod"]: r for r in rows}
    for incident in _incidents(ds, "pending_pod"):
        pod = incident["pods"][0]
        assert pod in by_pod, f"{pod} is not listed: {sorted(by_pod)}"
        shown = by_pod[pod]
        assert shown["namespace"] == incident["namespace"]
        assert shown["state"] == "pending"
        assert (
            incident["details"]["message_contains"] in shown["scheduler message"]
        )  # the scheduler's own words
        want = analysis.filter(pl.col("pod") == pod).row(0, named=True)
        assert shown["category"] == want["primary"]
        assert shown["QoS"] == want["qos_class"]
    for incident in _incidents(ds, "quota_exceeded"):  # never created: named by its controller
        label = f"{incident['object']['kind']}/{incident['object']['name']} (creation refused)"
        assert by_pod[label]["category"] == "quota_exceeded"
        assert incident["details"]["message_contains"] in by_pod[label]["scheduler message"]
    assert len(rows) == analysis.height

    qos = table_rows(browse_page, ".wb-by-qos", ["QoS class", "pods", "still pending"])
    want_qos = pending.summary(analysis, by="qos_class")
    assert {r["QoS class"]: int(r["pods"]) for r in qos} == dict(
        want_qos.select("qos_class", "pods").iter_rows()
    )
    assert {r["QoS class"]: int(r["still pending"]) for r in qos} == dict(
        want_qos.select("qos_class", "still_pending").iter_rows()
    )
    assert browse_page.console_errors == [], browse_server.log()
    assert browse_page.outside_requests == []


def test_saved_link_shows_where_the_selected_pod_would_fit(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    memory = next(i for i in _incidents(ds, "pending_pod") if i["details"]["cause"] == "insufficient_memory")
    pod = memory["pods"][0]
    query = urllib.parse.urlencode({"pod": f"{memory['namespace']}/{pod}"})
    browse_page.goto(f"{browse_server.url}/pending_pods?{query}")
    browse_page.wait_for_load_state("networkidle")
    browse_page.locator(".wb-fit-message").get_by_text("Insufficient memory").wait_for()
    title = browse_page.get_by_text(f"{memory['namespace']}/{pod} ({memory['cluster']})")
    assert title.count() == 1
    shown = table_rows(browse_page, ".wb-fit", ["node", "fits", "advice"])
    analysis = pending.fit(ds, pending=pending.pending_pods(ds).filter(pl.col("pod") == pod))
    assert {r["node"]: r["advice"] for r in shown} == dict(analysis.select("node", "advice").iter_rows())
    assert any("memory request" in r["advice"] for r in shown)  # "fits on X if its memory request were ≤ Y"
    assert browse_page.console_errors == [], browse_server.log()


def test_every_text_cell_of_the_page_is_escaped(browse_snapshot: Path) -> None:
    """Tables filled after they were made still get escaping formatters for every text column."""
    from workbench.ui.pending import PendingPods

    view = PendingPods(wb.open(browse_snapshot))
    assert view.selected() is not None
    assert unescaped_text_columns(view) == []


def test_screenshot_for_the_docs(browse_docs_page: Any, browse_docs_server: PanelServer) -> None:
    """docs/img/page-pending_pods.png: the default demo's pending pods."""
    browse_docs_page.goto(f"{browse_docs_server.url}/pending_pods")
    browse_docs_page.wait_for_load_state("networkidle")
    browse_docs_page.locator(".wb-fit .tabulator-row").first.wait_for()
    out = REPO / "docs" / "img" / "page-pending_pods.png"
    height = browse_docs_page.evaluate("document.getElementById('main').scrollHeight")
    browse_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 3200)})
    browse_docs_page.wait_for_timeout(1500)
    browse_docs_page.screenshot(path=str(out))
    assert out.stat().st_size > 50_000
    assert browse_docs_page.console_errors == [], browse_docs_server.log()
