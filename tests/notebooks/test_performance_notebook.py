"""The performance browser notebook for another workload and metrics (papermill, real kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.notebooks import run_notebook, text_outputs


@pytest.mark.slow
def test_performance_notebook_for_the_throttled_workload(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    inc = next(i for i in truth if i["kind"] == "cpu_throttling")
    nb = run_notebook("performance", tmp_path, snapshot=str(demo_snapshot), cluster=inc["cluster"],
                      namespace=inc["namespace"], workload=inc["object"]["name"], metrics="cpu_usage,cpu_throttled",
                      step="5m")  # fmt: skip
    text = text_outputs(nb)
    pod = inc["pods"][0]
    assert f"{pod} cpu_throttled: mean" in text and f"{pod} cpu_usage: mean" in text
    assert "memory_usage" not in text and "checkout" not in text
