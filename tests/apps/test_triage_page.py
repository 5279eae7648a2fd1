"""The triage page, served by ``panel serve`` and driven in Chromium: a saved link with the demo's
bad-rollout window ranks the culprit in the top 3 with its signals, opens its evidence, and links
to the pages that show it; clicking another suspect selects it in the URL."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer
from workbench.analyses import triage
from workbench.analyses.triage import SIGNAL_LABELS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(".wb-suspect-object").first.wait_for()
    page.wait_for_load_state("networkidle")


def _window(rollout: dict[str, Any]) -> dict[str, str]:
    return {"cluster": rollout["cluster"], "start": rollout["start"], "end": rollout["end"]}


def test_saved_link_with_the_rollout_window_ranks_the_culprit_with_its_evidence(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, read_table: Any, find_incident: Any
) -> None:
    rollout = find_incident(app_snapshot, "bad_rollout")
    culprit = f"{rollout['object']['kind']}/{rollout['object']['name']}"
    query = urllib.parse.urlencode({**_window(rollout), "suspect": culprit})
    _open(insight_page, f"{insight_server.url}/triage?{query}")

    objects = [t.strip() for t in insight_page.locator(".wb-suspect-object").all_inner_texts()]
    assert culprit in objects[:3], objects  # the ground truth's culprit is in the top 3
    want = triage.triage(wb.open(app_snapshot), **_window(rollout))
    assert objects == want.suspects["object"].to_list()  # the analysis' ranking, in order
    rank = objects.index(culprit)
    signals = insight_page.locator(".wb-suspect-signals").nth(rank).inner_text()
    row = want.suspects.filter(pl.col("object") == culprit).row(0, named=True)
    assert signals == ", ".join(SIGNAL_LABELS[s] for s in row["signals"])
    assert {"manifest_change", "errors_caused"} <= set(
        row["signals"]
    )  # the rollout's image change and its errors

    # the saved link opened the culprit's evidence, with links to the pages that show it
    evidence = read_table(insight_page, ".wb-evidence >> visible=true", ["signal", "subject"])
    assert {e["signal"] for e in evidence} >= {
        SIGNAL_LABELS["manifest_change"],
        SIGNAL_LABELS["errors_caused"],
    }
    assert any(e["subject"] == culprit for e in evidence)
    hrefs = [a.get_attribute("href") for a in insight_page.locator(".wb-links a >> visible=true").all()]
    browse = [h for h in hrefs if h and h.startswith("./resources?")]
    assert browse, hrefs
    link = urllib.parse.parse_qs(urllib.parse.urlparse(browse[0]).query)
    assert link["kind"] == [rollout["object"]["kind"]]
    assert link["name"] == [f"{rollout['namespace']}/{rollout['object']['name']}"]
    assert link["start"] == [rollout["start"]] and link["cluster"] == [rollout["cluster"]]
    # every link keeps the snapshot the page was opened on (the served default is another one)
    for href in hrefs:
        assert urllib.parse.parse_qs(urllib.parse.urlparse(href).query)["snapshot"] == ["app"], href
    assert insight_page.console_errors == [], insight_server.log()
    assert insight_page.outside_requests == []


def test_opening_another_suspect_selects_it_in_the_url(
    insight_page: Any, insight_server: PanelServer, app_snapshot: Path, find_incident: Any
) -> None:
    rollout = find_incident(app_snapshot, "bad_rollout")
    _open(insight_page, f"{insight_server.url}/triage?{urllib.parse.urlencode(_window(rollout))}")
    second = insight_page.locator(".wb-suspect-object").nth(1)
    name = second.inner_text().strip()
    second.click()
    insight_page.wait_for_function(
        "s => new URLSearchParams(window.location.search).get('suspect') === s", arg=name
    )
    insight_page.locator(".wb-evidence >> visible=true").first.wait_for()
    assert insight_page.console_errors == [], insight_server.log()


def test_screenshot_for_the_docs(
    insight_docs_page: Any, insight_docs_server: PanelServer, demo_snapshot: Path, find_incident: Any
) -> None:
    """With ``WORKBENCH_UPDATE_SCREENSHOTS=1``: docs/img/page-triage.png from the default demo."""
    assert os.environ.get("WORKBENCH_UPDATE_SCREENSHOTS") == "1"
    rollout = find_incident(demo_snapshot, "bad_rollout")
    culprit = f"{rollout['object']['kind']}/{rollout['object']['name']}"
    _open(
        insight_docs_page,
        f"{insight_docs_server.url}/triage?{urllib.parse.urlencode({**_window(rollout), 'suspect': culprit})}",
    )
    height = insight_docs_page.evaluate("document.getElementById('main').scrollHeight")
    insight_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 4000)})
    insight_docs_page.wait_for_timeout(2000)
    out = REPO / "docs" / "img" / "page-triage.png"
    insight_docs_page.screenshot(path=str(out))
    assert insight_docs_page.console_errors == [], insight_docs_server.log()
    assert out.stat().st_size > 50_000
