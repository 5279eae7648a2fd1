"""The pending pods notebook with another cluster than its default (papermill, real kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_pending_pods_notebook_for_one_cluster(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    cluster = "gke-prod-europe-west1"
    mine = [i for i in truth if i["kind"] == "pending_pod" and i["cluster"] == cluster]
    others = [i for i in truth if i["kind"] == "pending_pod" and i["cluster"] != cluster]
    nb = run_notebook(
        "pending_pods", tmp_path, snapshot=str(demo_snapshot), cluster=cluster, include_past=False
    )
    text = text_outputs(nb)
    assert f"**{len(mine)}** pods waited for a node" in text
    for inc in mine:
        assert f"{inc['namespace']}/{inc['pods'][0]}: pending" in text
        assert f"primary reason {inc['details']['cause']}" in text  # node_selector: same name in both
    for inc in others:
        assert inc["pods"][0] not in text
