"""The manifest history notebook on a Node instead of its default Deployment."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_manifest_history_notebook_shows_the_taint_on_the_failed_node(
    demo_snapshot: Path, tmp_path: Path
) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "node_failure")
    node, tainted = inc["details"]["node"], dt.datetime.fromisoformat(inc["details"]["tainted_at"])
    nb = run_notebook(
        "manifest_history", tmp_path, snapshot=str(demo_snapshot), cluster=inc["cluster"], kind="Node", namespace="",
        object_name=node, t1=(tainted - dt.timedelta(minutes=1)).isoformat(), t2=tainted.isoformat(),
        around=tainted.isoformat(),
    )  # fmt: skip
    text = text_outputs(nb)
    assert f"**Node {node}**" in text
    assert "4 lines added, 0 removed" in text
    assert (
        'taints: spec.taints: None → [{"effect":"NoSchedule","key":"maintenance","value":"kernel-patch"}]'
        in text
    )
    assert f"#1 {tainted:%H:%M:%S} Node/{node} taints spec.taints" in text
