"""The performance browser, served by ``panel serve`` and driven in Chromium: a saved link with a
workload, some of its pods and some metrics restores them, draws one chart per metric and shows
the summary of :func:`workbench.analyses.perf.browse`."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import perf
from workbench.ui.performance import summary_view

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Titles of the Bokeh plots on the page (one per chart).
TITLES_JS = """() => { const out = [];
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    const t = String(m.type || m.constructor.__qualified__ || m.constructor.name);
    if (t.endsWith('Title') && m.text) out.push(m.text); }
  return out; }"""
#: Per pod (a line named after it in each chart): whether each of its lines is muted; and the
#: legends' click policies.
MUTED_JS = """() => { const muted = {}, policies = [];
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    const t = String(m.type || m.constructor.__qualified__ || m.constructor.name);
    if (t.endsWith('GlyphRenderer') && m.visible && m.name) (muted[m.name] ??= []).push(m.muted);
    if (t.endsWith('Legend')) policies.push(m.click_policy); }
  return {muted, policies}; }"""


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _chosen(page: Any, css: str) -> list[str]:
    """The items chosen in a MultiChoice (their labels)."""
    items = page.locator(f"{css} .choices__list--multiple .choices__item")
    items.first.wait_for()
    return [t.strip().removesuffix("Remove item").strip() for t in items.all_inner_texts()]


def test_saved_link_restores_workload_pods_and_metrics_and_draws_a_chart_per_metric(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    rollout = find_incident(app_snapshot, "bad_rollout")  # a workload with several pods
    pods = sorted(rollout["pods"])[:2]
    metrics = ["cpu_usage", "memory_usage", "events_warning"]
    workload = f"{rollout['object']['kind']}/{rollout['object']['name']}"
    scope = {"cluster": rollout["cluster"], "namespace": rollout["namespace"], "workload": workload}
    query = urllib.parse.urlencode({**scope, "pods": ",".join(pods), "metrics": ",".join(metrics)})
    _open(insight_page, f"{insight_server.url}/performance?{query}")

    rows = read_table(insight_page, ".wb-perf-summary", ["pod", "metric", "mean", "max", "unit"])
    assert sorted(_chosen(insight_page, ".wb-pod-choice")) == pods
    assert [m.split(" (")[0] for m in _chosen(insight_page, ".wb-metric-choice")] == [
        m.replace("_", " ") for m in metrics
    ]
    titles = insight_page.evaluate(TITLES_JS)
    assert sorted(t.split(" (")[0] for t in titles) == sorted(
        m.replace("_", " ") for m in metrics
    )  # one chart per metric

    want = perf.browse(wb.open(app_snapshot), **scope, pods=tuple(pods), metrics=tuple(metrics)).summary
    assert {(r["pod"], r["metric"]) for r in rows} == {(p, m) for p in pods for m in metrics}
    for r in summary_view(want, clusters=False).iter_rows(named=True):
        shown = next(x for x in rows if (x["pod"], x["metric"]) == (r["pod"], r["metric"]))
        assert (shown["mean"], shown["max"], shown["unit"]) == (
            r["mean"],
            r["max"],
            r["unit"],
        )  # e.g. "187", "MiB"
    memory = next(x for x in rows if x["metric"] == "memory_usage")
    assert memory["unit"] == "MiB" and float(memory["mean"].replace(",", "")) == pytest.approx(
        want.filter(pl.col("metric") == "memory_usage", pl.col("pod") == memory["pod"])["mean"][0] / 2**20,
        rel=0.01,
    )  # the unit column says what the numbers are in (not "bytes")
    cpu = want.filter(pl.col("metric") == "cpu_usage")
    assert cpu.height == 2 and (cpu["mean"] > 0).all()  # the pods did use CPU
    assert urllib.parse.parse_qs(urllib.parse.urlparse(insight_page.url).query)["pods"] == [",".join(pods)]

    # a click on a pod in the legend mutes its line in every chart (as the HoloViews charts did)
    lines = insight_page.evaluate(MUTED_JS)
    assert lines["policies"] == ["mute"]  # one legend, above the charts
    assert lines["muted"] == {p: [False] * len(metrics) for p in pods}  # a line per pod and chart
    insight_page.locator(".wb-perf-charts").locator(".bk-item", has_text=pods[0]).click()
    insight_page.wait_for_function(f"() => ({MUTED_JS})().muted[{pods[0]!r}].every(m => m)")
    muted = insight_page.evaluate(MUTED_JS)["muted"]
    assert muted == {pods[0]: [True] * len(metrics), pods[1]: [False] * len(metrics)}
    assert insight_page.console_errors == [], insight_server.log()
    assert insight_page.outside_requests == []


def test_without_a_workload_the_page_says_what_to_choose(
    insight_page: Any, insight_server: PanelServer
) -> None:
    _open(insight_page, f"{insight_server.url}/performance")
    insight_page.get_by_text("Choose a workload in the sidebar").wait_for()
    assert insight_page.evaluate(TITLES_JS) == []
    assert insight_page.console_errors == [], insight_server.log()


def test_screenshot_for_the_docs(
    insight_docs_page: Any, insight_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """With ``WORKBENCH_UPDATE_SCREENSHOTS=1``: docs/img/page-performance.png from the default demo."""
    assert os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    hot = find_incident(demo_snapshot, "cpu_throttling")
    query = urllib.parse.urlencode({"cluster": hot["cluster"], "namespace": hot["namespace"],
                                    "workload": f"{hot['object']['kind']}/{hot['object']['name']}",
                                    "metrics": "cpu_usage,cpu_limit,cpu_throttled,memory_usage,network_rx,events_warning"})  # fmt: skip
    _open(insight_docs_page, f"{insight_docs_server.url}/performance?{query}")
    insight_docs_page.locator(".wb-perf-summary .tabulator-row").first.wait_for()
    height = insight_docs_page.evaluate("document.getElementById('main').scrollHeight")
    insight_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 4000)})
    insight_docs_page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-performance.png"
    insight_docs_page.screenshot(path=str(out))
    assert insight_docs_page.console_errors == [], insight_docs_server.log()
    assert out.stat().st_size > 50_000
