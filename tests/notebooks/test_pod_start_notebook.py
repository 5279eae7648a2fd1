"""The pod start notebook for one named pod (papermill, real kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_pod_start_notebook_for_the_slow_jvm_pod(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "slow_start")
    pod = inc["pods"][0]
    nb = run_notebook(
        "pod_start",
        tmp_path,
        snapshot=str(demo_snapshot),
        cluster=inc["cluster"],
        namespace=inc["namespace"],
        pod=pod,
        stable_window="4m",
    )
    text = text_outputs(nb)
    assert "**1** pods analysed: 1 ran, 1 settled" in text
    assert f"{inc['namespace']}/{pod}: Pending" in text and "stable after" in text
    assert f"[warning] {pod}: CPU reached" in text  # the start runs at its CPU limit
