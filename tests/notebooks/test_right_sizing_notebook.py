"""The right-sizing notebook with another percentile, one namespace and a CSV export."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.support.notebooks import run_notebook, text_outputs
from workbench.analyses import rightsizing


@pytest.mark.slow
def test_right_sizing_notebook_exports_advice(demo_snapshot: Path, tmp_path: Path) -> None:
    truth = json.loads((demo_snapshot / "ground_truth.json").read_text())["incidents"]
    oom = next(i for i in truth if i["kind"] == "oom_killed")
    out = tmp_path / "advice.csv"
    nb = run_notebook("right_sizing", tmp_path, snapshot=str(demo_snapshot), cluster=oom["cluster"],
                      namespace=oom["namespace"], cpu_request_percentile=95.0, cpu_limit="none",
                      export_csv=str(out))  # fmt: skip
    text = text_outputs(nb)
    assert f"advice written to {out}" in text
    assert (
        f"[critical] {oom['cluster']}: {oom['object']['name']}/{oom['details']['container']} is under-provisioned"
        in text
    )
    advice = rightsizing.read_csv(out)
    assert set(advice["namespace"]) == {oom["namespace"]} and set(advice["cluster"]) == {oom["cluster"]}
    assert advice.filter(pl.col("status") != "not enough data")["cpu_limit_advised"].is_null().all()
