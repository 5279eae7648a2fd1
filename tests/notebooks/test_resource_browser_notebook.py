"""The resource browser notebook on a Node instead of its default Deployment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_resource_browser_notebook_shows_the_failed_node(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "node_failure")
    nb = run_notebook("resource_browser", tmp_path, snapshot=str(demo_snapshot), cluster=inc["cluster"], kind="Node",
                      namespace="", object_name=inc["details"]["node"])  # fmt: skip
    text = text_outputs(nb)
    assert f"showing **Node {inc['details']['node']}** (NotReady, ready False)" in text
    assert "Status: NotReady" in text
    assert "Error reason: NodeStatusUnknown: Kubelet stopped posting node status." in text
    assert "key: maintenance" in text  # the YAML tab
