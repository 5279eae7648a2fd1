"""The cluster page, served by ``panel serve`` and driven in Chromium: the node resource matrix
equals :func:`workbench.analyses.cluster.analyse`, the failed node of the demo is NotReady, the
problem pods carry their latest Warning as text, and a saved link restores scope and node."""

from __future__ import annotations

import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from tests.support.snapshots import XSS
from workbench.analyses import cluster

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PCT = [
    "cpu_usage_pct",
    "cpu_requests_pct",
    "cpu_limits_pct",
    "memory_usage_pct",
    "memory_requests_pct",
    "memory_limits_pct",
]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-node-matrix .tabulator-row").first.wait_for()
    page.wait_for_load_state("networkidle")


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def test_node_matrix_lists_every_node_with_the_analysis_percentages(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    ds = wb.open(app_snapshot)
    failed = find_incident(app_snapshot, "node_failure")
    want = cluster.analyse(ds).matrix  # the page's defaults: all clusters, the snapshot's window, 5m buckets
    _open(insight_page, f"{insight_server.url}/cluster")
    rows = read_table(insight_page, ".wb-node-matrix", ["node", "status", "pods", *PCT])
    assert sorted(r["node"] for r in rows) == sorted(ds.nodes()["name"].to_list())  # every node of the demo
    shown = {r["node"]: r for r in rows}
    assert shown[failed["object"]["name"]]["status"] == "NotReady"  # the ground truth's failed node
    assert sum(r["status"] == "Ready" for r in rows) == len(rows) - 1
    for node in want.iter_rows(named=True):
        row = shown[node["node"]]
        assert int(row["pods"]) == node["pods"]
        for col in PCT:
            expected = None if node[col] is None else round(node[col], 1)
            assert _number(row[col]) == expected, (node["node"], col, row[col], node[col])
    assert insight_page.console_errors == [], insight_server.log()
    assert insight_page.outside_requests == []


#: The colour of the number on the first "CPU use %" bar and the background behind it (the first
#: opaque one up the tree, across shadow roots), as ``[r, g, b]`` each, and the number's shadow.
BAR_COLOURS_JS = """e => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  let node = e.parentElement, bg = null;
  while (node && !bg) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) bg = c.slice(0, 3);
    node = node.parentElement || (node.getRootNode() && node.getRootNode().host) || null;
  }
  const style = getComputedStyle(e);
  return {text: rgb(style.color).slice(0, 3), background: bg || [255, 255, 255], shadow: style.textShadow};
}"""


def _contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colours."""

    def luminance(rgb: list[float]) -> float:
        lin = [(c / 255) / 12.92 if c <= 10.31 else (((c / 255) + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_numbers_on_the_bars_read_in_both_themes(insight_page: Any, insight_server: PanelServer) -> None:
    """The percentages on the matrix' bars are drawn in the table's text colour, so they stand
    out from the cell behind them on the light and on the dark theme (Tabulator's default, black,
    was dark on dark)."""
    for theme in ("", "dark"):
        _open(insight_page, f"{insight_server.url}/cluster" + (f"?theme={theme}" if theme else ""))
        legend = insight_page.locator(
            ".wb-node-matrix .tabulator-cell[tabulator-field='cpu_usage_pct'] div[data-max] + div"
        ).first
        colours = legend.evaluate(BAR_COLOURS_JS)
        for _ in range(40):  # a cell drawn again meanwhile (detached) has no style yet: read again
            if len(colours["text"]) == 3:
                break
            insight_page.wait_for_timeout(250)
            colours = legend.evaluate(BAR_COLOURS_JS)
        assert _contrast(colours["text"], colours["background"]) >= 4.5, (theme, colours)
        assert colours["shadow"] not in ("", "none"), colours  # a halo over the coloured bar
    assert insight_page.console_errors == [], insight_server.log()


def test_problem_pods_show_the_latest_warning_as_text_never_as_html(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any
) -> None:
    want = cluster.problem_pods(wb.open(app_snapshot))
    _open(insight_page, f"{insight_server.url}/cluster")
    rows = read_table(insight_page, ".wb-problem-pods", ["name", "status", "last_warning"])
    assert sorted(r["name"] for r in rows) == sorted(want["name"].to_list())
    carrier = want.filter(want["last_warning"].str.contains(XSS, literal=True))
    assert carrier.height == 1, "the app snapshot gives one problem pod a Warning event holding a <script>"
    mine = [r for r in rows if r["name"] == carrier["name"][0]]
    assert XSS in mine[0]["last_warning"]  # the characters are on screen…
    assert insight_page.evaluate("typeof window.__xss") == "undefined"  # …and nothing ran
    assert insight_page.console_errors == [], insight_server.log()


def test_saved_link_restores_namespace_and_the_selected_node(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    failed = find_incident(app_snapshot, "node_failure")
    node, where = failed["object"]["name"], failed["cluster"]
    namespace = "shop"
    want = cluster.problem_pods(wb.open(app_snapshot), cluster=where, namespace=namespace)
    query = urllib.parse.urlencode({"cluster": where, "namespace": namespace, "node": node, "step": "1m"})
    _open(insight_page, f"{insight_server.url}/cluster?{query}")
    rows = read_table(insight_page, ".wb-problem-pods", ["name", "namespace"])
    assert sorted(r["name"] for r in rows) == sorted(want["name"].to_list())
    assert {r["namespace"] for r in rows} == {namespace}
    insight_page.get_by_text(f"Node {node} ({where})").wait_for()  # the node's own series over time
    assert insight_page.locator("select").nth(1).input_value().startswith(f"{namespace} (")  # "shop (39)"
    assert urllib.parse.parse_qs(urllib.parse.urlparse(insight_page.url).query)["namespace"] == [namespace]
    nodes = read_table(insight_page, ".wb-node-matrix", ["node"])
    assert {r["node"] for r in nodes} == set(wb.open(app_snapshot).nodes(cluster=where)["name"].to_list())

    # clicking another node selects it and puts it in the URL
    other = next(r["node"] for r in nodes if r["node"] != node)
    insight_page.locator(
        ".wb-node-matrix .tabulator-cell[tabulator-field='node']", has_text=other
    ).first.click()
    insight_page.wait_for_function("n => window.location.search.includes('node=' + n)", arg=other)
    insight_page.get_by_text(f"Node {other} ({where})").wait_for()
    assert insight_page.console_errors == [], insight_server.log()


def test_screenshot_for_the_docs(
    insight_docs_page: Any, insight_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """With ``WORKBENCH_UPDATE_SCREENSHOTS=1``: docs/img/page-cluster.png from the default demo."""
    assert os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    failed = find_incident(demo_snapshot, "node_failure")
    _open(insight_docs_page, f"{insight_docs_server.url}/cluster?cluster={failed['cluster']}")
    insight_docs_page.get_by_text("Each cluster (all its nodes added)").wait_for()
    time.sleep(2)
    height = insight_docs_page.evaluate("document.getElementById('main').scrollHeight")
    insight_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 4000)})
    insight_docs_page.wait_for_timeout(1500)
    out = REPO / "docs" / "img" / "page-cluster.png"
    insight_docs_page.screenshot(path=str(out))
    assert insight_docs_page.console_errors == [], insight_docs_server.log()
    assert out.stat().st_size > 50_000
