"""The manifest history page, served by ``panel serve`` and driven in Chromium: a saved link to
the bad rollout's Deployment with two moments shows the image change in the diff, and the
"what changed" list ranks it first around the rollout."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from tests.support.browser import REPO, PanelServer, unescaped_text_columns
from workbench.analyses import manifests
from workbench.ui.manifests import iso

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = ".tabulator-row .tabulator-cell[tabulator-field='{field}']"


def _rollout(ds: wb.Dataset) -> dict[str, Any]:
    found = [i for i in (ds.ground_truth or {}).get("incidents", []) if i["kind"] == "bad_rollout"]
    assert found, "the demo's ground truth should hold a bad rollout"
    return found[0]


def test_saved_link_with_two_moments_shows_the_image_change(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    rollout = _rollout(ds)
    ns, name, cluster = rollout["namespace"], rollout["object"]["name"], rollout["cluster"]
    revs = manifests.revisions(ds, "Deployment", ns, name, cluster=cluster)
    image_at = [i for i, cats in enumerate(revs["categories"].to_list()) if "image" in cats]
    assert image_at and image_at[0] > 0, "the rollout's image change should be a later revision"
    t1, t2 = (iso(revs["observed_at"][i]) for i in (image_at[0] - 1, image_at[0]))
    query = {"kind": "Deployment", "name": f"{ns}/{name}", "in_cluster": cluster, "t1": t1, "t2": t2}
    browse_page.goto(f"{browse_server.url}/manifest_history?{urllib.parse.urlencode(query)}")
    browse_page.wait_for_load_state("networkidle")

    diff = browse_page.locator(".wb-diff")
    removed = diff.locator("span", has_text=f"image: {rollout['details']['old_image']}")
    added = diff.locator("span", has_text=f"image: {rollout['details']['new_image']}")
    removed.first.wait_for()
    assert removed.first.inner_text().startswith("-")
    assert added.first.inner_text().startswith("+")
    assert "#ffeef0" in (removed.first.get_attribute("style") or "")  # removed lines red
    assert "#e6ffed" in (added.first.get_attribute("style") or "")  # added lines green
    # the moments are restored into the two selects, and the URL keeps them
    for css, i in ((".wb-t1 select", image_at[0] - 1), (".wb-t2 select", image_at[0])):
        label = f"#{revs['revision'][i]} {revs['observed_at'][i]:%Y-%m-%d %H:%M:%S.%f}"[:-3]
        assert browse_page.locator(css).input_value().startswith(label + " · ")
    assert urllib.parse.parse_qs(urllib.parse.urlparse(browse_page.url).query)["t2"] == [t2]
    paths = [
        t.strip() for t in browse_page.locator(f".wb-fields {CELL.format(field='path')}").all_inner_texts()
    ]
    assert f"spec.template.spec.containers[{name}].image" in paths
    assert browse_page.console_errors == [], browse_server.log()
    assert browse_page.outside_requests == []


def test_what_changed_ranks_the_image_change_first_around_the_rollout(
    browse_page: Any, browse_server: PanelServer, browse_snapshot: Path
) -> None:
    ds = wb.open(browse_snapshot)
    rollout = _rollout(ds)
    want = manifests.what_changed(ds, around=rollout["start"], limit=500)
    browse_page.goto(
        f"{browse_server.url}/manifest_history?" + urllib.parse.urlencode({"around": rollout["start"]})
    )
    browse_page.wait_for_load_state("networkidle")
    table = browse_page.locator(".wb-changes")
    table.locator(".tabulator-row").first.wait_for()
    first = {
        f: table.locator(CELL.format(field=f)).first.inner_text().strip()
        for f in ("rank", "name", "category")
    }
    assert first == {"rank": "1", "name": rollout["object"]["name"], "category": "image"}
    assert (want["name"][0], want["category"][0]) == (first["name"], first["category"])
    assert browse_page.console_errors == [], browse_server.log()


def test_every_text_cell_of_the_page_is_escaped(browse_snapshot: Path) -> None:
    """Tables filled after they were made still get escaping formatters for every text column."""
    from workbench.ui.manifests import ManifestHistory

    view = ManifestHistory(wb.open(browse_snapshot))
    assert not view.revisions.is_empty() and not view.changes.is_empty()
    assert unescaped_text_columns(view) == []


def test_screenshot_for_the_docs(
    browse_docs_page: Any, browse_docs_server: PanelServer, demo_snapshot: Path
) -> None:
    """docs/img/page-manifest_history.png: the bad rollout's image change on the default demo."""
    ds = wb.open(demo_snapshot)
    rollout = _rollout(ds)
    revs = manifests.revisions(
        ds, "Deployment", rollout["namespace"], rollout["object"]["name"], cluster=rollout["cluster"]
    )
    at = next(i for i, cats in enumerate(revs["categories"].to_list()) if "image" in cats)
    query = {"kind": "Deployment", "name": f"{rollout['namespace']}/{rollout['object']['name']}",
             "in_cluster": rollout["cluster"], "t1": iso(revs["observed_at"][at - 1]), "t2": iso(revs["observed_at"][at]),
             "around": rollout["start"]}  # fmt: skip
    browse_docs_page.goto(f"{browse_docs_server.url}/manifest_history?{urllib.parse.urlencode(query)}")
    browse_docs_page.wait_for_load_state("networkidle")
    browse_docs_page.locator(".wb-changes .tabulator-row").first.wait_for()
    out = REPO / "docs" / "img" / "page-manifest_history.png"
    height = browse_docs_page.evaluate("document.getElementById('main').scrollHeight")
    browse_docs_page.set_viewport_size({"width": 1600, "height": min(int(height) + 80, 3200)})
    browse_docs_page.wait_for_timeout(1500)
    browse_docs_page.screenshot(path=str(out))
    assert out.stat().st_size > 50_000
    assert browse_docs_page.console_errors == [], browse_docs_server.log()
