"""The pod view, served by ``panel serve`` and driven in Chromium: groups by node with their
counts, the failed node's problem pods marked, and a card opening the pod in the resource browser."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import podview

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNT = re.compile(r"(\d+) pods · (\d+) problem · (\d+) ready")


def _groups(page: Any) -> dict[str, dict[str, Any]]:
    """What each group section shows: its counts and the pods whose cards are marked as problems."""
    page.locator(".wb-group").first.wait_for()
    out = {}
    for section in page.locator(".wb-group").all():
        counts = COUNT.search(section.locator(".wb-group-count").inner_text())
        assert counts, section.inner_text()
        out[section.get_attribute("data-group")] = {
            "pods": int(counts[1]),
            "problem_pods": int(counts[2]),
            "ready_pods": int(counts[3]),
            "marked": "problem" in (section.get_attribute("class") or ""),
            "cards": section.locator(".wb-card").count(),
            "problem_cards": sorted(
                c.get_attribute("data-pod") for c in section.locator(".wb-card.problem").all()
            ),
        }
    return out


def _label(row: dict[str, Any], *, clusters: bool) -> str:
    return "/".join(x for x in (row["cluster"] if clusters else None, row["namespace"], row["group"]) if x)


def test_grouping_by_node_shows_the_analysis_counts_and_the_failed_node(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    want = podview.groups(ds, group_by="node")
    failed = next(i for i in ds.ground_truth["incidents"] if i["kind"] == "node_failure")  # type: ignore[index]
    browse_page.goto(f"{browse_server.url}/pod_view?group_by=node")
    browse_page.wait_for_load_state("networkidle")
    browse_page.locator(
        ".wb-group[data-group*='(unscheduled)']"
    ).first.wait_for()  # the node grouping is shown
    shown = _groups(browse_page)
    clusters = want["cluster"].n_unique() > 1
    expected = {
        _label(r, clusters=clusters): (r["pods"], r["problem_pods"], r["ready_pods"])
        for r in want.iter_rows(named=True)
    }
    assert {k: (v["pods"], v["problem_pods"], v["ready_pods"]) for k, v in shown.items()} == expected
    assert all(v["cards"] == v["pods"] for v in shown.values())  # one card per pod

    node = _label(
        {"cluster": failed["cluster"], "namespace": None, "group": failed["object"]["name"]},
        clusters=clusters,
    )
    group = shown[node]
    assert group["marked"]  # the failed node's group stands out
    problems = want.filter(pl.col("group") == failed["object"]["name"])["problems"][0].to_list()
    assert group["problem_cards"] == sorted(problems)
    assert set(group["problem_cards"]) & set(failed["pods"])  # the pods the node failure hit are marked
    assert browse_page.locator(".wb-group-by .bk-btn.bk-active").inner_text().strip() == "Node"
    assert browse_page.console_errors == [], browse_server.log()
    assert browse_page.outside_requests == []


def test_a_card_opens_the_pod_in_the_resource_browser_keeping_the_scope(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    cards = podview.pods(ds, namespace="shop", group_by="deployment")
    first_problem = cards.filter(pl.col("is_problem")).row(0, named=True)
    browse_page.goto(f"{browse_server.url}/pod_view?group_by=deployment&namespace=shop&problems=true")
    browse_page.wait_for_load_state("networkidle")
    shown = _groups(browse_page)
    assert (
        sum(v["cards"] for v in shown.values()) == cards.filter(pl.col("is_problem")).height
    )  # only problem pods
    browse_page.locator(f".wb-card[data-pod='{first_problem['name']}']").first.click()
    browse_page.wait_for_url(re.compile(r"/resources\?"))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(browse_page.url).query)
    assert query["namespace"] == ["shop"]  # the scope goes along
    assert query["kind"] == ["Pod"]
    assert query["name"] == [f"shop/{first_problem['name']}"]
    browse_page.get_by_text(f"Pod shop/{first_problem['name']}", exact=True).wait_for()
    assert browse_page.console_errors == []


def test_screenshot_for_the_docs(browse_docs_page: Any, browse_docs_server: PanelServer) -> None:
    """docs/img/page-pod_view.png: the default demo's pods by node."""
    browse_docs_page.goto(f"{browse_docs_server.url}/pod_view?group_by=node")
    browse_docs_page.wait_for_load_state("networkidle")
    browse_docs_page.locator(".wb-group").first.wait_for()
    out = REPO / "docs" / "img" / "page-pod_view.png"
    height = browse_docs_page.evaluate("document.getElementById('main').scrollHeight")
    browse_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 2400)})
    browse_docs_page.wait_for_timeout(1500)
    browse_docs_page.screenshot(path=str(out))
    assert out.stat().st_size > 50_000
    assert browse_docs_page.console_errors == [], browse_docs_server.log()
